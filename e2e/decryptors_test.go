package e2e

import (
	"os"
	"testing"
)

// externalDecryptor is an official S3 Encryption Client outside Go, run as
// a process: it decrypts s3://bucket/key with S3 and KMS at the given
// endpoints and gives the plaintext, or the client's own error.
type externalDecryptor struct {
	name string
	// reason says what is missing when the client cannot run here; "" when
	// it can.
	reason  func() string
	decrypt func(s3URL, kmsURL, accessKey, secret, bucket, key string) ([]byte, error)
}

// externalDecryptors lists the clients outside Go that the matrix runs
// where they are installed (.ci/run installs them all).
func externalDecryptors() []externalDecryptor {
	return []externalDecryptor{
		{name: "Ruby", reason: func() string { _, r := ruby(); return r }, decrypt: decryptRuby},
	}
}

// TestExternalDecryptors says which clients outside Go run here: each
// subtest skips, naming what is missing, and fails in CI, where .ci/run has
// installed them.
func TestExternalDecryptors(t *testing.T) {
	for _, d := range externalDecryptors() {
		t.Run(d.name, func(t *testing.T) {
			if r := d.reason(); r != "" {
				if os.Getenv("CI") != "" {
					t.Fatal(r)
				}
				t.Skip(r)
			}
		})
	}
}
