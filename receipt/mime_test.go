package receipt

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mime", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The verdict scan finds the test patterns however deep and however
// encoded: EICAR in a base64 part of a message/rfc822 attachment inside
// multipart/mixed, GTUBE in quoted-printable HTML inside multipart in
// multipart. Neither pattern is in the raw bytes.
func TestContainsPatternNested(t *testing.T) {
	for _, tt := range []struct {
		file    string
		pattern string
	}{
		{"eicar-in-rfc822.eml", eicar},
		{"gtube-in-qp-html.eml", gtube},
	} {
		msg := readFixture(t, tt.file)
		if bytes.Contains(msg, []byte(tt.pattern)) {
			t.Fatalf("%s: the pattern is in the raw bytes; the fixture tests nothing", tt.file)
		}
		if !containsPattern(msg, HeaderEnd(msg), []byte(tt.pattern)) {
			t.Errorf("%s: pattern not found", tt.file)
		}
		other := gtube
		if tt.pattern == gtube {
			other = eicar
		}
		if containsPattern(msg, HeaderEnd(msg), []byte(other)) {
			t.Errorf("%s: found a pattern that is not there", tt.file)
		}
	}
	// The verdicts themselves, for a scanning rule.
	for file, want := range map[string]Verdicts{
		"eicar-in-rfc822.eml":  {Virus: VerdictFail, Spam: VerdictPass},
		"gtube-in-qp-html.eml": {Virus: VerdictPass, Spam: VerdictFail},
	} {
		msg := readFixture(t, file)
		d := &delivery{data: msg, hdrEnd: HeaderEnd(msg)}
		if got := d.baseVerdicts(true); got.Virus != want.Virus || got.Spam != want.Spam {
			t.Errorf("%s: virus %s spam %s, want %s %s", file, got.Virus, got.Spam, want.Virus, want.Spam)
		}
	}
}

// commonHeaders carry the subject and the display names decoded, in the
// message's charset, as SES gives them; mail.headers keep them as written.
func TestCommonHeadersDecoded(t *testing.T) {
	for _, tt := range []struct {
		file, subject string
		from          []string
	}{
		{"iso-2022-jp-subject.eml", "会議の議事録", []string{"山田太郎 <taro@example.jp>"}},
		{"windows-1252-subject.eml", "“Café” – 5 € prices", []string{"Renée Müller <renee@example.org>"}},
	} {
		msg := readFixture(t, tt.file)
		m := newMailObject("id", time.Unix(0, 0), "a@example.org", msg[:HeaderEnd(msg)])
		if got := m.CommonHeaders.Subject; got == nil || *got != tt.subject {
			t.Errorf("%s: subject %v, want %q", tt.file, got, tt.subject)
		}
		if !slices.Equal(m.CommonHeaders.From, tt.from) {
			t.Errorf("%s: from %q, want %q", tt.file, m.CommonHeaders.From, tt.from)
		}
		for _, h := range m.Headers {
			if h.Name == "Subject" && !strings.HasPrefix(h.Value, "=?") {
				t.Errorf("%s: mail.headers Subject %q was decoded", tt.file, h.Value)
			}
		}
	}
	// The case on record (README, "not documented"): an encoded word in
	// quotes, which SES decodes and unquotes.
	m := newMailObject("id", time.Unix(0, 0), "a@example.org", []byte("From: \"=?US-ASCII?Q?HMRC_Business_Help_and_Support_Emails?=\" <no.reply@advice.hmrc.gov.uk>\r\nTo: Plain Name <p@example.com>, \"Doe, John\" <j@example.com>\r\n\r\n"))
	if want := []string{"HMRC Business Help and Support Emails <no.reply@advice.hmrc.gov.uk>"}; !slices.Equal(m.CommonHeaders.From, want) {
		t.Errorf("from %q, want %q", m.CommonHeaders.From, want)
	}
	if want := []string{"Plain Name <p@example.com>", `"Doe, John" <j@example.com>`}; !slices.Equal(m.CommonHeaders.To, want) {
		t.Errorf("to %q, want %q (as written)", m.CommonHeaders.To, want)
	}
	// A broken encoded word is kept as written.
	m = newMailObject("id", time.Unix(0, 0), "a@example.org", []byte("Subject: =?x-unknown?B?AAAA?= tail\r\n\r\n"))
	if got := m.CommonHeaders.Subject; got == nil || *got != "=?x-unknown?B?AAAA?= tail" {
		t.Errorf("undecodable subject = %v", got)
	}
}

// BenchmarkContainsPattern compares the hand-written fast path, taken for
// a message without an encoded part, with parsing it through go-message:
// the reason containsPattern keeps the raw search and the header test.
func BenchmarkContainsPattern(b *testing.B) {
	plain := []byte("From: a@example.org\r\nTo: b@example.com\r\nSubject: hello\r\n\r\n" + strings.Repeat("A line of an ordinary plain text message.\r\n", 200))
	nested := readFixture(b, "gtube-in-qp-html.eml")
	b.Run("plain/fast-path", func(b *testing.B) {
		for b.Loop() {
			containsPattern(plain, HeaderEnd(plain), []byte(eicar))
		}
	})
	b.Run("plain/go-message", func(b *testing.B) {
		for b.Loop() {
			e, _ := messageRead(plain)
			entityContains(e, []byte(eicar), 0)
		}
	})
	b.Run("nested/go-message", func(b *testing.B) {
		for b.Loop() {
			containsPattern(nested, HeaderEnd(nested), []byte(gtube))
		}
	})
}

func messageRead(b []byte) (*message.Entity, error) { return message.Read(bytes.NewReader(b)) }
