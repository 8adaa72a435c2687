package receipt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	mathrand "math/rand/v2"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/receipt"
)

const testRules = `
AccountId: "111122223333"
Rules:
  - Name: vip
    Enabled: true
    Recipients: [boss@example.com]
    Actions:
      - S3Action: {BucketName: vip-mail, ObjectKeyPrefix: vip, KmsKeyArn: "arn:aws:kms:us-east-1:111122223333:alias/aws/ses"}
      - StopAction: {Scope: RuleSet}
  - Name: archive
    Enabled: true
    ScanEnabled: true
    Recipients: [example.com]
    Actions:
      - S3Action: {BucketName: archive, ObjectKeyPrefix: all/, KmsKeyArn: "arn:aws:kms:us-east-1:111122223333:alias/aws/ses"}
      - S3Action: {BucketName: archive, ObjectKeyPrefix: plain}
  - Name: never
    Enabled: true
    Actions:
      - S3Action: {BucketName: archive, ObjectKeyPrefix: never}
`

type env struct {
	proc *receipt.Processor
	s3   *fakes.S3
	kms  *fakes.KMS
}

func newEnv(t *testing.T, rules string, store receipt.ObjectStore) *env {
	t.Helper()
	rs, err := receipt.ParseRules(strings.NewReader(rules), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := fakes.NewS3(fakes.WithBuckets("vip-mail", "archive"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := fakes.NewKMS(fakes.WithKMSAccount("us-east-1", "111122223333"))
	if err != nil {
		t.Fatal(err)
	}
	if store == nil {
		store = s
	}
	p := receipt.NewProcessor(rs, &encrypt.Sealer{KMS: k}, store)
	p.Now = func() time.Time { return time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC) }
	return &env{proc: p, s3: s, kms: k}
}

func (e *env) object(t *testing.T, bucket, key string) ([]byte, map[string]string) {
	t.Helper()
	out, err := e.s3.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("object %s/%s: %v", bucket, key, err)
	}
	b, _ := io.ReadAll(out.Body)
	return b, out.Metadata
}

var message = []byte("From: Sender <sender@example.org>\r\nTo: boss@example.com\r\nSubject: plan\r\n\r\nthe plan\r\n")

func testMessage(to ...string) *receipt.Message {
	return &receipt.Message{From: "sender@example.org", To: to, Data: message,
		Client: receipt.Client{Addr: netip.MustParseAddr("192.0.2.7"), Helo: "mx.example.org"}}
}

func TestDeliverRulesInOrder(t *testing.T) {
	e := newEnv(t, testRules, nil)
	res, err := e.proc.Deliver(t.Context(), testMessage("staff@example.com", "boss@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	// vip matches boss only and stops the rule set: archive never runs.
	if len(res.Rules) != 1 || res.Rules[0].Name != "vip" || strings.Join(res.Rules[0].Recipients, ",") != "boss@example.com" {
		t.Fatalf("rules that ran = %+v", res.Rules)
	}
	if got := res.Rules[0].Actions; len(got) != 2 || got[0].Key != "vip/"+res.MessageID || got[1].Type != "StopAction" {
		t.Fatalf("actions = %+v", got)
	}
	ct, meta := e.object(t, "vip-mail", "vip/"+res.MessageID)
	plain, err := encrypt.Open(t.Context(), e.kms, meta, ct)
	if err != nil {
		t.Fatal(err)
	}
	var matdesc map[string]string
	json.Unmarshal([]byte(meta[encrypt.MetaMatDesc]), &matdesc)
	want := map[string]string{"aws:ses:message-id": res.MessageID, "aws:ses:rule-name": "vip",
		"aws:ses:source-account": "111122223333", "kms_cmk_id": "arn:aws:kms:us-east-1:111122223333:alias/aws/ses"}
	if !maps.Equal(matdesc, want) {
		t.Errorf("matdesc = %v, want %v", matdesc, want)
	}
	if !bytes.HasSuffix(plain, message) || !bytes.Contains(plain, []byte("with SMTP id "+res.MessageID+"\r\n for boss@example.com;")) {
		t.Errorf("stored message:\n%s", plain)
	}
	if bytes.Contains(plain, []byte("X-SES-Spam-Verdict")) {
		t.Errorf("verdict headers for a rule without ScanEnabled")
	}
}

func TestDeliverEveryMatchingRule(t *testing.T) {
	e := newEnv(t, testRules, nil)
	res, err := e.proc.Deliver(t.Context(), testMessage("staff@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rules) != 2 || res.Rules[0].Name != "archive" || res.Rules[1].Name != "never" {
		t.Fatalf("rules that ran = %+v", res.Rules)
	}
	ct, meta := e.object(t, "archive", "all/"+res.MessageID)
	plain, err := encrypt.Open(t.Context(), e.kms, meta, ct)
	if err != nil {
		t.Fatal(err)
	}
	stored, plainMeta := e.object(t, "archive", "plain/"+res.MessageID)
	if len(plainMeta) != 0 || !bytes.Equal(stored, plain) {
		t.Errorf("the plain copy differs from the encrypted one, or has metadata %v", plainMeta)
	}
	if !bytes.Contains(plain, []byte("X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n")) {
		t.Errorf("a ScanEnabled rule stored no verdict headers:\n%s", plain)
	}
	if _, err := e.s3.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("archive"), Key: aws.String("never/" + res.MessageID)}); err != nil {
		t.Errorf("the catch-all rule did not store: %v", err)
	}
}

type failingStore struct{ err error }

func (f failingStore) PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return nil, f.err
}

func TestDeliverStoreFailure(t *testing.T) {
	boom := &smithy.GenericAPIError{Code: "NoSuchBucket", Message: "gone"}
	e := newEnv(t, testRules, failingStore{boom})
	var logs bytes.Buffer
	e.proc.Log = slog.New(slog.NewTextHandler(&logs, nil))
	res, err := e.proc.Deliver(t.Context(), testMessage("boss@example.com"))
	if !errors.Is(err, boom) || errors.Is(err, receipt.ErrNoMatchingRule) {
		t.Fatalf("Deliver() = %v, want the store's error, not a refusal", err)
	}
	// The error is returned, and logged once by whoever maps it to a reply
	// (smtpd), not here as well.
	if logs.Len() > 0 {
		t.Errorf("Deliver logged a failure it returns:\n%s", logs.String())
	}
	if res == nil || len(res.Rules) != 1 || res.Rules[0].Actions[0].Error == "" {
		t.Fatalf("the failure is not recorded: %+v", res)
	}
}

func TestAcceptsRecipient(t *testing.T) {
	e := newEnv(t, strings.Replace(testRules, "  - Name: never\n    Enabled: true\n", "  - Name: never\n    Enabled: false\n", 1), nil)
	if err := e.proc.AcceptsRecipient(t.Context(), nil, "a@example.com", receipt.Client{}); err != nil {
		t.Errorf("a@example.com: %v", err)
	}
	if err := e.proc.AcceptsRecipient(t.Context(), nil, "a@example.net", receipt.Client{}); !errors.Is(err, receipt.ErrNoMatchingRule) {
		t.Errorf("a@example.net = %v, want ErrNoMatchingRule", err)
	}
}

func TestObjectKey(t *testing.T) {
	for _, tt := range []struct{ prefix, want string }{
		{"", "ID"},
		{"emails/", "emails/ID"},
		{"email/produccion/inbox", "email/produccion/inbox/ID"},
	} {
		if got := receipt.ObjectKey(tt.prefix, "ID"); got != tt.want {
			t.Errorf("ObjectKey(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

func TestWriteSetupNotifications(t *testing.T) {
	e := newEnv(t, testRules, nil)
	if err := e.proc.WriteSetupNotifications(t.Context()); err != nil {
		t.Fatal(err)
	}
	ct, meta := e.object(t, "vip-mail", "vip/AMAZON_SES_SETUP_NOTIFICATION")
	plain, err := encrypt.Open(t.Context(), e.kms, meta, ct)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(plain, []byte("Date: Mon, 23 Nov 2026 05:00:00 +0000\r\nTo: recipient@example.com\r\n")) ||
		!bytes.Contains(plain, []byte("Subject: Amazon SES Setup Notification\r\n\r\nHello,\r\n")) {
		t.Errorf("setup notification:\n%s", plain)
	}
	if !strings.Contains(meta[encrypt.MetaMatDesc], `"aws:ses:message-id":"AMAZON_SES_SETUP_NOTIFICATION"`) {
		t.Errorf("matdesc = %s", meta[encrypt.MetaMatDesc])
	}
	if body, meta := e.object(t, "archive", "plain/AMAZON_SES_SETUP_NOTIFICATION"); len(meta) != 0 || !bytes.HasPrefix(body, []byte("Date: ")) {
		t.Errorf("plain setup notification: %q %v", body, meta)
	}
}

// A message handed over in a frame (room for SES's headers before it and
// the tag after it) is stored exactly as a message handed over bare, with
// headers added and in-place encryption, and a frame too small for the
// headers falls back to a copy.
var receiptOrDKIM = regexp.MustCompile(`(?m)^(X-SES-RECEIPT|X-SES-DKIM-SIGNATURE): .*`)

func TestDeliverFramed(t *testing.T) {
	const rules = `
AccountId: "111122223333"
Rules:
  - Name: tagged
    Enabled: true
    Actions:
      - AddHeaderAction: {HeaderName: X-Tenant, HeaderValue: blue}
      - S3Action: {BucketName: archive, ObjectKeyPrefix: plain/}
      - S3Action: {BucketName: archive, ObjectKeyPrefix: sealed/, KmsKeyArn: "arn:aws:kms:us-east-1:111122223333:alias/aws/ses"}
`
	stored := func(t *testing.T, headroom int) (plain, sealed []byte) {
		t.Helper()
		e := newEnv(t, rules, nil)
		msg := testMessage("boss@example.com")
		if headroom >= 0 {
			frame := make([]byte, headroom, headroom+len(message)+receipt.FrameTailroom)
			frame = append(frame, message...)
			msg.Frame = receipt.NewFrame(frame, headroom)
			msg.Data = msg.Frame.Bytes()
		}
		res, err := e.proc.Deliver(t.Context(), msg)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ = e.object(t, "archive", "plain/"+res.MessageID)
		ct, meta := e.object(t, "archive", "sealed/"+res.MessageID)
		if sealed, err = encrypt.Open(t.Context(), e.kms, meta, ct); err != nil {
			t.Fatal(err)
		}
		// The message ID, X-SES-RECEIPT and the DKIM signature differ
		// per run; compare with them blanked.
		blank := func(b []byte) []byte {
			b = bytes.ReplaceAll(b, []byte(res.MessageID), []byte("ID"))
			return receiptOrDKIM.ReplaceAll(b, []byte("$1: ..."))
		}
		return blank(plain), blank(sealed)
	}
	wantPlain, wantSealed := stored(t, -1)
	if !bytes.Contains(wantPlain, []byte("X-Tenant: blue\r\n\r\nthe plan")) || !bytes.Equal(wantPlain, wantSealed) {
		t.Fatalf("bare message stored as\n%s\nand sealed as\n%s", wantPlain, wantSealed)
	}
	for _, headroom := range []int{receipt.FrameHeadroom, 10} {
		plain, sealed := stored(t, headroom)
		if !bytes.Equal(plain, wantPlain) || !bytes.Equal(sealed, wantSealed) {
			t.Errorf("headroom %d: stored\n%s\nsealed\n%s\nwant\n%s", headroom, plain, sealed, wantPlain)
		}
	}
}

// TestDeterministicWithFixedRand: with a fixed Rand and clock, the
// message ID and the DSN (its boundary and Message-ID included) are the
// same on every run.
func TestDeterministicWithFixedRand(t *testing.T) {
	const rules = `
Rules:
  - Name: refuse
    Enabled: true
    Recipients: [example.com]
    Actions:
      - BounceAction: {SmtpReplyCode: "550", StatusCode: "5.1.1", Message: "no such user", Sender: "postmaster@example.com"}
`
	run := func() (string, string) {
		e := newEnv(t, rules, nil)
		e.proc.Rand = &lockedReader{r: mathrand.NewChaCha8([32]byte{3})}
		res, err := e.proc.Deliver(t.Context(), testMessage("nobody@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Bounces) != 1 {
			t.Fatalf("bounces = %+v", res.Bounces)
		}
		return res.MessageID, res.Bounces[0].DSN
	}
	id1, dsn1 := run()
	id2, dsn2 := run()
	if id1 != id2 || dsn1 != dsn2 {
		t.Fatalf("runs differ with the same Rand:\n%s\n%s\n---\n%s\n%s", id1, dsn1, id2, dsn2)
	}
	if !regexp.MustCompile(`boundary="sesinbound-[0-9a-f]{24}"`).MatchString(dsn1) ||
		!regexp.MustCompile(`Message-ID: <[0-9a-f]{24}@inbound-smtp\.us-east-1\.amazonaws\.com>`).MatchString(dsn1) {
		t.Fatalf("DSN lacks its boundary or Message-ID:\n%s", dsn1)
	}
}

// lockedReader makes a deterministic reader safe for concurrent use, as
// Processor.Rand must be.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}
