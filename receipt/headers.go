package receipt

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"mime"
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

// ParseHeader splits a header block into fields, in order. It is lenient, as
// a receiving MTA must be: a line that is neither a field nor a continuation
// is skipped rather than failing the message.
func ParseHeader(block []byte) []Field {
	var fields []Field
	var cur *strings.Builder
	for len(block) > 0 {
		line := block
		if nl := bytes.IndexByte(block, '\n'); nl >= 0 {
			line, block = block[:nl], block[nl+1:]
		} else {
			block = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if cur != nil {
				if v := bytes.TrimLeft(line, " \t"); len(v) > 0 {
					cur.WriteByte(' ')
					cur.Write(v)
				}
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || bytes.ContainsAny(line[:colon], " \t") {
			if cur != nil {
				fields[len(fields)-1].Value = strings.TrimSpace(cur.String())
			}
			cur = nil
			continue
		}
		if cur != nil {
			fields[len(fields)-1].Value = strings.TrimSpace(cur.String())
		}
		fields = append(fields, Field{Name: string(line[:colon])})
		cur = &strings.Builder{}
		cur.Write(bytes.TrimLeft(line[colon+1:], " \t"))
	}
	if cur != nil {
		fields[len(fields)-1].Value = strings.TrimSpace(cur.String())
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

// fromDomain returns the domain of the first address in the From header.
func fromDomain(fields []Field) string {
	for _, f := range fields {
		if !strings.EqualFold(f.Name, "From") {
			continue
		}
		if list, err := mail.ParseAddressList(f.Value); err == nil && len(list) > 0 {
			return domainOf(list[0].Address)
		}
		return domainOf(f.Value)
	}
	return ""
}

// subject returns the first Subject field, its RFC 2047 encoded words
// decoded when they can be.
func subject(fields []Field) string {
	for _, f := range fields {
		if strings.EqualFold(f.Name, "Subject") {
			v := strings.TrimSpace(f.Value)
			if dec, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
				return dec
			}
			return v
		}
	}
	return ""
}
