package receipt

import (
	"bytes"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzParseRules: any document gets either a rule set that validates or a
// *ConfigError, never a panic.
func FuzzParseRules(f *testing.F) {
	for _, p := range []string{"testdata/rules.yaml", "testdata/describe-active-receipt-rule-set.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Rules: [{Name: a, Enabled: true, Actions: [{S3Action: {BucketName: bucket}}]}]"))
	f.Add([]byte("Faults: {SMTP: [{Stage: RCPT, Code: 451, Count: 1}], Envelopes: {'*': corrupt-tag}}"))
	f.Add([]byte("&a [*a, *a]"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		rs, err := ParseRules(bytes.NewReader(doc), "fuzz.yaml")
		if err != nil {
			if _, ok := err.(*ConfigError); !ok {
				t.Fatalf("ParseRules error %T: %v", err, err)
			}
			return
		}
		if err := rs.Validate(); err != nil {
			t.Fatalf("a parsed rule set does not validate: %v", err)
		}
		newMatcher(rs).match("user+label@sub.example.com", nil)
	})
}

// FuzzMatch: matching never panics, finds only enabled rules, and agrees
// with itself under a change of case.
func FuzzMatch(f *testing.F) {
	f.Add("example.com", "user@example.com")
	f.Add(".example.com", "a@b.example.com")
	f.Add("user@example.com", "USER+tag@EXAMPLE.com")
	f.Add("", "@")
	f.Add("a@", "+@.")
	f.Fuzz(func(t *testing.T, recipient, rcpt string) {
		rs := &RuleSet{Rules: []Rule{
			{Name: "r", Enabled: true, Recipients: []string{recipient}},
			{Name: "off", Enabled: false},
		}}
		m := newMatcher(rs)
		got := m.match(rcpt, nil)
		for _, i := range got {
			if !rs.Rules[i].Enabled {
				t.Fatalf("matched a disabled rule")
			}
		}
		if upper := m.match(strings.ToUpper(rcpt), nil); len(upper) != len(got) && strings.ToLower(strings.ToUpper(rcpt)) == strings.ToLower(rcpt) {
			t.Fatalf("match(%q) = %v but match(upper) = %v", rcpt, got, upper)
		}
	})
}

// FuzzMessage: SES's header handling of any message, as received: control
// headers stripped, header block found and parsed, SES's headers prepended,
// and the notification's mail object built, without a panic, and with the
// message kept after the SES headers byte for byte.
func FuzzMessage(f *testing.F) {
	f.Add([]byte("From: A <a@example.org>\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"))
	f.Add([]byte("X-SESInbound-Spam-Verdict: FAIL\r\n folded\r\nSubject: x\n\nbare LF"))
	f.Add([]byte("\r\nno headers"))
	f.Add([]byte("Received: from a\r\n\tby b\r\nno colon here\r\n: empty name\r\n\r\n"))
	f.Add([]byte("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n!!\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		data, controls, end, fromDom := scanHeader(msg)
		if end < 0 || end > len(data) || end != HeaderEnd(data) {
			t.Fatalf("header end = %d for %d bytes; HeaderEnd says %d", end, len(data), HeaderEnd(data))
		}
		n := 0
		for f := range HeaderFields(data) {
			n += len(f.Raw)
		}
		if n != end {
			t.Fatalf("the fields' Raw add up to %d bytes, the header block is %d", n, end)
		}
		tr := trace{id: "id", at: time.Unix(0, 0), from: "a@example.org", rcpt: "b@example.com", helo: "h",
			client: netip.MustParseAddr("127.0.0.1"), hostname: "inbound-smtp.us-east-1.amazonaws.com",
			fromHdr: fromDom, verdicts: Verdicts{SPF: VerdictPass}}
		stored, err := tr.appendSESHeaders(nil)
		if err != nil {
			t.Fatal(err)
		}
		n = len(stored)
		stored = append(stored, data...)
		if !bytes.Equal(stored[n:], data) {
			t.Fatalf("the message changed behind SES's headers")
		}
		m := newMailObject("id", time.Unix(0, 0), "a@example.org", stored[:HeaderEnd(stored)])
		if len(m.Headers) == 0 || m.Headers[0].Name != "Return-Path" {
			t.Fatalf("mail.headers does not start with Return-Path: %v", m.Headers)
		}
		marshal(m)
		d := &delivery{data: data, hdrEnd: end, controls: controls}
		d.baseVerdicts(true)
	})
}
