package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestBackendServers starts each real server the other tests can use, does
// one real operation against it and records how it behaves where SES
// objects and envelopes care.
func TestBackendServers(t *testing.T) {
	t.Run("local-kms", testLocalKMS)
	t.Run("local-kms-seeded", testLocalKMSSeeded)
	t.Run("versitygw", func(t *testing.T) {
		s := runVersityGW(t)
		roundTripObject(t, s)
		// Data survives a graceful restart and a crash, on the same port.
		s.Restart(t)
		checkObject(t, s, "after restart")
		s.Kill(t)
		if s.Running() {
			t.Fatal("still running after Kill")
		}
		s.Start(t)
		checkObject(t, s, "after kill and start")
	})
	t.Run("minio", func(t *testing.T) {
		s := runMinIO(t)
		roundTripObject(t, s)
		s.Restart(t)
		checkObject(t, s, "after restart")
	})
	t.Run("mailpit", func(t *testing.T) {
		m := runMailpit(t)
		msg := []byte("From: a@example.org\r\nTo: b@example.com\r\nSubject: harness\r\n\r\nhello\r\n")
		text, err := sendMailReply(m.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg)
		if err != nil {
			t.Fatalf("send to mailpit: %v", err)
		}
		t.Logf("mailpit 250 reply: %q", text)
		var list struct {
			Total    int
			Messages []struct {
				Subject string
				To      []struct{ Address string }
			}
		}
		getJSON(t, m.HTTPURL+"/api/v1/messages", &list)
		if list.Total != 1 || len(list.Messages) != 1 || list.Messages[0].Subject != "harness" {
			t.Fatalf("mailpit messages = %+v", list)
		}
		m.Restart(t)
		getJSON(t, m.HTTPURL+"/api/v1/messages", &list)
		if list.Total != 1 {
			t.Fatalf("after restart mailpit holds %d messages, want 1", list.Total)
		}
	})
}

const (
	harnessBucket = "harness-bucket"
	harnessKey    = "dir/object-1"
)

var (
	harnessBody = []byte("ciphertext-ish \x00\x01\x02 body")
	// What SES writes (x-amz-*) plus keys that show how case and other
	// names are kept.
	harnessMeta = map[string]string{
		"x-amz-unencrypted-content-length": "21",
		"x-amz-key-v2":                     "AQIDAHhPb3Jhbmdl+/=",
		"x-amz-iv":                         "AAAAAAAAAAAAAAAA",
		"x-amz-matdesc":                    `{"aws:ses:message-id":"abc","kms_cmk_id":"arn:aws:kms:us-east-1:111122223333:alias/aws/ses"}`,
		"x-amz-cek-alg":                    "AES/GCM/NoPadding",
		"x-amz-wrap-alg":                   "kms",
		"x-amz-tag-len":                    "128",
		"Mixed-Case":                       "Value With Spaces",
		"plain":                            "p",
	}
)

// roundTripObject creates a bucket, puts an object with SES-style user
// metadata and reads it back, logging which metadata keys survive.
func roundTripObject(t *testing.T, s *s3Server) {
	t.Helper()
	ctx := t.Context()
	c := s.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(harnessBucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:   aws.String(harnessBucket),
		Key:      aws.String(harnessKey),
		Body:     bytes.NewReader(harnessBody),
		Metadata: harnessMeta,
	})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	got := checkObject(t, s, "after put")

	var missing, changed []string
	for k, v := range harnessMeta {
		g, ok := got[strings.ToLower(k)]
		switch {
		case !ok:
			missing = append(missing, k)
		case g != v:
			changed = append(changed, k+": "+g)
		}
	}
	slices.Sort(missing)
	slices.Sort(changed)
	t.Logf("%s: GetObject metadata keys (SDK view): %v", s.Name, slices.Sorted(maps.Keys(got)))
	t.Logf("%s: metadata dropped: %v; changed: %v", s.Name, missing, changed)

	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(harnessBucket), Key: aws.String(harnessKey)})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	t.Logf("%s: HeadObject metadata keys: %v", s.Name, slices.Sorted(maps.Keys(head.Metadata)))

	// The header names as they are on the wire (net/http and the SDK
	// both rewrite their case).
	wire := wireHeaders(t, s)
	t.Logf("%s: x-amz-meta-* headers on the wire:\n  %s", s.Name, strings.Join(wire, "\n  "))
}

// checkObject reads the harness object and fails unless its body is intact.
func checkObject(t *testing.T, s *s3Server, when string) map[string]string {
	t.Helper()
	out, err := s.Client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(harnessBucket), Key: aws.String(harnessKey)})
	if err != nil {
		t.Fatalf("%s: GetObject %s: %v", s.Name, when, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, harnessBody) {
		t.Fatalf("%s: GetObject %s = %q, want %q", s.Name, when, b, harnessBody)
	}
	return out.Metadata
}

// wireHeaders does a GetObject through a connection that records what it
// reads and returns the raw x-amz-meta-* header lines.
func wireHeaders(t *testing.T, s *s3Server) []string {
	t.Helper()
	var mu sync.Mutex
	var raw bytes.Buffer
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &recordConn{Conn: c, mu: &mu, w: &raw}, nil
		},
	}
	defer tr.CloseIdleConnections()
	c := s3.NewFromConfig(awsClientConfig(s.AccessKey, s.SecretKey), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
		o.HTTPClient = &http.Client{Transport: tr}
	})
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(harnessBucket), Key: aws.String(harnessKey)})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	io.Copy(io.Discard, out.Body)
	out.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(raw.Bytes()))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if len(line) > 11 && strings.EqualFold(line[:11], "x-amz-meta-") {
			lines = append(lines, line)
		}
	}
	slices.Sort(lines)
	return lines
}

type recordConn struct {
	net.Conn
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (c *recordConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.w.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}

func testLocalKMS(t *testing.T) {
	k := runLocalKMS(t, localKMSOptions{})
	ctx := t.Context()
	c := kmsClient(k.Endpoint)
	key, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("harness")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	t.Logf("local-kms: CreateKey ARN %s", keyARN)
	if want := "arn:aws:kms:us-east-1:111122223333:key/"; !strings.HasPrefix(keyARN, want) {
		t.Errorf("key ARN %s does not start with %s", keyARN, want)
	}
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/x"), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatalf("CreateAlias alias/x: %v", err)
	}
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/aws/ses"), TargetKeyId: key.KeyMetadata.KeyId})
	t.Logf("local-kms: CreateAlias alias/aws/ses: %v", errOr(err, "accepted"))

	ec := map[string]string{"aws:ses:message-id": "abc", "aws:ses:rule-name": "r", "kms_cmk_id": "alias/x"}
	for _, id := range []string{"alias/x", "arn:aws:kms:us-east-1:111122223333:alias/x"} {
		dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(id), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: ec})
		if err != nil {
			t.Fatalf("GenerateDataKey %s: %v", id, err)
		}
		t.Logf("local-kms: GenerateDataKey(%s) -> KeyId %s, blob %d bytes", id, aws.ToString(dk.KeyId), len(dk.CiphertextBlob))
		if aws.ToString(dk.KeyId) != keyARN {
			t.Errorf("GenerateDataKey KeyId = %s, want %s", aws.ToString(dk.KeyId), keyARN)
		}

		try := func(what string, in *kms.DecryptInput) error {
			in.CiphertextBlob = dk.CiphertextBlob
			out, err := c.Decrypt(ctx, in)
			if err == nil && !bytes.Equal(out.Plaintext, dk.Plaintext) {
				t.Errorf("Decrypt %s returned another plaintext", what)
			}
			t.Logf("local-kms: Decrypt %s: %v", what, errOr(err, "ok"))
			return err
		}
		if err := try("with the context", &kms.DecryptInput{EncryptionContext: ec}); err != nil {
			t.Fatalf("Decrypt with the right context failed: %v", err)
		}
		if err := try("with the context and KeyId=alias ARN", &kms.DecryptInput{EncryptionContext: ec, KeyId: aws.String("arn:aws:kms:us-east-1:111122223333:alias/x")}); err != nil {
			t.Errorf("Decrypt with KeyId alias ARN: %v", err)
		}
		noCtx := try("without the context", &kms.DecryptInput{})
		other := maps.Clone(ec)
		other["aws:ses:rule-name"] = "other"
		wrongCtx := try("with a changed context", &kms.DecryptInput{EncryptionContext: other})
		t.Logf("local-kms enforces the encryption context: without=%v changed=%v", noCtx != nil, wrongCtx != nil)
		if noCtx == nil || wrongCtx == nil {
			t.Errorf("local-kms does not enforce the encryption context")
		}
	}

	// Keys survive a restart (same data dir, same port).
	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/x"), KeySpec: kmstypes.DataKeySpecAes256})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	k.Restart(t)
	t.Logf("local-kms restart took %v", time.Since(start).Round(time.Millisecond))
	out, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob})
	if err != nil || !bytes.Equal(out.Plaintext, dk.Plaintext) {
		t.Fatalf("Decrypt after restart: %v", err)
	}
}

// testLocalKMSSeeded shows the way to get alias/aws/ses in local-kms: a seed
// file, since CreateAlias refuses the alias/aws/ prefix.
func testLocalKMSSeeded(t *testing.T) {
	const keyID = "bc436485-5092-42b8-92a3-0aa8b93536dc"
	k := runLocalKMS(t, localKMSOptions{
		AccountID: "000000000000",
		Seed: `Keys:
  Symmetric:
    Aes:
      - Metadata:
          KeyId: ` + keyID + `
        BackingKeys:
          - 5cdaead27fe7da2de47945d73cd6d79e36494e73802f3cd3869f1d2cb0b5d7a9
Aliases:
  - AliasName: alias/aws/ses
    TargetKeyId: ` + keyID + `
`,
	})
	ctx := t.Context()
	c := kmsClient(k.Endpoint)
	const alias = "arn:aws:kms:us-east-1:000000000000:alias/aws/ses"
	d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	if err != nil {
		t.Fatalf("DescribeKey %s: %v", alias, err)
	}
	t.Logf("local-kms seeded: %s -> %s", alias, aws.ToString(d.KeyMetadata.Arn))
	ec := map[string]string{"aws:ses:message-id": "abc"}
	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(alias), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil {
		t.Fatalf("GenerateDataKey via seeded alias/aws/ses: %v", err)
	}
	out, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec, KeyId: aws.String(alias)})
	if err != nil || !bytes.Equal(out.Plaintext, dk.Plaintext) {
		t.Fatalf("Decrypt with KeyId=%s: %v", alias, err)
	}
	// Seeding again on restart must not fail on the existing key/alias.
	k.Restart(t)
	if _, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/ses")}); err != nil {
		t.Fatalf("DescribeKey after restart: %v", err)
	}
}
