package receipt

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSplitAddressList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"a@example.com", []string{"a@example.com"}},
		{"Peter <p@example.com>, b@example.com", []string{"Peter <p@example.com>", "b@example.com"}},
		{`"Last, First" <l@example.com>, c@example.com`, []string{`"Last, First" <l@example.com>`, "c@example.com"}},
		{"x@example.com (comment, with comma), y@example.com", []string{"x@example.com (comment, with comma)", "y@example.com"}},
		{" , ", nil},
	} {
		if got := splitAddressList(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitAddressList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMailObjectHeadersTruncated(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "X-Filler-%03d: %s\r\n", i, strings.Repeat("v", 80))
	}
	b.WriteString("Subject: last\r\n\r\nbody\r\n")
	m := newMailObject("id", time.Unix(0, 0), "a@example.org", []byte(b.String()))
	if !m.HeadersTruncated {
		t.Fatalf("18 KB of headers not marked truncated")
	}
	size := 0
	for _, h := range m.Headers {
		size += len(h.Name) + len(h.Value)
	}
	if size > maxHeadersBytes || len(m.Headers) == 0 {
		t.Fatalf("kept %d headers, %d bytes; want at most %d bytes", len(m.Headers), size, maxHeadersBytes)
	}
	// commonHeaders come from every header, not only the kept ones.
	if m.CommonHeaders.Subject == nil || *m.CommonHeaders.Subject != "last" {
		t.Fatalf("subject = %v", m.CommonHeaders.Subject)
	}
	if m.Timestamp != "1970-01-01T00:00:00.000Z" {
		t.Fatalf("timestamp = %s", m.Timestamp)
	}
}

func TestMailObjectEmptyLists(t *testing.T) {
	m := newMailObject("id", time.Unix(0, 0), "", []byte("\r\nno headers\r\n"))
	js := string(marshal(m))
	for _, want := range []string{`"destination":[]`, `"headers":[]`, `"commonHeaders":{}`, `"headersTruncated":false`} {
		if !strings.Contains(js, want) {
			t.Errorf("mail object %s lacks %s", js, want)
		}
	}
}

func TestScanHeader(t *testing.T) {
	msg := []byte("Subject: x\r\nX-SESInbound-Spam-Verdict: fail\r\nx-sesinbound-dmarc-verdict: FAIL\r\n more\r\nFrom: A <a@Example.org>\r\nTo: a@b\r\n\r\nX-SESInbound-Virus-Verdict: FAIL in the body stays\r\n")
	out, c, end, from := scanHeader(msg)
	if string(out) != "Subject: x\r\nFrom: A <a@Example.org>\r\nTo: a@b\r\n\r\nX-SESInbound-Virus-Verdict: FAIL in the body stays\r\n" {
		t.Fatalf("stripped = %q", out)
	}
	if end != HeaderEnd(out) || from != "example.org" {
		t.Fatalf("header end %d (want %d), from domain %q", end, HeaderEnd(out), from)
	}
	if c["spam-verdict"] != "FAIL" || c["dmarc-verdict"] != "FAIL" || c["virus-verdict"] != "" {
		t.Fatalf("controls = %v", c)
	}
	plain := []byte("Subject: x\r\n\r\nbody")
	if out, c, _, _ := scanHeader(plain); &out[0] != &plain[0] || c != nil {
		t.Fatalf("a message without control headers was copied")
	}
}
