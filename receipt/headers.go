package receipt

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Field is one header field of a message: its name as written and its value
// unfolded (each line break with the white space after it becomes one space)
// and trimmed.
type Field struct {
	Name  string
	Value string
}

// HeaderEnd returns the offset of the blank line that ends the header block
// of msg, so msg[:end] is the header block (each line with its line ending)
// and msg[end:] is the blank line and the body. A message whose first line is
// blank has no headers (end 0); one with no blank line is all header.
func HeaderEnd(msg []byte) int {
	for i := 0; i < len(msg); {
		rest := msg[i:]
		if rest[0] == '\n' || (len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n') {
			return i
		}
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return len(msg)
		}
		i += nl + 1
	}
	return len(msg)
}

// A HeaderField is one field of a header block as it lies in the message.
type HeaderField struct {
	// Raw is the field's lines, continuation lines included, each with its
	// line ending.
	Raw []byte
	// Name is the field's name as written, or nil for a line that is
	// neither a field nor a continuation (with any continuation lines
	// after it).
	Name []byte
}

// Value returns the field's value unfolded (each line break with the white
// space after it becomes one space) and trimmed.
func (f HeaderField) Value() string {
	if f.Name == nil {
		return ""
	}
	line, rest := cutLine(f.Raw[len(f.Name)+1:])
	if len(rest) == 0 {
		return string(bytes.TrimSpace(line))
	}
	var b strings.Builder
	b.Grow(len(f.Raw))
	b.Write(bytes.TrimLeft(line, " \t"))
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		if v := bytes.TrimLeft(line, " \t"); len(v) > 0 {
			b.WriteByte(' ')
			b.Write(v)
		}
	}
	return strings.TrimSpace(b.String())
}

// cutLine splits off b's first line, without its line ending.
func cutLine(b []byte) (line, rest []byte) {
	if nl := bytes.IndexByte(b, '\n'); nl >= 0 {
		line, rest = b[:nl], b[nl+1:]
	} else {
		line = b
	}
	return bytes.TrimSuffix(line, []byte("\r")), rest
}

// HeaderFields returns an iterator over the fields of the header block at
// the start of msg, in order. The block ends before the first blank line,
// or at the end of msg. It is lenient, as a receiving MTA must be: a line
// that is neither a field nor a continuation comes as a field without a
// Name. The fields' Raw, one after the other, are the whole header block,
// so their lengths add up to HeaderEnd(msg).
func HeaderFields(msg []byte) iter.Seq[HeaderField] {
	return func(yield func(HeaderField) bool) {
		start, i := 0, 0
		var name []byte
		for i < len(msg) {
			rest := msg[i:]
			if rest[0] == '\n' || (len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n') {
				break // the blank line
			}
			line := rest
			nl := bytes.IndexByte(rest, '\n')
			if nl >= 0 {
				line = rest[:nl]
			}
			if rest[0] != ' ' && rest[0] != '\t' || i == 0 {
				if i > start {
					if !yield(HeaderField{Raw: msg[start:i], Name: name}) {
						return
					}
				}
				start, name = i, fieldName(line)
			}
			if nl < 0 {
				i = len(msg)
				break
			}
			i += nl + 1
		}
		if i > start {
			yield(HeaderField{Raw: msg[start:i], Name: name})
		}
	}
}

// fieldName returns the name of the field that line starts, or nil.
func fieldName(line []byte) []byte {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || bytes.ContainsAny(line[:colon], " \t") {
		return nil
	}
	return line[:colon]
}

// ParseHeader splits a header block into fields, in order, leaving out the
// lines that are not fields.
func ParseHeader(block []byte) []Field {
	var fields []Field
	for f := range HeaderFields(block) {
		if f.Name != nil {
			fields = append(fields, Field{Name: string(f.Name), Value: f.Value()})
		}
	}
	return fields
}

// Verdicts are the results of SES's checks on a message, as the notification
// spells them: PASS, FAIL, GRAY, PROCESSING_FAILED or DISABLED.
type Verdicts struct {
	Spam  string `json:"spam"`
	Virus string `json:"virus"`
	SPF   string `json:"spf"`
	DKIM  string `json:"dkim"`
	DMARC string `json:"dmarc"`
	// DMARCPolicy is the sender domain's policy, set only when DMARC fails.
	DMARCPolicy string `json:"dmarcPolicy,omitempty"`
}

// Verdict values.
const (
	VerdictPass     = "PASS"
	VerdictFail     = "FAIL"
	VerdictGray     = "GRAY"
	VerdictFailed   = "PROCESSING_FAILED"
	VerdictDisabled = "DISABLED"
)

// trace is what SES records about a message in the headers it prepends.
type trace struct {
	id        string
	at        time.Time
	from      string // envelope sender; "" for the null sender
	rcpt      string // the recipient named in Received's "for" clause
	helo      string
	client    netip.Addr
	hostname  string // inbound-smtp.<region>.amazonaws.com
	fromHdr   string // domain of the From header
	scan      bool   // the rule has ScanEnabled: add the spam and virus verdicts
	verdicts  Verdicts
	randBytes io.Reader
}

// sesDKIMSelector is a selector SES has used for X-SES-DKIM-SIGNATURE.
const sesDKIMSelector = "224i4yxa5dv7c2xz3womw6peuasteono"

// appendSESHeaders appends, in SES's order and with CRLF line endings, the
// headers SES puts above a received message: Return-Path, Received, the
// spam and virus verdicts (only when the rule scans), Received-SPF,
// Authentication-Results, X-SES-RECEIPT and X-SES-DKIM-SIGNATURE.
//
// X-SES-RECEIPT and the DKIM signature are opaque to consumers and cannot be
// verified outside AWS (the key is Amazon's), so they are random with the
// real ones' shape, the body hash (bh=) included: hashing every body cost a
// sixth of the pipeline's time for a value nobody can check.
func (t *trace) appendSESHeaders(dst []byte) ([]byte, error) {
	ip := t.client.String()
	if !t.client.IsValid() {
		ip = "127.0.0.1"
	}
	helo := t.helo
	if helo == "" {
		helo = "unknown"
	}
	rdns := "unknown"
	if t.client.IsLoopback() || !t.client.IsValid() {
		rdns = "localhost"
	}
	spfDomain := domainOf(t.from)
	if spfDomain == "" {
		spfDomain = helo
	}
	dst = append(dst, "Return-Path: <"...)
	dst = append(dst, t.from...)
	dst = append(dst, ">\r\nReceived: from "...)
	dst = append(dst, helo...)
	dst = append(dst, " ("...)
	dst = append(dst, rdns...)
	dst = append(dst, " ["...)
	dst = append(dst, ip...)
	dst = append(dst, "])\r\n by "...)
	dst = append(dst, t.hostname...)
	dst = append(dst, " with SMTP id "...)
	dst = append(dst, t.id...)
	dst = append(dst, "\r\n for "...)
	dst = append(dst, t.rcpt...)
	dst = append(dst, ";\r\n "...)
	dst = t.at.UTC().AppendFormat(dst, "Mon, 02 Jan 2006 15:04:05 +0000 (UTC)")
	dst = append(dst, "\r\n"...)
	if t.scan {
		dst = append(dst, "X-SES-Spam-Verdict: "...)
		dst = append(dst, t.verdicts.Spam...)
		dst = append(dst, "\r\nX-SES-Virus-Verdict: "...)
		dst = append(dst, t.verdicts.Virus...)
		dst = append(dst, "\r\n"...)
	}
	spf := spfText(t.verdicts.SPF, spfDomain, ip) + " client-ip=" + ip + "; envelope-from=" + t.from + "; helo=" + helo + ";"
	dst = append(dst, "Received-SPF: "...)
	dst = append(dst, spf...)
	dst = append(dst, "\r\nAuthentication-Results: amazonses.com;\r\n spf="...)
	dst = append(dst, spf...)
	dst = append(dst, "\r\n dkim="...)
	dst = append(dst, strings.ToLower(authResult(t.verdicts.DKIM))...)
	dst = append(dst, " header.i=@"...)
	dst = append(dst, t.fromHdr...)
	dst = append(dst, ";\r\n dmarc="...)
	dst = append(dst, strings.ToLower(authResult(t.verdicts.DMARC))...)
	dst = append(dst, " header.from="...)
	dst = append(dst, t.fromHdr...)
	dst = append(dst, ";\r\n"...)

	// X-SES-RECEIPT is base64 of a NUL and then base64 of an 8-byte counter
	// (1) and 224 opaque bytes; X-SES-DKIM-SIGNATURE's b= is a 1024-bit RSA
	// signature and bh= a SHA-256.
	var opaque [8 + 224 + 128 + 32]byte
	binary.BigEndian.PutUint64(opaque[:8], 1)
	r := t.randBytes
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, opaque[8:]); err != nil {
		return nil, fmt.Errorf("ses headers: %w", err)
	}
	inner := base64.StdEncoding.EncodeToString(opaque[:232])
	receipt := append([]byte{0}, inner...)
	dst = append(dst, "X-SES-RECEIPT: "...)
	dst = base64.StdEncoding.AppendEncode(dst, receipt)
	dst = append(dst, "\r\nX-SES-DKIM-SIGNATURE: a=rsa-sha256; q=dns/txt; b="...)
	dst = base64.StdEncoding.AppendEncode(dst, opaque[232:360])
	dst = append(dst, "; c=relaxed/simple; s="+sesDKIMSelector+"; d=amazonses.com; t="...)
	dst = strconv.AppendInt(dst, t.at.Unix(), 10)
	dst = append(dst, "; v=1; bh="...)
	dst = base64.StdEncoding.AppendEncode(dst, opaque[360:])
	dst = append(dst, "; h=From:To:Cc:Bcc:Subject:Date:Message-ID:MIME-Version:Content-Type:X-SES-RECEIPT;\r\n"...)
	return dst, nil
}

// spfText is the start of Received-SPF for a verdict, in SES's words.
func spfText(verdict, domain, ip string) string {
	switch verdict {
	case VerdictFail:
		return "fail (spfCheck: domain of " + domain + " does not designate " + ip + " as permitted sender)"
	case VerdictGray:
		return "none (spfCheck: " + ip + " is neither permitted nor denied by domain of " + domain + ")"
	case VerdictFailed:
		return "temperror (spfCheck: error in processing during lookup of " + domain + ": DNS problem)"
	}
	return "pass (spfCheck: domain of " + domain + " designates " + ip + " as permitted sender)"
}

// authResult maps a verdict to an Authentication-Results result.
func authResult(verdict string) string {
	switch verdict {
	case VerdictFail:
		return "fail"
	case VerdictGray:
		return "none"
	case VerdictFailed:
		return "temperror"
	}
	return "pass"
}

// domainOf returns the domain of an address, lower-cased, or "".
func domainOf(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		return strings.ToLower(strings.Trim(addr[at+1:], "<> "))
	}
	return ""
}

// fromDomain returns the domain of the first address in a From header's
// value.
func fromDomain(from string) string {
	if list, err := mail.ParseAddressList(from); err == nil && len(list) > 0 {
		return domainOf(list[0].Address)
	}
	return domainOf(from)
}
