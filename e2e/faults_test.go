package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func putFaults(t *testing.T, inst *instance, method, spec string) {
	t.Helper()
	req, _ := http.NewRequest(method, inst.AWSURL+"/_sesinbound/faults", strings.NewReader(spec))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s /_sesinbound/faults: %s %s", method, resp.Status, body)
	}
}

func TestSMTPFaults(t *testing.T) {
	rules := `
Faults:
  SMTP:
    - {Stage: RCPT, Code: 451, Status: 4.7.1, Message: "Greylisted, try again", Count: 1}
Rules:
  - Name: all
    Enabled: true
    Actions: [{S3Action: {BucketName: faults}}]
`
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", rules))
	msg := []byte("Subject: f\r\n\r\nx\r\n")
	_, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg)
	if smtpCode(err) != 451 || !strings.Contains(err.Error(), "Greylisted") {
		t.Fatalf("first RCPT = %v, want the injected 451", err)
	}
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg); err != nil {
		t.Fatalf("after the fault's count: %v", err)
	}
	putFaults(t, inst, http.MethodPut, `{"SMTP":[{"Stage":"DATA","Code":554,"Status":"5.6.0","Message":"Content rejected","Count":1},{"Stage":"MAIL","Code":421,"Count":1}]}`)
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg); smtpCode(err) != 421 {
		t.Fatalf("MAIL under a fault = %v, want 421", err)
	}
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg); smtpCode(err) != 554 {
		t.Fatalf("DATA under a fault = %v, want 554", err)
	}
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
}

func TestAWSFaults(t *testing.T) {
	rules := `
Rules:
  - Name: two-copies
    Enabled: true
    Actions:
      - S3Action: {BucketName: first-copy, KmsKeyArn: "arn:aws:kms:us-east-1:000000000000:alias/aws/ses"}
      - S3Action: {BucketName: second-copy}
`
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", rules), "--deliver-timeout", "3s")
	msg := []byte("Subject: f\r\n\r\nx\r\n")

	// Throttling passes: the pipeline retries within the message's deadline.
	putFaults(t, inst, http.MethodPut, `{"AWS":[{"Service":"kms","Operation":"GenerateDataKey","Error":"ThrottlingException","Count":3,"Scope":"sesinbound"},
		{"Service":"s3","Operation":"PutObject","Error":"SlowDown","Count":2,"Scope":"sesinbound"}]}`)
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg); err != nil {
		t.Fatalf("throttled backends should be retried to a 250: %v", err)
	}

	// Access denied does not pass: 451, with the cause in the log.
	putFaults(t, inst, http.MethodPut, `{"AWS":[{"Service":"kms","Error":"AccessDeniedException","Scope":"sesinbound"}]}`)
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg); smtpCode(err) != 451 {
		t.Fatalf("KMS access denied = %v, want 451", err)
	}
	if !inst.waitLog(t, "backend configuration problem") {
		t.Errorf("the configuration problem was not logged as such")
	}
	putFaults(t, inst, http.MethodDelete, "")

	// A second S3 action failing after the first succeeded: 451, the
	// first object stays, and the record says which action failed.
	s := s3Client(inst.AWSURL)
	list, _ := s.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("second-copy")})
	for _, o := range list.Contents {
		s.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String("second-copy"), Key: o.Key})
	}
	if _, err := s.DeleteBucket(t.Context(), &s3.DeleteBucketInput{Bucket: aws.String("second-copy")}); err != nil {
		t.Fatal(err)
	}
	_, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg)
	if smtpCode(err) != 451 {
		t.Fatalf("second action failing = %v, want 451", err)
	}
	resp, _ := http.Get(inst.AWSURL + "/_sesinbound/messages?limit=1")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rec := string(body)
	if !strings.Contains(rec, `"code":451`) || !strings.Contains(rec, `"bucket":"first-copy"`) || !strings.Contains(rec, "NoSuchBucket") {
		t.Errorf("record = %s", rec)
	}
	id := between(rec, `"messageId":"`, `"`)
	if _, err := s.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("first-copy"), Key: aws.String(id)}); err != nil {
		t.Errorf("the first action's object %s is gone: %v", id, err)
	}

	// Endpoint faults reach decryptors and tools.
	putFaults(t, inst, http.MethodPut, `{"AWS":[{"Service":"s3","Operation":"GetObject","Error":"SlowDown","Count":1,"Scope":"endpoint"},
		{"Service":"kms","Operation":"Decrypt","Error":"AccessDeniedException","Count":1,"Scope":"endpoint"}]}`)
	_, err = s.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("first-copy"), Key: aws.String(id)}, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if err == nil || !strings.Contains(err.Error(), "SlowDown") {
		t.Fatalf("GetObject under an endpoint fault = %v", err)
	}
	if _, err := decryptV1(inst.AWSURL, "first-copy", id); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("s3crypto v1 under a KMS endpoint fault = %v", err)
	}
	if _, err := decryptV1(inst.AWSURL, "first-copy", id); err != nil {
		t.Fatalf("once the faults are spent: %v", err)
	}
}

func between(s, start, end string) string {
	_, after, _ := strings.Cut(s, start)
	v, _, _ := strings.Cut(after, end)
	return v
}

// Each envelope variant, through the official Go decryptors and, where
// they are installed, the ones outside Go. The outcomes here are the ones
// the README documents: for each client, "" means it decrypts, otherwise a
// piece of the error it gives.
func TestEnvelopeVariants(t *testing.T) {
	inst := start(t, nil)
	const ok = ""
	rows := []struct {
		variant string
		want    map[string]string
	}{
		{"", map[string]string{"S3EC v3": ok, "S3EC v4": ok, "s3crypto v1": ok, "Ruby": ok, "Java S3EC": ok, "Java SDK v1": ok, "Python S3EC": ok}},
		{"corrupt-tag", map[string]string{"S3EC v3": "message authentication failed", "S3EC v4": "message authentication failed",
			"s3crypto v1": "message authentication failed", "Ruby": "OpenSSL::Cipher::CipherError",
			"Java S3EC": "AEADBadTagException: Tag mismatch", "Java SDK v1": "AEADBadTagException: mac check in GCM failed", "Python S3EC": "InvalidTag"}},
		// Java SDK v1 compares the whole material description with its
		// materials', kms_cmk_id included, which KMSEncryptionMaterials
		// always has.
		{"no-kms-cmk-id", map[string]string{"S3EC v3": ok, "S3EC v4": ok, "s3crypto v1": "MissingCMKIDError", "Ruby": ok,
			"Java S3EC": ok, "Java SDK v1": "Provided encryption materials do not match", "Python S3EC": ok}},
		// v3.0.0 with legacy wrapping enabled refuses kms+context; v1 needs
		// the kms+context wrap registered, which SES objects do not need;
		// Ruby and Java want the whole context passed to get_object, to
		// compare.
		{"kms+context", map[string]string{"S3EC v3": "kms+context", "S3EC v4": ok, "s3crypto v1": "InvalidWrapAlgorithmError",
			"Ruby": "does not match the provided encryption context", "Java S3EC": "Provided encryption context does not match",
			"Java SDK v1": "Provided encryption materials do not match", "Python S3EC": "Provided encryption context does not match"}},
		{"no-unencrypted-length", map[string]string{"S3EC v3": ok, "S3EC v4": ok, "s3crypto v1": ok, "Ruby": ok, "Java S3EC": ok, "Java SDK v1": ok, "Python S3EC": ok}},
		// S3EC v3.0.0 and s3crypto panic on it (crypto/cipher: incorrect
		// nonce length); Bouncy Castle's and pyca/cryptography's GCM take
		// any IV length.
		{"wrong-iv-length", map[string]string{"S3EC v3": "panic: crypto/cipher: incorrect nonce length", "S3EC v4": "invalid nonce length: expected 12 bytes, got 16 bytes",
			"s3crypto v1": "panic: crypto/cipher: incorrect nonce length", "Ruby": "iv must be 12 bytes",
			"Java S3EC": "IV has not been initialized", "Java SDK v1": ok, "Python S3EC": ok}},
	}
	ids := make([]string, len(rows))
	for i, tt := range rows {
		hdr := ""
		if tt.variant != "" {
			hdr = "X-SESInbound-Envelope: " + tt.variant + "\r\n"
		}
		msg := "Subject: variant\r\n" + hdr + "\r\nbody\r\n"
		id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	// The clients outside Go each read every variant in one run.
	external := map[string][]error{}
	for _, d := range externalDecryptors() {
		if !have(t, d.reason()) {
			continue
		}
		start := time.Now()
		_, errs := d.decrypt(inst.AWSURL, inst.AWSURL, "", "", defaultKey, "ses-inbound", ids)
		t.Logf("%s read %d objects in %v", d.name, len(ids), time.Since(start).Round(time.Millisecond))
		external[d.name] = errs
	}
	for i, tt := range rows {
		t.Run("variant="+tt.variant, func(t *testing.T) {
			id := ids[i]
			check := func(client string, err error) {
				want, listed := tt.want[client]
				t.Logf("variant %q: %s -> %v", tt.variant, client, err)
				switch {
				case !listed:
					t.Errorf("%s: no expected outcome listed (got %v)", client, err)
				case want == ok && err != nil:
					t.Errorf("%s: %v, want it to decrypt", client, err)
				case want != ok && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("%s: error %v, want one mentioning %q", client, err, want)
				}
			}
			_, err := recovering(func() ([]byte, error) { return decryptV3(t.Context(), inst.AWSURL, defaultKey, "ses-inbound", id) })
			check("S3EC v3", err)
			_, err = recovering(func() ([]byte, error) { return decryptV4(t.Context(), inst.AWSURL, defaultKey, "ses-inbound", id) })
			check("S3EC v4", err)
			_, err = recovering(func() ([]byte, error) { return decryptV1(inst.AWSURL, "ses-inbound", id) })
			check("s3crypto v1", err)
			for name, errs := range external {
				check(name, errs[i])
			}
		})
	}
}

// recovering turns a decryptor's panic into an error, so that one bad
// variant does not stop the test.
func recovering(f func() ([]byte, error)) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}
