package e2e

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/amazon-s3-encryption-client-go/v4/commitment"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const defaultKey = "arn:aws:kms:us-east-1:000000000000:alias/aws/ses"

// TestStoreAndDecrypt is the user's first run: the built-in rule, a MIME
// mail with an attachment, the object SES would write, and two official
// decryptors plus `sesinbound decrypt` all giving back the stored bytes.
func TestStoreAndDecrypt(t *testing.T) {
	inst := start(t, nil)
	msg := mimeWithAttachment(t)
	id, err := sendMail(inst.SMTPAddr, "sender@example.org", []string{"inbox@example.com"}, msg)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if len(id) != 40 {
		t.Fatalf("250 reply carries %q, want a 40-character message ID", id)
	}

	ciphertext, meta := getObject(t, inst.AWSURL, "ses-inbound", id)
	wantKeys := []string{"x-amz-cek-alg", "x-amz-iv", "x-amz-key-v2", "x-amz-matdesc", "x-amz-tag-len", "x-amz-unencrypted-content-length", "x-amz-wrap-alg"}
	if got := slices.Sorted(maps.Keys(meta)); !slices.Equal(got, wantKeys) {
		t.Fatalf("metadata keys = %v, want %v", got, wantKeys)
	}
	if meta["x-amz-wrap-alg"] != "kms" || meta["x-amz-cek-alg"] != "AES/GCM/NoPadding" || meta["x-amz-tag-len"] != "128" {
		t.Errorf("metadata = %v", meta)
	}
	var matdesc map[string]string
	if err := json.Unmarshal([]byte(meta["x-amz-matdesc"]), &matdesc); err != nil {
		t.Fatal(err)
	}
	wantCtx := map[string]string{
		"aws:ses:message-id":     id,
		"aws:ses:rule-name":      "store-all",
		"aws:ses:source-account": "000000000000",
		"kms_cmk_id":             defaultKey,
	}
	if !maps.Equal(matdesc, wantCtx) {
		t.Errorf("matdesc = %v, want %v", matdesc, wantCtx)
	}

	v3, err := decryptV3(t.Context(), inst.AWSURL, defaultKey, "ses-inbound", id)
	if err != nil {
		t.Fatalf("S3EC v3: %v", err)
	}
	v1, err := decryptV1(inst.AWSURL, "ses-inbound", id)
	if err != nil {
		t.Fatalf("s3crypto v1: %v", err)
	}
	if !bytes.Equal(v1, v3) {
		t.Fatalf("the two official clients disagree")
	}
	// S3EC v4 decrypts SES mail with legacy wrapping on and a commitment
	// policy that allows AES-GCM without key commitment; its default,
	// REQUIRE_ENCRYPT_REQUIRE_DECRYPT, refuses, as it refuses real SES mail.
	for _, p := range []commitment.CommitmentPolicy{commitment.REQUIRE_ENCRYPT_ALLOW_DECRYPT, commitment.FORBID_ENCRYPT_ALLOW_DECRYPT} {
		v4, err := decryptV4With(t.Context(), s3Client(inst.AWSURL), kmsClient(inst.AWSURL), defaultKey, "ses-inbound", id, p)
		if err != nil || !bytes.Equal(v4, v3) {
			t.Fatalf("S3EC v4 with %v: %v (equal %v)", p, err, bytes.Equal(v4, v3))
		}
	}
	if _, err := decryptV4With(t.Context(), s3Client(inst.AWSURL), kmsClient(inst.AWSURL), defaultKey, "ses-inbound", id, commitment.REQUIRE_ENCRYPT_REQUIRE_DECRYPT); err == nil ||
		!strings.Contains(err.Error(), "does not support key commitment") {
		t.Fatalf("S3EC v4 with its default policy = %v, want a refusal naming key commitment", err)
	}
	if len(ciphertext) != len(v3)+16 || meta["x-amz-unencrypted-content-length"] != strconv.Itoa(len(v3)) {
		t.Errorf("object is %d bytes, plaintext %d, unencrypted-content-length %s", len(ciphertext), len(v3), meta["x-amz-unencrypted-content-length"])
	}
	// What is stored: SES's headers, then the message exactly as sent.
	if !bytes.HasSuffix(v3, msg) {
		t.Fatalf("the stored message does not end with the message as sent")
	}
	sesHeaders := string(v3[:len(v3)-len(msg)])
	for _, want := range []string{
		"Return-Path: <sender@example.org>\r\nReceived: from mta.example.org (localhost [127.0.0.1])\r\n by inbound-smtp.us-east-1.amazonaws.com with SMTP id " + id + "\r\n for inbox@example.com;\r\n",
		"\r\nReceived-SPF: pass (spfCheck: domain of example.org designates 127.0.0.1 as permitted sender)",
		"\r\nAuthentication-Results: amazonses.com;\r\n spf=pass",
		"\r\nX-SES-RECEIPT: AEFBQUFBQUFBQUF",
		"\r\nX-SES-DKIM-SIGNATURE: a=rsa-sha256; q=dns/txt; b=",
	} {
		if !strings.Contains(sesHeaders, want) {
			t.Errorf("SES headers lack %q:\n%s", want, sesHeaders)
		}
	}
	if !strings.HasPrefix(sesHeaders, "Return-Path:") || !strings.HasSuffix(sesHeaders, "X-SES-RECEIPT;\r\n") {
		t.Errorf("SES headers are not a block of their own:\n%s", sesHeaders)
	}

	out, stderr, code := runCmd(t, nil, "decrypt", "--aws-addr", strings.TrimPrefix(inst.AWSURL, "http://"), "s3://ses-inbound/"+id)
	if code != 0 || out != string(v3) {
		t.Fatalf("sesinbound decrypt: exit %d, equal %v\n%s", code, out == string(v3), stderr)
	}
	// The standard variable works too.
	out, stderr, code = runCmd(t, []string{"AWS_ENDPOINT_URL=" + inst.AWSURL}, "decrypt", "s3://ses-inbound/"+id)
	if code != 0 || out != string(v3) {
		t.Fatalf("AWS_ENDPOINT_URL sesinbound decrypt: exit %d\n%s", code, stderr)
	}

	// The data key is bound to the encryption context: change it and KMS
	// refuses.
	blob := mustB64(t, meta["x-amz-key-v2"])
	tampered := maps.Clone(wantCtx)
	tampered["aws:ses:rule-name"] = "other-rule"
	_, err = kmsClient(inst.AWSURL).Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: tampered})
	if err == nil || !strings.Contains(err.Error(), "InvalidCiphertextException") {
		t.Fatalf("Decrypt with a tampered context = %v, want InvalidCiphertextException", err)
	}
	if _, err := kmsClient(inst.AWSURL).Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: blob}); err == nil {
		t.Fatalf("Decrypt without the context succeeded")
	}

	// The setup notification sits at the root of the bucket.
	setup, _ := getObject(t, inst.AWSURL, "ses-inbound", "AMAZON_SES_SETUP_NOTIFICATION")
	if len(setup) == 0 {
		t.Errorf("no AMAZON_SES_SETUP_NOTIFICATION")
	}
	plainSetup, stderr, code := runCmd(t, nil, "decrypt", "--aws-addr", strings.TrimPrefix(inst.AWSURL, "http://"), "s3://ses-inbound/AMAZON_SES_SETUP_NOTIFICATION")
	if code != 0 || !strings.Contains(plainSetup, "Subject: Amazon SES Setup Notification\r\n") {
		t.Errorf("decrypt setup notification: exit %d: %s %s", code, plainSetup, stderr)
	}

	// Nothing secret reaches the log.
	if strings.Contains(inst.log.String(), "this line starts with a dot") {
		t.Errorf("the log contains the message body:\n%s", inst.log)
	}
}

func TestUnmatchedRecipient(t *testing.T) {
	rules := writeFile(t, "rules.yaml", `
Rules:
  - Name: only-example
    Enabled: true
    Recipients: [example.com]
    Actions:
      - S3Action: {BucketName: inbound-mail, ObjectKeyPrefix: mail}
`)
	inst := start(t, nil, "--config", rules)
	_, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"someone@example.net"}, []byte("Subject: x\r\n\r\nx\r\n"))
	if smtpCode(err) != 550 || !strings.Contains(err.Error(), "Requested action not taken: mailbox unavailable") {
		t.Fatalf("send to an unmatched recipient = %v, want 550 5.1.1", err)
	}
	id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"someone@EXAMPLE.com"}, []byte("Subject: x\r\n\r\nplain\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	// No KmsKeyArn: the plain message, no envelope metadata, under the
	// prefix plus a slash.
	body, meta := getObject(t, inst.AWSURL, "inbound-mail", "mail/"+id)
	if len(meta) != 0 || !bytes.HasSuffix(body, []byte("Subject: x\r\n\r\nplain\r\n")) {
		t.Fatalf("plain object: metadata %v, body %q", meta, body)
	}
	out, _, code := runCmd(t, nil, "decrypt", "--aws-addr", strings.TrimPrefix(inst.AWSURL, "http://"), "s3://inbound-mail/mail/"+id)
	if code != 0 || out != string(body) {
		t.Fatalf("decrypt of a plain object: exit %d", code)
	}
	getObject(t, inst.AWSURL, "inbound-mail", "mail/AMAZON_SES_SETUP_NOTIFICATION")
}

// A KMS or S3 failure is temporary for the sender: 451, never 554, and
// mail flows again once the backend is back.
func TestBackendFailureIsTemporary(t *testing.T) {
	inst := start(t, nil)
	ctx := t.Context()
	k := kmsClient(inst.AWSURL)
	desc, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(defaultKey)})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("Subject: x\r\n\r\nx\r\n")
	if _, err := k.DisableKey(ctx, &kms.DisableKeyInput{KeyId: desc.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg); smtpCode(err) != 451 {
		t.Fatalf("send with the KMS key disabled = %v, want 451", err)
	}
	if _, err := k.EnableKey(ctx, &kms.EnableKeyInput{KeyId: desc.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg); err != nil {
		t.Fatalf("send after the key is back: %v", err)
	}

	s := s3Client(inst.AWSURL)
	list, err := s.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("ses-inbound")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		if _, err := s.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("ses-inbound"), Key: o.Key}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("ses-inbound")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg); smtpCode(err) != 451 {
		t.Fatalf("send with the bucket gone = %v, want 451", err)
	}
	if strings.Contains(inst.log.String(), "code=554") {
		t.Errorf("a 554 was logged:\n%s", inst.log)
	}
}

// With --data-dir, mail stored before a restart still decrypts after it.
func TestRestartKeepsMail(t *testing.T) {
	dir := t.TempDir()
	first := start(t, nil, "--data-dir", dir)
	msg := []byte("From: a@example.org\r\nSubject: before restart\r\n\r\nkept\r\n")
	id, err := sendMail(first.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg)
	if err != nil {
		t.Fatal(err)
	}
	first.stop(t)

	second := start(t, nil, "--data-dir", dir)
	plain, err := decryptV3(t.Context(), second.AWSURL, defaultKey, "ses-inbound", id)
	if err != nil {
		t.Fatalf("decrypt after restart: %v", err)
	}
	if !bytes.HasSuffix(plain, msg) {
		t.Fatalf("after restart the message reads %q", plain)
	}
	if _, err := decryptV1(second.AWSURL, "ses-inbound", id); err != nil {
		t.Fatalf("s3crypto v1 after restart: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir))
	if len(entries) == 0 {
		t.Fatalf("nothing under --data-dir")
	}
}

func TestBadRulesFile(t *testing.T) {
	rules := writeFile(t, "rules.yaml", `
Rules:
  - Name: store
    Enabled: yes
    Actions:
      - S3Action: {BuckeName: b}
      - SNSAction: {TopicArn: 'arn:aws:sns:us-east-1:000000000000:t'}
`)
	_, stderr, code := runCmd(t, nil, "--config", rules, "--smtp-addr", "127.0.0.1:0", "--aws-addr", "127.0.0.1:0")
	if code == 0 {
		t.Fatalf("sesinbound started with a bad rules file")
	}
	for _, want := range []string{
		rules + `:4: rule "store": Rules[0].Enabled: want true or false, got "yes"`,
		rules + `:6: rule "store": Rules[0].Actions[0].S3Action.BuckeName: unknown field (did you mean BucketName?)`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, stderr, code := runCmd(t, nil, "--help")
	if code != 0 || !strings.Contains(stderr+out, "SESINBOUND_SMTP_ADDR") || !strings.Contains(stderr+out, "--data-dir") {
		t.Fatalf("--help: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = runCmd(t, nil, "--version")
	if code != 0 || !strings.Contains(out+stderr, "sesinbound") {
		t.Fatalf("--version: exit %d %s %s", code, out, stderr)
	}
}

// decrypt explains what went wrong: a missing object, a missing bucket, or
// an object whose data key this KMS cannot unwrap.
func TestDecryptErrors(t *testing.T) {
	a := start(t, nil)
	b := start(t, nil)
	id, err := sendMail(a.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: x\r\n\r\nsecret\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Copy the object, metadata and all, to an instance with other keys.
	body, meta := getObject(t, a.AWSURL, "ses-inbound", id)
	if _, err := s3Client(b.AWSURL).PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String("ses-inbound"), Key: aws.String(id), Body: bytes.NewReader(body), Metadata: meta,
	}); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(b.AWSURL, "http://")
	for _, tt := range []struct{ url, want string }{
		{"s3://ses-inbound/" + id, "KMS refused to decrypt the data key"},
		{"s3://ses-inbound/no-such-key", "s3://ses-inbound/no-such-key: no such object"},
		{"s3://no-such-bucket/x", "no such bucket no-such-bucket"},
		{"ses-inbound/x", "is not an s3://BUCKET/KEY URL"},
	} {
		out, stderr, code := runCmd(t, nil, "decrypt", "--aws-addr", addr, tt.url)
		if code == 0 || !strings.Contains(stderr, tt.want) || strings.Contains(out, "secret") {
			t.Errorf("decrypt %s: exit %d, stderr %q, want it to contain %q", tt.url, code, stderr, tt.want)
		}
	}
}
