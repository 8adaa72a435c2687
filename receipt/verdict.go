package receipt

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
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
// parts after their transfer encoding is undone, as a scanner would.
// msg[:hdrEnd] is its header block.
func containsPattern(msg []byte, hdrEnd int, pattern []byte) bool {
	if bytes.Contains(msg, pattern) {
		return true
	}
	// Only an encoded part can hide the pattern from the search above.
	lower := bytes.ToLower(msg[:hdrEnd])
	if !bytes.Contains(lower, []byte("multipart/")) && !bytes.Contains(lower, []byte("base64")) && !bytes.Contains(lower, []byte("quoted-printable")) {
		return false
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return false
	}
	return partContains(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, pattern, 0)
}

func partContains(contentType, encoding string, body io.Reader, pattern []byte, depth int) bool {
	if depth > 10 {
		return false
	}
	mediaType, params, _ := mime.ParseMediaType(contentType)
	if strings.HasPrefix(mediaType, "multipart/") && params["boundary"] != "" {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err != nil {
				return false
			}
			if partContains(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, pattern, depth+1) {
				return true
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body) // ignores line breaks
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	default:
		return false // already searched in the raw message
	}
	decoded, _ := io.ReadAll(io.LimitReader(r, 64<<20))
	return bytes.Contains(decoded, pattern)
}
