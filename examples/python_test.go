package examples

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sesinbound/sesinbound/sesinboundtest"
)

// TestPython runs examples/python/wait_for_mail.py against an in-process
// sesinbound. It skips, saying why, without python3, boto3 or cryptography;
// in CI, where .ci/run installs them, it fails instead.
func TestPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err == nil {
		if out, ierr := exec.Command(python, "-c", "import boto3, cryptography").CombinedOutput(); ierr != nil {
			err = &missing{strings.TrimSpace(string(out))}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 with boto3 and cryptography is needed in CI (.ci/run installs them): %v", err)
		}
		t.Skipf("python3 with boto3 and cryptography not available: %v", err)
	}
	srv := sesinboundtest.Start(t)
	cmd := exec.CommandContext(t.Context(), python, "python/wait_for_mail.py")
	// The process's own AWS_* settings must not redirect the example.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "SESINBOUND_URL="+srv.Endpoint(), "SESINBOUND_SMTP="+srv.SMTPAddr())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wait_for_mail.py: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "decrypted OK") {
		t.Fatalf("wait_for_mail.py printed:\n%s", out)
	}
	t.Logf("%s", out)
}

type missing struct{ msg string }

func (m *missing) Error() string { return m.msg }
