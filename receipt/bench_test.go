package receipt_test

import (
	"fmt"
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
	p, m := benchSetup(b, receipt.DefaultRules())
	b.SetBytes(int64(len(m.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Deliver(b.Context(), m); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSetup returns a processor for rs over the embedded KMS and S3 in
// memory, and a 10 KB message to inbox@example.com.
func benchSetup(b *testing.B, rs *receipt.RuleSet) (*receipt.Processor, *receipt.Message) {
	s, err := fakes.NewS3(fakes.WithBuckets("ses-inbound"))
	if err != nil {
		b.Fatal(err)
	}
	k, err := fakes.NewKMS()
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte("From: Sender <sender@example.org>\r\nTo: inbox@example.com\r\nSubject: bench\r\nMessage-ID: <b@example.org>\r\n\r\n" +
		strings.Repeat(strings.Repeat("x", 98)+"\r\n", 100))
	return receipt.NewProcessor(rs, &encrypt.Sealer{KMS: k}, s), &receipt.Message{From: "sender@example.org", To: []string{"inbox@example.com"},
		Data: msg, Client: receipt.Client{Addr: netip.MustParseAddr("127.0.0.1"), Helo: "bench"}}
}

// BenchmarkDeliverRuleSetSize is Deliver with a rule set of 1 and of 200
// rules of 100 recipients each, the message going to the last rule: the
// recipient index keeps the two alike.
func BenchmarkDeliverRuleSetSize(b *testing.B) {
	for _, n := range []int{1, 200} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			var src strings.Builder
			src.WriteString("Rules:\n")
			for i := range n {
				fmt.Fprintf(&src, "  - Name: rule-%03d\n    Enabled: true\n    Recipients:\n", i)
				for j := range 99 {
					fmt.Fprintf(&src, "      - user%d@dept%d.example-%d.com\n", j, j%7, i)
				}
				last := fmt.Sprintf("user%d-99@example.com", i)
				if i == n-1 {
					last = "inbox@example.com"
				}
				fmt.Fprintf(&src, "      - %s\n    Actions:\n      - S3Action: {BucketName: ses-inbound, KmsKeyArn: \"arn:aws:kms:us-east-1:000000000000:alias/aws/ses\"}\n", last)
			}
			rs, err := receipt.ParseRules(strings.NewReader(src.String()), "rules.yaml")
			if err != nil {
				b.Fatal(err)
			}
			p, m := benchSetup(b, rs)
			b.ReportAllocs()
			for b.Loop() {
				if err := p.AcceptsRecipient(b.Context(), nil, "inbox@example.com", m.Client); err != nil {
					b.Fatal(err)
				}
				if _, err := p.Deliver(b.Context(), m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
