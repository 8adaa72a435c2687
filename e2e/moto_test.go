package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// moto's server is a backend that serves S3 and KMS on one loopback port.
// It comes from e2e/python/.venv (pinned in e2e/python/requirements.txt,
// which .ci/run installs) or, failing that, from PATH.
var (
	motoOnce   sync.Once
	motoPath   string
	motoReason string
)

func motoServer() (string, string) {
	motoOnce.Do(func() {
		if p, err := filepath.Abs(filepath.Join("python", ".venv", "bin", "moto_server")); err == nil {
			if _, err := os.Stat(p); err == nil {
				motoPath = p
				return
			}
		}
		p, err := exec.LookPath("moto_server")
		if err != nil {
			motoReason = "moto's server is not installed: e2e/python/.venv has no moto_server (.ci/run installs e2e/python/requirements.txt there) and none is in PATH"
			return
		}
		motoPath = p
	})
	return motoPath, motoReason
}

// motoAccount is the account moto's KMS puts keys in, the one backendRules
// names.
const motoAccount = "111122223333"

// runMoto starts moto's server on a free loopback port.
func runMoto(t *testing.T) *s3Server {
	t.Helper()
	bin, reason := motoServer()
	need(t, reason)
	port := freePort(t)
	s := &s3Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), AccessKey: "test", SecretKey: "test"}
	s.proc = newProc(t, "moto", bin, []string{"-H", "127.0.0.1", "-p", strconv.Itoa(port)},
		[]string{"MOTO_ACCOUNT_ID=" + motoAccount}, readyTimeout, s3Ready(s.Endpoint, s.AccessKey, s.SecretKey))
	s.Start(t)
	return s
}

// motoScenario runs the whole scenario with moto as S3 and KMS, then
// doctor against it: what doctor says about moto's metadata and its KMS's
// binding of the encryption context is what the README records.
func motoScenario(t *testing.T) {
	m := runMoto(t)
	b := backendSet{name: "moto", s3URL: m.Endpoint, kmsURL: m.Endpoint, accessKey: m.AccessKey, secret: m.SecretKey, s3Proc: m}
	runScenario(t, b)
	out, stderr, code := runCmd(t, b.env(), "doctor", "--config", writeFile(t, "rules.yaml", backendRules))
	t.Logf("doctor against moto (exit %d):\n%s%s", code, out, stderr)
	if code != 0 {
		t.Errorf("doctor against moto exited %d", code)
	}
	for _, want := range []string{
		"all seven envelope metadata keys round-trip unchanged",
		"GenerateDataKey and Decrypt work with SES's encryption context, and another context is refused",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor's report on moto lacks %q", want)
		}
	}
}
