package receipt

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestAppendSESHeaders(t *testing.T) {
	tr := trace{
		id:        "lhne4tbq09c867b1ko1f3ho4fqfidcatruo26781",
		at:        time.Date(2020, 5, 2, 20, 22, 21, 0, time.FixedZone("EDT", -4*3600)),
		from:      "sender@example.org",
		rcpt:      "inbox@example.com",
		helo:      "mail.example.org",
		client:    netip.MustParseAddr("192.0.2.10"),
		hostname:  "inbound-smtp.us-east-1.amazonaws.com",
		fromHdr:   "example.org",
		scan:      true,
		verdicts:  Verdicts{Spam: "PASS", Virus: "PASS", SPF: "PASS", DKIM: "PASS", DMARC: "PASS"},
		randBytes: zeroReader{},
	}
	got, err := tr.appendSESHeaders(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "Return-Path: <sender@example.org>\r\n" +
		"Received: from mail.example.org (unknown [192.0.2.10])\r\n" +
		" by inbound-smtp.us-east-1.amazonaws.com with SMTP id lhne4tbq09c867b1ko1f3ho4fqfidcatruo26781\r\n" +
		" for inbox@example.com;\r\n" +
		" Sun, 03 May 2020 00:22:21 +0000 (UTC)\r\n" +
		"X-SES-Spam-Verdict: PASS\r\n" +
		"X-SES-Virus-Verdict: PASS\r\n" +
		"Received-SPF: pass (spfCheck: domain of example.org designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10; envelope-from=sender@example.org; helo=mail.example.org;\r\n" +
		"Authentication-Results: amazonses.com;\r\n" +
		" spf=pass (spfCheck: domain of example.org designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10; envelope-from=sender@example.org; helo=mail.example.org;\r\n" +
		" dkim=pass header.i=@example.org;\r\n" +
		" dmarc=pass header.from=example.org;\r\n" +
		"X-SES-RECEIPT: AEFBQUFBQUFBQUFF" // the rest is opaque
	if !strings.HasPrefix(string(got), want) {
		t.Fatalf("headers:\n%s\nwant prefix:\n%s", got, want)
	}
	fields := ParseHeader(got)
	var names []string
	for _, f := range fields {
		names = append(names, f.Name)
	}
	wantNames := []string{"Return-Path", "Received", "X-SES-Spam-Verdict", "X-SES-Virus-Verdict", "Received-SPF",
		"Authentication-Results", "X-SES-RECEIPT", "X-SES-DKIM-SIGNATURE"}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("header order = %v, want %v", names, wantNames)
	}
	dkim := fields[7].Value
	if !strings.HasPrefix(dkim, "a=rsa-sha256; q=dns/txt; b=") ||
		!strings.HasSuffix(dkim, "; c=relaxed/simple; s=224i4yxa5dv7c2xz3womw6peuasteono; d=amazonses.com; t=1588465341; v=1; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; h=From:To:Cc:Bcc:Subject:Date:Message-ID:MIME-Version:Content-Type:X-SES-RECEIPT;") {
		t.Errorf("X-SES-DKIM-SIGNATURE = %q", dkim)
	}
	if bytes.Contains(bytes.ReplaceAll(got, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("bare LF in SES headers")
	}
	if !bytes.HasSuffix(got, []byte(";\r\n")) {
		t.Errorf("headers do not end with the DKIM signature's CRLF")
	}
}

func TestAppendSESHeadersNoScan(t *testing.T) {
	tr := trace{id: "x", from: "", helo: "h", client: netip.MustParseAddr("127.0.0.1"), verdicts: Verdicts{SPF: "PASS"}}
	got, err := tr.appendSESHeaders(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	if strings.Contains(s, "Verdict:") {
		t.Errorf("verdict headers without ScanEnabled:\n%s", s)
	}
	for _, want := range []string{"Return-Path: <>\r\n", "Received: from h (localhost [127.0.0.1])", "domain of h designates", "envelope-from=;"} {
		if !strings.Contains(s, want) {
			t.Errorf("headers lack %q:\n%s", want, s)
		}
	}
}

func TestHeaderEnd(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		want int
	}{
		{"A: b\r\n\r\nbody", 6},
		{"A: b\r\n c\r\nD: e\r\n\r\n", 16},
		{"A: b\n\nbody", 5},
		{"\r\nbody only", 0},
		{"A: b\r\nno blank line", 19},
		{"", 0},
	} {
		if got := HeaderEnd([]byte(tt.msg)); got != tt.want {
			t.Errorf("HeaderEnd(%q) = %d, want %d", tt.msg, got, tt.want)
		}
	}
}

func TestParseHeader(t *testing.T) {
	block := "Received: from a\r\n        by b\r\n\tfor c;\r\n" +
		"Subject:  hello  \r\n" +
		"not a header line\r\n" +
		"X-Empty:\r\n" +
		"DKIM-Signature: v=1; h=from:to:dkim-signature\r\n\t:list-unsubscribe-post\r\n"
	want := []Field{
		{"Received", "from a by b for c;"},
		{"Subject", "hello"},
		{"X-Empty", ""},
		{"DKIM-Signature", "v=1; h=from:to:dkim-signature :list-unsubscribe-post"},
	}
	if got := ParseHeader([]byte(block)); !slices.Equal(got, want) {
		t.Fatalf("ParseHeader() =\n%q\nwant\n%q", got, want)
	}
}

func TestFromDomain(t *testing.T) {
	for _, tt := range []struct{ value, want string }{
		{"Peter <peter@Substack.com>", "substack.com"},
		{"a@b.example, c@d.example", "b.example"},
		{"broken <x@y.example", "y.example"},
		{"no address", ""},
	} {
		if got := fromDomain(tt.value); got != tt.want {
			t.Errorf("fromDomain(%q) = %q, want %q", tt.value, got, tt.want)
		}
	}
}
