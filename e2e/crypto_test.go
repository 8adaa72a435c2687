package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/emersion/go-smtp"
)

// TestFreshIVAndDataKey sends 1,000 messages and reads back each object's
// envelope: every IV is 12 bytes, none is all zeros, no two are equal; and
// every data key, unwrapped by KMS Decrypt under the object's encryption
// context, is 32 bytes, not all zeros and used for that object only, as
// SES asks KMS for a new one per object.
func TestFreshIVAndDataKey(t *testing.T) {
	inst := start(t, nil)
	const total, conns = 1000, 4
	ids := make(chan string, total)
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			if err := sendMany(inst.SMTPAddr, total/conns, func(i int) []byte {
				return []byte(fmt.Sprintf("Subject: iv %d-%d\r\n\r\nsame body\r\n", w, i))
			}, ids); err != nil {
				t.Errorf("connection %d: %v", w, err)
			}
		}(w)
	}
	wg.Wait()
	close(ids)
	if t.Failed() {
		return
	}
	s, k := s3Client(inst.AWSURL), kmsClient(inst.AWSURL)
	ivs := map[string]string{}
	keys := map[string]string{}
	n := 0
	for id := range ids {
		n++
		head, err := s.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String(id)})
		if err != nil {
			t.Fatalf("HeadObject %s: %v", id, err)
		}
		iv, err := base64.StdEncoding.DecodeString(head.Metadata["x-amz-iv"])
		if err != nil || len(iv) != 12 {
			t.Fatalf("message %s: x-amz-iv %q is not 12 bytes of base64 (%v)", id, head.Metadata["x-amz-iv"], err)
		}
		if bytes.Equal(iv, make([]byte, 12)) {
			t.Fatalf("message %s: the IV is all zeros", id)
		}
		if other, dup := ivs[string(iv)]; dup {
			t.Fatalf("messages %s and %s share the IV %x", other, id, iv)
		}
		ivs[string(iv)] = id

		var encCtx map[string]string
		if err := json.Unmarshal([]byte(head.Metadata["x-amz-matdesc"]), &encCtx); err != nil {
			t.Fatalf("message %s: matdesc: %v", id, err)
		}
		blob, err := base64.StdEncoding.DecodeString(head.Metadata["x-amz-key-v2"])
		if err != nil {
			t.Fatal(err)
		}
		dk, err := k.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: encCtx})
		if err != nil {
			t.Fatalf("message %s: KMS Decrypt of x-amz-key-v2: %v", id, err)
		}
		if len(dk.Plaintext) != 32 || bytes.Equal(dk.Plaintext, make([]byte, 32)) {
			t.Fatalf("message %s: the data key is %d bytes, all zeros %v", id, len(dk.Plaintext), bytes.Equal(dk.Plaintext, make([]byte, 32)))
		}
		if other, dup := keys[string(dk.Plaintext)]; dup {
			t.Fatalf("messages %s and %s share a data key", other, id)
		}
		keys[string(dk.Plaintext)] = id
	}
	if n != total {
		t.Fatalf("checked %d messages, want %d", n, total)
	}
	// And the stored bytes decrypt: a sample through the official client
	// (the IV is what the ciphertext was sealed with).
	for _, id := range ivs {
		if _, err := decryptV1(inst.AWSURL, "ses-inbound", id); err != nil {
			t.Fatalf("decrypt %s: %v", id, err)
		}
		break
	}
}

// sendMany sends n messages over one SMTP connection, one transaction
// after another, and puts each ID on ids.
func sendMany(addr string, n int, msg func(i int) []byte, ids chan<- string) error {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = 10*time.Second, 40*time.Second
	defer c.Close()
	if err := c.Hello("mta.example.org"); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := c.Mail("a@example.org", nil); err != nil {
			return err
		}
		if err := c.Rcpt("b@example.com", nil); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(msg(i)); err != nil {
			return err
		}
		resp, err := w.CloseWithResponse()
		if err != nil {
			return err
		}
		id, err := replyID(resp.StatusText)
		if err != nil {
			return err
		}
		ids <- id
	}
	return c.Quit()
}
