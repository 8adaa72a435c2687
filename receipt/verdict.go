package receipt

import (
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // text parts in any charset
)

// Control headers let a test choose the verdicts of one message. They are
// removed before the message is stored or published, so what consumers see
// is what SES would have produced.
const controlPrefix = "X-SESInbound-"

// Control header names (after the prefix), matched case-insensitively.
const (
	ctlSpam        = "spam-verdict"
	ctlVirus       = "virus-verdict"
	ctlSPF         = "spf-verdict"
	ctlDKIM        = "dkim-verdict"
	ctlDMARC       = "dmarc-verdict"
	ctlDMARCPolicy = "dmarc-policy"
	ctlEnvelope    = "envelope" // an envelope variant, see encrypt.Variant
)

// controls are the verdicts a message asked for.
type controls map[string]string

// scanHeader reads msg's header block once: it removes the X-SESInbound-*
// fields (with their continuation lines) and returns them, with the end of
// the header block of what remains and the domain of the first From
// address. The message is returned unchanged, not copied, when it has no
// control fields.
func scanHeader(msg []byte) (data []byte, c controls, hdrEnd int, fromDom string) {
	var out []byte // the message without its control fields, once one is seen
	end, seenFrom := 0, false
	for f := range HeaderFields(msg) {
		start := end
		end += len(f.Raw)
		if len(f.Name) > len(controlPrefix) && bytes.EqualFold(f.Name[:len(controlPrefix)], []byte(controlPrefix)) {
			if c == nil {
				c = controls{}
				out = append(make([]byte, 0, len(msg)), msg[:start]...)
			}
			value, _ := cutLine(f.Raw[len(f.Name)+1:]) // the first line only
			c[strings.ToLower(string(f.Name[len(controlPrefix):]))] = strings.ToUpper(string(bytes.TrimSpace(value)))
			continue
		}
		if out != nil {
			out = append(out, f.Raw...)
		}
		if !seenFrom && f.Name != nil && bytes.EqualFold(f.Name, []byte("From")) {
			seenFrom, fromDom = true, fromDomain(f.Value())
		}
	}
	if out == nil {
		return msg, nil, end, fromDom
	}
	hdrEnd = len(out)
	return append(out, msg[end:]...), c, hdrEnd, fromDom
}

// verdict returns a control's value when it is a valid verdict.
func (c controls) verdict(name string) (string, bool) {
	switch v := c[name]; v {
	case VerdictPass, VerdictFail, VerdictGray, VerdictFailed:
		return v, true
	}
	return "", false
}

// baseVerdicts are the message's verdicts before a rule's ScanEnabled is
// considered: PASS unless a control header or a test pattern (EICAR for
// viruses, GTUBE for spam) says otherwise. The content is only scanned when
// a rule that matched asks for it (scan), as SES only scans then.
func (d *delivery) baseVerdicts(scan bool) Verdicts {
	v := Verdicts{Spam: VerdictPass, Virus: VerdictPass, SPF: VerdictPass, DKIM: VerdictPass, DMARC: VerdictPass}
	if scan && containsPattern(d.data, d.hdrEnd, []byte(eicar)) {
		v.Virus = VerdictFail
	}
	if scan && containsPattern(d.data, d.hdrEnd, []byte(gtube)) {
		v.Spam = VerdictFail
	}
	for name, dst := range map[string]*string{ctlSpam: &v.Spam, ctlVirus: &v.Virus, ctlSPF: &v.SPF, ctlDKIM: &v.DKIM, ctlDMARC: &v.DMARC} {
		if s, ok := d.controls.verdict(name); ok {
			*dst = s
		}
	}
	if v.DMARC == VerdictFail {
		v.DMARCPolicy = "none"
		switch p := strings.ToLower(d.controls[ctlDMARCPolicy]); p {
		case "none", "quarantine", "reject":
			v.DMARCPolicy = p
		}
	}
	return v
}

// forRule applies a rule's ScanEnabled: without scanning, spam and virus
// are DISABLED.
func (v Verdicts) forRule(r *Rule) Verdicts {
	if !r.ScanEnabled {
		v.Spam, v.Virus = VerdictDisabled, VerdictDisabled
	}
	return v
}

// The industry's harmless test patterns: every virus scanner flags EICAR,
// every spam filter GTUBE.
const (
	eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`
	gtube = `XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X`
)

// containsPattern looks for pattern in the raw message and in its MIME
// parts after their transfer encoding is undone, as a scanner would: every
// part of every multipart, nested to any depth, and the message inside a
// message/rfc822 part. msg[:hdrEnd] is its header block.
//
// The raw search and the test for an encoding come first and stay hand
// written: BenchmarkContainsPattern measured 0.45 µs for them against
// 28.5 µs for parsing the same 9 KB plain message with go-message, and
// most messages have no encoded part.
func containsPattern(msg []byte, hdrEnd int, pattern []byte) bool {
	if bytes.Contains(msg, pattern) {
		return true
	}
	// Only an encoded part can hide the pattern from the search above: one
	// inside a multipart or a message/rfc822, or an encoded body.
	lower := bytes.ToLower(msg[:hdrEnd])
	if !bytes.Contains(lower, []byte("multipart/")) && !bytes.Contains(lower, []byte("message/")) &&
		!bytes.Contains(lower, []byte("base64")) && !bytes.Contains(lower, []byte("quoted-printable")) {
		return false
	}
	e, err := message.Read(bytes.NewReader(msg))
	if !usable(err) {
		return false
	}
	return entityContains(e, pattern, 0)
}

// maxMIMEDepth bounds how deep containsPattern follows nested parts.
const maxMIMEDepth = 20

// entityContains reports whether e's decoded body, or any part within it,
// contains pattern. go-message undoes base64 and quoted-printable (and
// converts the charset of text parts).
func entityContains(e *message.Entity, pattern []byte, depth int) bool {
	if depth > maxMIMEDepth {
		return false
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			part, err := mr.NextPart()
			if err != nil && (part == nil || !usable(err)) {
				return false // io.EOF, or a part too broken to read
			}
			if entityContains(part, pattern, depth+1) {
				return true
			}
		}
	}
	if t, _, _ := e.Header.ContentType(); t == "message/rfc822" || t == "message/global" {
		inner, err := message.Read(e.Body)
		return usable(err) && entityContains(inner, pattern, depth+1)
	}
	decoded, _ := io.ReadAll(io.LimitReader(e.Body, 64<<20))
	return bytes.Contains(decoded, pattern)
}

// usable reports whether an entity go-message returned with err can still
// be read: an unknown charset or transfer encoding leaves the body as it is.
func usable(err error) bool {
	return err == nil || message.IsUnknownCharset(err) || message.IsUnknownEncoding(err)
}
