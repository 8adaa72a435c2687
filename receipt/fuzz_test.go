package receipt

import (
	"bytes"
	"net/netip"
	"os"
	"slices"
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

// FuzzMatch compares the indexed matcher with refMatch, a slow reading of
// SES's documented conditions, over a rule set with addresses, domains,
// subdomains, a catch-all, a disabled rule and verified domains, for any
// recipient.
func FuzzMatch(f *testing.F) {
	f.Add("example.com", "user@example.com", ".example.com", "", false, "user@example.com")
	f.Add(".example.com", "a@b.example.com", "example.org", "example.com", false, "a@b.example.com")
	f.Add("user@example.com", "USER+tag@EXAMPLE.com", "x", "", true, "USER+tag@EXAMPLE.com")
	f.Add("", "@", ".", "", false, "@")
	f.Add("a@", "+@.", "a@b@c", "b", true, "+x@a.b")
	f.Fuzz(func(t *testing.T, c1, c2, c3, verified string, catchAll bool, rcpt string) {
		rs := &RuleSet{Rules: []Rule{
			{Name: "one", Enabled: true, Recipients: []string{c1}},
			{Name: "two", Enabled: true, Recipients: []string{c2, c3}},
			{Name: "off", Enabled: false, Recipients: []string{c1, c2, c3}},
			{Name: "again", Enabled: true, Recipients: []string{c3, c1}},
		}}
		if catchAll {
			rs.Rules = append(rs.Rules, Rule{Name: "all", Enabled: true})
		}
		if verified != "" {
			rs.VerifiedDomains = []string{verified}
		}
		got := newMatcher(rs).match(rcpt, nil)
		var want []int
		for i, r := range rs.Rules {
			if refRule(rs, r, rcpt) {
				want = append(want, i)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("rules %q, verified %q: match(%q) = %v, the reference says %v", [][]string{{c1}, {c2, c3}, {c1, c2, c3}, {c3, c1}}, verified, rcpt, got, want)
		}
	})
}

// refRule says whether rule r takes rcpt, straight from SES's words: an
// enabled rule with no conditions takes every address, else any condition
// must match; with verified domains, only addresses in them or their
// subdomains are taken at all. Case never matters.
func refRule(rs *RuleSet, r Rule, rcpt string) bool {
	if !r.Enabled {
		return false
	}
	addr := strings.ToLower(rcpt)
	domain := ""
	if at := strings.LastIndex(addr, "@"); at >= 0 {
		domain = addr[at+1:]
	}
	if len(rs.VerifiedDomains) > 0 {
		ok := false
		for _, v := range rs.VerifiedDomains {
			v = strings.ToLower(v)
			ok = ok || domain == v || strings.HasSuffix(domain, "."+v)
		}
		if !ok {
			return false
		}
	}
	if len(r.Recipients) == 0 {
		return true
	}
	for _, c := range r.Recipients {
		if refMatch(strings.ToLower(c), addr) {
			return true
		}
	}
	return false
}

// refMatch: "user@example.com" is that address and user+label@example.com;
// "example.com" every address in that domain; ".example.com" every address
// in any of its subdomains. An address without a domain matches none.
func refMatch(cond, addr string) bool {
	at := strings.LastIndex(addr, "@")
	if at < 0 || at == len(addr)-1 {
		return false
	}
	local, domain := addr[:at], addr[at+1:]
	switch {
	case strings.Contains(cond, "@"):
		if cond == addr {
			return true
		}
		user, _, hasLabel := strings.Cut(local, "+")
		return hasLabel && user != "" && cond == user+"@"+domain
	case strings.HasPrefix(cond, "."):
		return strings.HasSuffix(domain, cond)
	default:
		return domain == cond
	}
}

// FuzzHeaderScan: SES's header handling of any message, as received:
// control headers stripped, header block found and parsed, SES's headers
// prepended, and the notification's mail object built, without a panic,
// and with the message kept after the SES headers byte for byte.
// FuzzMessage (fuzz_pipeline_test.go) runs the whole pipeline.
func FuzzHeaderScan(f *testing.F) {
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
