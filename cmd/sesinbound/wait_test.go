package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesinbound/sesinbound/sesinboundtest"
)

// buildBinary builds sesinbound into a temporary directory and returns it.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sesinbound")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestWaitInAShell runs what a shell CI job would: wait for the mail in the
// background, send it, then decrypt what wait printed.
func TestWaitInAShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	bin := buildBinary(t)
	srv := sesinboundtest.Start(t)
	env := append(os.Environ(), "SESINBOUND_AWS_ADDR="+strings.TrimPrefix(srv.Endpoint(), "http://"), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))

	script := `set -e
id=$(sesinbound wait --to Inbox@Example.com --subject receipt --timeout 20s)
sesinbound decrypt "s3://ses-inbound/$id"
`
	cmd := exec.Command(sh, "-c", script)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the waiter is usually there first; it need not be
	ctx := t.Context()
	if _, err := srv.Send(ctx, "shop@example.org", []string{"inbox@example.com"},
		[]byte("From: shop@example.org\r\nTo: inbox@example.com\r\nSubject: Your receipt\r\n\r\nTotal: 12.50\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("script: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Total: 12.50") || !strings.Contains(stdout.String(), "X-SES-RECEIPT:") {
		t.Fatalf("decrypted:\n%s", stdout.String())
	}

	// --json prints the record; a later cursor waits for a later message.
	out, err := runBin(env, bin, "wait", "--json", "--id", "nope", "--timeout", "300ms")
	if code := exitCodeOf(err); code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "no processed message matched (a message with id=nope) within 300ms") {
		t.Fatalf("timeout: exit %d, output %q", code, out)
	}
	out, err = runBin(env, bin, "wait", "--json", "--to", "inbox@example.com")
	if err != nil || !strings.HasPrefix(out, `{"messageId":`) || !strings.Contains(out, `"subject":"Your receipt"`) {
		t.Fatalf("--json: %v %q", err, out)
	}
	out, err = runBin(env, bin, "wait", "--bounced", "yes")
	if code := exitCodeOf(err); code != 2 || !strings.Contains(out, `bounced="yes": want one of`) {
		t.Fatalf("bad wait: exit %d %q", code, out)
	}
	out, err = runBin(append(env, "SESINBOUND_AWS_ADDR=127.0.0.1:1"), bin, "wait", "--timeout", "1s")
	if code := exitCodeOf(err); code != 2 || !strings.Contains(out, "is sesinbound running there?") {
		t.Fatalf("no server: exit %d %q", code, out)
	}
}

func runBin(env []string, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func exitCodeOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
