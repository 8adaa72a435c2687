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

// stripControlHeaders removes X-SESInbound-* fields (with their
// continuation lines) from the header block and returns them. The message
// is returned unchanged, not copied, when it has none.
func stripControlHeaders(msg []byte) ([]byte, controls) {
	end := HeaderEnd(msg)
	if !bytes.Contains(bytes.ToLower(msg[:end]), []byte(strings.ToLower(controlPrefix))) {
		return msg, nil
	}
	c := controls{}
	out := make([]byte, 0, len(msg))
	skipping := false
	for rest := msg[:end]; len(rest) > 0; {
		line := rest
		if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
			line, rest = rest[:nl+1], rest[nl+1:]
		} else {
			rest = nil
		}
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if !skipping {
				out = append(out, line...)
			}
			continue
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		skipping = len(name) > len(controlPrefix) && strings.EqualFold(string(name[:len(controlPrefix)]), controlPrefix)
		if skipping {
			c[strings.ToLower(string(name[len(controlPrefix):]))] = strings.ToUpper(strings.TrimSpace(string(value)))
			continue
		}
		out = append(out, line...)
	}
	out = append(out, msg[end:]...)
	return out, c
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
	if scan && containsPattern(d.data, []byte(eicar)) {
		v.Virus = VerdictFail
	}
	if scan && containsPattern(d.data, []byte(gtube)) {
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
func containsPattern(msg, pattern []byte) bool {
	if bytes.Contains(msg, pattern) {
		return true
	}
	// Only an encoded part can hide the pattern from the search above.
	lower := bytes.ToLower(msg[:HeaderEnd(msg)])
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
