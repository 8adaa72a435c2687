package receipt_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/receipt"
)

// BenchmarkDeliver is the pipeline's own cost per message, without SMTP:
// the built-in rule, a 10 KB message, the embedded KMS and S3 in memory.
func BenchmarkDeliver(b *testing.B) {
	rs := receipt.DefaultRules()
	s, _ := fakes.NewS3(fakes.WithBuckets("ses-inbound"))
	k, _ := fakes.NewKMS()
	p := receipt.NewProcessor(rs, &encrypt.Sealer{KMS: k}, s)
	msg := []byte("From: Sender <sender@example.org>\r\nTo: inbox@example.com\r\nSubject: bench\r\nMessage-ID: <b@example.org>\r\n\r\n" +
		strings.Repeat(strings.Repeat("x", 98)+"\r\n", 100))
	m := &receipt.Message{From: "sender@example.org", To: []string{"inbox@example.com"}, Data: msg,
		Client: receipt.Client{Addr: netip.MustParseAddr("127.0.0.1"), Helo: "bench"}}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Deliver(b.Context(), m); err != nil {
			b.Fatal(err)
		}
	}
}
