package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The AWS SDK for Ruby's S3 Encryption Client is a decryptor written
// outside Go: Debian packages it (ruby-aws-sdk-s3), and .ci/run installs it.
var (
	rubyOnce   sync.Once
	rubyPath   string
	rubyReason string
)

// ruby returns the Ruby interpreter when it can load the SDK, or why not.
func ruby() (string, string) {
	rubyOnce.Do(func() {
		path, err := exec.LookPath("ruby")
		if err == nil {
			var out []byte
			out, err = exec.Command(path, "-e", "require 'aws-sdk-s3'; require 'aws-sdk-kms'").CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
			}
		}
		if err != nil {
			rubyReason = "the Ruby S3 Encryption Client is not installed (apt-get install ruby-aws-sdk-s3 ruby-aws-sdk-kms; .ci/run does): " + err.Error()
			return
		}
		rubyPath = path
	})
	return rubyPath, rubyReason
}

// requireRuby skips a test that needs the Ruby client when it is missing,
// and fails it in CI, where .ci/run has installed it.
func requireRuby(t *testing.T) {
	t.Helper()
	_, reason := ruby()
	need(t, reason)
}

// decryptRuby decrypts s3://bucket/key with the Ruby client, with S3 and
// KMS at the given endpoints.
func decryptRuby(s3URL, kmsURL, accessKey, secret, bucket, key string) ([]byte, error) {
	path, reason := ruby()
	if reason != "" {
		return nil, fmt.Errorf("%s", reason)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "decrypt.rb"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, script, s3URL, kmsURL, bucket, key)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+orDefault(accessKey, "test"), "AWS_SECRET_ACCESS_KEY="+orDefault(secret, "test"), "AWS_REGION=us-east-1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ruby decrypt.rb: %v: %s", err, rubyError(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// rubyError picks the exception out of Ruby's standard error, which may
// begin with the client's warnings: "file:line:in `m': message (Class)",
// or "file:line:in `m': Class" for an exception without a message.
func rubyError(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if m := rubyException.FindStringSubmatch(line); m != nil {
			return m[2] + ": " + m[1]
		}
		if m := rubyBareException.FindStringSubmatch(line); m != nil {
			return m[1]
		}
	}
	return strings.TrimSpace(s)
}

var (
	rubyException     = regexp.MustCompile("^\\S+:\\d+:in `[^']*': (.*) \\(([A-Z][\\w:]*)\\)$")
	rubyBareException = regexp.MustCompile("^\\S+:\\d+:in `[^']*': ([A-Z][\\w:]*)$")
)

// TestRubyDecryptor is the one test that is only about the Ruby client: it
// skips, saying why, where Ruby or the SDK is missing (and fails in CI);
// the checks inside TestEnvelopeVariants and TestBackendCombinations then
// log the same reason.
func TestRubyDecryptor(t *testing.T) {
	requireRuby(t)
	inst := start(t, nil)
	msg := mimeWithAttachment(t)
	id, err := sendMail(inst.SMTPAddr, "sender@example.org", []string{"inbox@example.com"}, msg)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := decryptRuby(inst.AWSURL, inst.AWSURL, "", "", "ses-inbound", id)
	if err != nil {
		t.Fatalf("Ruby S3 Encryption Client: %v", err)
	}
	v3, err := decryptV3(t.Context(), inst.AWSURL, defaultKey, "ses-inbound", id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rb, v3) || !bytes.HasSuffix(rb, msg) {
		t.Fatalf("the Ruby client decrypts to other bytes than S3EC v3")
	}
}
