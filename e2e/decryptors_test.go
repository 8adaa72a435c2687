package e2e

import "testing"

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
