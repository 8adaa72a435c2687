package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The Amazon S3 Encryption Client for Python, in the virtual environment
// e2e/python/.venv that .ci/run creates from e2e/python/requirements.txt.
var (
	pythonOnce   sync.Once
	pythonPath   string
	pythonReason string
)

// python returns the virtual environment's interpreter when it can load the
// client, or why not.
func python() (string, string) {
	pythonOnce.Do(func() {
		const hint = "the Python S3 Encryption Client is not installed: run `python3 -m venv e2e/python/.venv && e2e/python/.venv/bin/pip install -r e2e/python/requirements.txt` (.ci/run does)"
		p, err := filepath.Abs(filepath.Join("python", ".venv", "bin", "python"))
		if err == nil {
			var out []byte
			out, err = exec.Command(p, "-c", "import s3_encryption, boto3").CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
			}
		}
		if err != nil {
			pythonReason = hint + ": " + err.Error()
			return
		}
		pythonPath = p
	})
	return pythonPath, pythonReason
}

func pythonReasonOnly() string { _, r := python(); return r }

// decryptPython runs e2e/python/decrypt.py over keys in one process, with
// the commitment policy named (REQUIRE_ENCRYPT_ALLOW_DECRYPT when empty,
// "default" for the client's own).
func decryptPython(policy, s3URL, kmsURL, accessKey, secret, keyID, bucket string, keys []string) ([][]byte, []error) {
	path, reason := python()
	if reason != "" {
		return failAll(len(keys), fmt.Errorf("%s", reason))
	}
	script, err := filepath.Abs(filepath.Join("python", "decrypt.py"))
	if err != nil {
		return failAll(len(keys), err)
	}
	return runBatch("python", accessKey, secret, keys, func(out string) *exec.Cmd {
		args := []string{script, orDefault(policy, "-"), s3URL, kmsURL, keyID, out, bucket}
		return exec.Command(path, append(args, keys...)...)
	})
}

// The Python client with its default commitment policy refuses SES mail,
// naming key commitment: REQUIRE_ENCRYPT_REQUIRE_DECRYPT is its default.
func TestPythonDefaultPolicyRefusesSESMail(t *testing.T) {
	need(t, pythonReasonOnly())
	inst := start(t, nil)
	id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: python\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, policy := range []string{"default", "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"} {
		_, errs := decryptPython(policy, inst.AWSURL, inst.AWSURL, "", "", defaultKey, "ses-inbound", []string{id})
		t.Logf("%s: %v", policy, errs[0])
		if errs[0] == nil || !strings.Contains(errs[0].Error(), "cannot decrypt non-key-committing object when commitment policy is REQUIRE_ENCRYPT_REQUIRE_DECRYPT") {
			t.Errorf("%s: %v, want a refusal about key commitment", policy, errs[0])
		}
	}
}
