package receipt_test

import (
	"bytes"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/receipt"
)

// FuzzMessage runs any message through the real pipeline (rules, SES's
// headers, KMS, AES-GCM, S3, all with the in-memory fakes), both ways a
// message is stored: one rule encrypting it in its own frame, and two
// rules each storing a copy. Every stored object must decrypt, and the
// stored mail must end with the bytes sent (less the X-SESInbound-*
// control headers, which are removed; such messages are checked to end
// with their body).
func FuzzMessage(f *testing.F) {
	f.Add([]byte("From: A <a@example.org>\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"))
	f.Add([]byte("X-SESInbound-Spam-Verdict: FAIL\r\n folded\r\nSubject: x\n\nbare LF"))
	f.Add([]byte("\r\nno headers"))
	f.Add([]byte("Received: from a\r\n\tby b\r\nno colon here\r\n: empty name\r\n\r\n"))
	f.Add([]byte("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n!!\r\n--b--\r\n"))
	f.Add([]byte("Subject: spam\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"))
	const one = `
AccountId: "111122223333"
Rules:
  - Name: one
    Enabled: true
    ScanEnabled: true
    Actions:
      - S3Action: {BucketName: vip-mail, KmsKeyArn: "arn:aws:kms:us-east-1:111122223333:alias/aws/ses"}
`
	const two = `
AccountId: "111122223333"
Rules:
  - Name: encrypted
    Enabled: true
    Actions:
      - S3Action: {BucketName: vip-mail, ObjectKeyPrefix: enc, KmsKeyArn: "arn:aws:kms:us-east-1:111122223333:alias/aws/ses"}
  - Name: plain
    Enabled: true
    Actions:
      - S3Action: {BucketName: archive, ObjectKeyPrefix: plain/}
`
	s3f, err := fakes.NewS3(fakes.WithBuckets("vip-mail", "archive"))
	if err != nil {
		f.Fatal(err)
	}
	kmsf, err := fakes.NewKMS(fakes.WithKMSAccount("us-east-1", "111122223333"))
	if err != nil {
		f.Fatal(err)
	}
	var procs []*receipt.Processor
	for _, rules := range []string{one, two} {
		rs, err := receipt.ParseRules(strings.NewReader(rules), "rules.yaml")
		if err != nil {
			f.Fatal(err)
		}
		procs = append(procs, receipt.NewProcessor(rs, &encrypt.Sealer{KMS: kmsf}, s3f))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) == 0 {
			return // SMTP cannot carry an empty message: the DATA terminator ends at least one line
		}
		want := msg
		if bytes.Contains(bytes.ToLower(msg), []byte("x-sesinbound-")) {
			// Control headers are removed; what follows the header block
			// (by the simplest reading: the first empty line) is kept.
			if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
				want = msg[i+4:]
			} else if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
				want = msg[i+2:]
			} else {
				want = nil
			}
		}
		for i, p := range procs {
			buf := make([]byte, receipt.FrameHeadroom+len(msg), receipt.FrameHeadroom+len(msg)+receipt.FrameTailroom)
			copy(buf[receipt.FrameHeadroom:], msg)
			frame := receipt.NewFrame(buf, receipt.FrameHeadroom)
			m := &receipt.Message{From: "sender@example.org", To: []string{"user@example.com"}, Data: frame.Bytes(), Frame: frame,
				Client: receipt.Client{Addr: netip.MustParseAddr("192.0.2.7"), Helo: "mx.example.org"}}
			if i == 1 {
				m.Data, m.Frame = bytes.Clone(msg), nil // the unframed path
			}
			res, err := p.Deliver(t.Context(), m)
			if err != nil {
				t.Fatalf("rule set %d: Deliver: %v", i, err)
			}
			stored := 0
			for _, r := range res.Rules {
				for _, a := range r.Actions {
					if a.Type != "S3Action" {
						continue
					}
					out, err := s3f.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(a.Bucket), Key: aws.String(a.Key)})
					if err != nil {
						t.Fatalf("rule set %d: %s/%s: %v", i, a.Bucket, a.Key, err)
					}
					body, _ := io.ReadAll(out.Body)
					out.Body.Close()
					plain := body
					if encrypt.IsEnvelope(out.Metadata) {
						if plain, err = encrypt.Open(t.Context(), kmsf, out.Metadata, body); err != nil {
							t.Fatalf("rule set %d: %s/%s does not decrypt: %v", i, a.Bucket, a.Key, err)
						}
					}
					if !bytes.HasSuffix(plain, want) {
						t.Fatalf("rule set %d: the stored mail (%d bytes) does not end with the %d bytes sent:\n%q", i, len(plain), len(want), plain)
					}
					if !bytes.HasPrefix(plain, []byte("Return-Path: <sender@example.org>\r\n")) {
						t.Fatalf("rule set %d: the stored mail does not start with SES's headers:\n%q", i, plain)
					}
					stored++
				}
			}
			if stored != i+1 {
				t.Fatalf("rule set %d stored %d objects, want %d", i, stored, i+1)
			}
		}
	})
}
