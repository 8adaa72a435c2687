package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	s3ec "github.com/aws/amazon-s3-encryption-client-go/v3/client"
	"github.com/aws/amazon-s3-encryption-client-go/v3/materials"
	s3ecv4 "github.com/aws/amazon-s3-encryption-client-go/v4/client"
	"github.com/aws/amazon-s3-encryption-client-go/v4/commitment"
	materialsv4 "github.com/aws/amazon-s3-encryption-client-go/v4/materials"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awsv1 "github.com/aws/aws-sdk-go/aws"
	credsv1 "github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	kmsv1 "github.com/aws/aws-sdk-go/service/kms"
	s3v1 "github.com/aws/aws-sdk-go/service/s3"
	"github.com/aws/aws-sdk-go/service/s3/s3crypto"
	"github.com/emersion/go-smtp"
)

func awsConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
}

func s3Client(url string) *s3.Client {
	return s3.NewFromConfig(awsConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(url)
		o.UsePathStyle = true
	})
}

func kmsClient(url string) *kms.Client {
	return kms.NewFromConfig(awsConfig(), func(o *kms.Options) { o.BaseEndpoint = aws.String(url) })
}

// getObject returns an object's bytes and metadata as stored.
func getObject(t *testing.T, url, bucket, key string) ([]byte, map[string]string) {
	t.Helper()
	out, err := s3Client(url).GetObject(t.Context(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("GetObject(%s/%s): %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, out.Metadata
}

// decryptV3 reads an object through the official Go S3 Encryption Client v3,
// configured as SES objects need: legacy wrapping enabled.
func decryptV3(ctx context.Context, url, keyID, bucket, key string) ([]byte, error) {
	kr := materials.NewKmsKeyring(kmsClient(url), keyID, func(o *materials.KeyringOptions) {
		o.EnableLegacyWrappingAlgorithms = true
	})
	cmm, err := materials.NewCryptographicMaterialsManager(kr)
	if err != nil {
		return nil, err
	}
	c, err := s3ec.New(s3Client(url), cmm)
	if err != nil {
		return nil, err
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// decryptV4 reads an object through the official Go S3 Encryption Client's
// current major, v4, configured for SES mail: legacy wrapping enabled (SES
// writes the "kms" wrap) and a commitment policy that allows decrypting
// AES-GCM without key commitment, REQUIRE_ENCRYPT_ALLOW_DECRYPT.
func decryptV4(ctx context.Context, url, keyID, bucket, key string) ([]byte, error) {
	return decryptV4With(ctx, s3Client(url), kmsClient(url), keyID, bucket, key, commitment.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
}

// decryptV4With is decryptV4 with the clients and the commitment policy
// given.
func decryptV4With(ctx context.Context, s3c *s3.Client, kmsc *kms.Client, keyID, bucket, key string, policy commitment.CommitmentPolicy) ([]byte, error) {
	kr := materialsv4.NewKmsKeyring(kmsc, keyID, func(o *materialsv4.KeyringOptions) {
		o.EnableLegacyWrappingAlgorithms = true
	})
	cmm, err := materialsv4.NewCryptographicMaterialsManager(kr)
	if err != nil {
		return nil, err
	}
	c, err := s3ecv4.New(s3c, cmm, func(o *s3ecv4.EncryptionClientOptions) {
		o.CommitmentPolicy = policy
	})
	if err != nil {
		return nil, err
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// decryptV1 reads an object through aws-sdk-go v1's s3crypto decryption
// client with a KMS wrap that takes any key (no KeyId sent to Decrypt).
func decryptV1(url, bucket, key string) ([]byte, error) {
	sess, err := session.NewSession(&awsv1.Config{
		Region:           awsv1.String("us-east-1"),
		Endpoint:         awsv1.String(url),
		S3ForcePathStyle: awsv1.Bool(true),
		Credentials:      credsv1.NewStaticCredentials("test", "test", ""),
	})
	if err != nil {
		return nil, err
	}
	cr := s3crypto.NewCryptoRegistry()
	if err := s3crypto.RegisterKMSWrapWithAnyCMK(cr, kmsv1.New(sess)); err != nil {
		return nil, err
	}
	if err := s3crypto.RegisterAESGCMContentCipher(cr); err != nil {
		return nil, err
	}
	c, err := s3crypto.NewDecryptionClientV2(sess, cr)
	if err != nil {
		return nil, err
	}
	out, err := c.GetObject(&s3v1.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// sendMail sends one message the way an MTA does and returns the message ID
// from the 250 reply.
//
// Every step has a deadline, so a stuck server fails the test in seconds,
// not at go test's timeout: the DATA reply may take the longest
// --deliver-timeout a test uses (the default, 30 s), the rest 10 s.
func sendMail(addr, from string, to []string, msg []byte) (string, error) {
	return sendMailWithin(addr, from, to, msg, 40*time.Second)
}

// sendMailWithin is sendMail with the deadline for the DATA reply.
func sendMailWithin(addr, from string, to []string, msg []byte, data time.Duration) (string, error) {
	text, err := sendMailReplyWithin(addr, from, to, msg, data)
	if err != nil {
		return "", err
	}
	return replyID(text)
}

// sendMailReply sends one message and returns the text of the 250 reply to
// its end of DATA, for servers other than sesinbound.
func sendMailReply(addr, from string, to []string, msg []byte) (string, error) {
	return sendMailReplyWithin(addr, from, to, msg, 40*time.Second)
}

func sendMailReplyWithin(addr, from string, to []string, msg []byte, data time.Duration) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "", err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout = 10 * time.Second
	c.SubmissionTimeout = data
	defer c.Close()
	if err := c.Hello("mta.example.org"); err != nil {
		return "", err
	}
	if err := c.Mail(from, nil); err != nil {
		return "", err
	}
	for _, rc := range to {
		if err := c.Rcpt(rc, nil); err != nil {
			return "", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write(msg); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	c.Quit()
	return resp.StatusText, nil
}

// replyID is the message ID in the text of SES's reply to the end of DATA,
// "OK <message id>" (after "250 ", as go-smtp's client gives it): upper
// case, no enhanced status code, a 40-character ID. Every test that reads
// an ID from a reply goes through here.
func replyID(text string) (string, error) {
	id, ok := strings.CutPrefix(text, "OK ")
	if !ok || len(id) != 40 || strings.ContainsAny(id, " \t") {
		return "", fmt.Errorf("end of DATA reply %q, want \"OK <40-character message id>\"", text)
	}
	return id, nil
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// mimeWithAttachment builds a multipart message with a text part holding a
// line that starts with a dot (it must survive dot-stuffing) and a binary
// attachment.
func mimeWithAttachment(t *testing.T) []byte {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	text, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"}})
	io.WriteString(text, "Hello from the e2e test.\r\n.this line starts with a dot\r\n..and this with two\r\n.\r\nend.\r\n")
	att, _ := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"application/octet-stream"},
		"Content-Disposition":       {`attachment; filename="data.bin"`},
		"Content-Transfer-Encoding": {"base64"},
	})
	raw := make([]byte, 3000)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	enc := []byte(strings.ReplaceAll(base64Lines(raw), "\n", "\r\n"))
	att.Write(enc)
	mw.Close()
	var msg bytes.Buffer
	msg.WriteString("From: Sender <sender@example.org>\r\n")
	msg.WriteString("To: inbox@example.com\r\n")
	msg.WriteString("Subject: e2e with attachment\r\n")
	msg.WriteString("Date: Mon, 23 Nov 2026 05:00:00 +0000\r\n")
	msg.WriteString("Message-ID: <e2e-1@example.org>\r\n")
	msg.WriteString("MIME-Version: 1.0\r\n")
	msg.WriteString("Content-Type: multipart/mixed; boundary=" + mw.Boundary() + "\r\n\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes()
}

func base64Lines(b []byte) string {
	s := base64Std(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	out.WriteString(s + "\n")
	return out.String()
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
