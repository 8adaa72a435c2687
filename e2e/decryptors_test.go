package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// externalDecryptor is an official S3 Encryption Client outside Go, run as
// a process: it decrypts s3://bucket/key with S3 and KMS at the given
// endpoints and gives the plaintext, or the client's own error.
type externalDecryptor struct {
	name string
	// reason says what is missing when the client cannot run here; "" when
	// it can.
	reason func() string
	// decrypt reads the objects bucket/keys[i], all with one process when
	// the client is slow to start, and gives each one's plaintext or error.
	decrypt func(s3URL, kmsURL, accessKey, secret, keyID, bucket string, keys []string) ([][]byte, []error)
}

// externalDecryptors lists the clients outside Go that the matrix runs
// where they are installed (.ci/run installs them all).
func externalDecryptors() []externalDecryptor {
	return []externalDecryptor{
		{name: "Ruby", reason: func() string { _, r := ruby(); return r },
			decrypt: func(s3URL, kmsURL, accessKey, secret, _, bucket string, keys []string) ([][]byte, []error) {
				plain, errs := make([][]byte, len(keys)), make([]error, len(keys))
				for i, k := range keys {
					plain[i], errs[i] = decryptRuby(s3URL, kmsURL, accessKey, secret, bucket, k)
				}
				return plain, errs
			}},
		{name: "Java S3EC", reason: javaReasonOnly,
			decrypt: func(s3URL, kmsURL, accessKey, secret, keyID, bucket string, keys []string) ([][]byte, []error) {
				return decryptJava("s3ec", "", s3URL, kmsURL, accessKey, secret, keyID, bucket, keys)
			}},
		{name: "Java SDK v1", reason: javaReasonOnly,
			decrypt: func(s3URL, kmsURL, accessKey, secret, keyID, bucket string, keys []string) ([][]byte, []error) {
				return decryptJava("v1", "", s3URL, kmsURL, accessKey, secret, keyID, bucket, keys)
			}},
		{name: "Python S3EC", reason: pythonReasonOnly,
			decrypt: func(s3URL, kmsURL, accessKey, secret, keyID, bucket string, keys []string) ([][]byte, []error) {
				return decryptPython("", s3URL, kmsURL, accessKey, secret, keyID, bucket, keys)
			}},
	}
}

// TestExternalDecryptors says which clients outside Go run here: each
// subtest skips, naming what is missing, and fails in CI, where .ci/run has
// installed them.
func TestExternalDecryptors(t *testing.T) {
	for _, d := range externalDecryptors() {
		t.Run(d.name, func(t *testing.T) { need(t, d.reason()) })
	}
}

// failAll gives err for each of n objects.
func failAll(n int, err error) ([][]byte, []error) {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return make([][]byte, n), errs
}

// runBatch runs a decryptor process built by command(outDir) that reads
// the objects keys in one run and leaves, for the i-th, outDir/i.out with
// the plaintext or outDir/i.err with the client's exception chain, one
// "Class: message" per line.
func runBatch(name, accessKey, secret string, keys []string, command func(outDir string) *exec.Cmd) ([][]byte, []error) {
	out, err := os.MkdirTemp("", "sesinbound-decrypt-")
	if err != nil {
		return failAll(len(keys), err)
	}
	defer os.RemoveAll(out)
	cmd := command(out)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+orDefault(accessKey, "test"), "AWS_SECRET_ACCESS_KEY="+orDefault(secret, "test"), "AWS_REGION=us-east-1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return failAll(len(keys), fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(stderr.String())))
	}
	plain, errs := make([][]byte, len(keys)), make([]error, len(keys))
	for i := range keys {
		if b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("%d.out", i))); err == nil {
			plain[i] = b
			continue
		}
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("%d.err", i)))
		if err != nil {
			errs[i] = fmt.Errorf("%s: no output for %s: %s", name, keys[i], strings.TrimSpace(stderr.String()))
			continue
		}
		errs[i] = fmt.Errorf("%s: %s", name, strings.Join(strings.Split(strings.TrimSpace(string(b)), "\n"), " <- "))
	}
	return plain, errs
}
