package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesinbound/sesinbound/events"
)

// SNS signatures are checked here by a verifier the project did not write:
// AWS's sns-validator for Node, pinned in e2e/snsverify (package.json and
// package-lock.json; .ci/run runs npm ci there). It gets the exact bodies
// the subscribers received.

var (
	nodeOnce   sync.Once
	nodePath   string
	nodeReason string
)

// snsValidator returns node when it and sns-validator are installed, or
// why not.
func snsValidator() (string, string) {
	nodeOnce.Do(func() {
		path, err := exec.LookPath("node")
		if err != nil {
			nodeReason = "Node is not installed, so sns-validator cannot run: " + err.Error()
			return
		}
		if _, err := os.Stat(filepath.Join("snsverify", "node_modules", "sns-validator", "package.json")); err != nil {
			nodeReason = "sns-validator is not installed (cd e2e/snsverify && npm ci; .ci/run does): " + err.Error()
			return
		}
		nodePath = path
	})
	return nodePath, nodeReason
}

// validateSNS runs sns-validator over the bodies, trusting the
// certificate in caFile for the https fetch of the SigningCertURL, and
// returns its verdict for each ("ok" or "error: ...").
func validateSNS(t *testing.T, caFile, hostPattern string, bodies [][]byte) []string {
	t.Helper()
	node, reason := snsValidator()
	need(t, reason)
	var in []string
	for _, b := range bodies {
		in = append(in, string(b))
	}
	js, _ := json.Marshal(in)
	cmd := exec.CommandContext(t.Context(), node, "verify.js", hostPattern)
	cmd.Dir = "snsverify"
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+caFile)
	cmd.Stdin = bytes.NewReader(js)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(bodies) {
		t.Fatalf("sns-validator printed %d verdicts for %d messages:\n%s\n%s", len(lines), len(bodies), out, stderr.String())
	}
	return lines
}

const snsRules = `
AccountId: "111122223333"
Topics:
  arn:aws:sns:us-east-1:111122223333:inbound: %s
Rules:
  - Name: notify
    Enabled: true
    Actions:
      - S3Action: {BucketName: ses-inbound, TopicArn: "arn:aws:sns:us-east-1:111122223333:inbound"}
      - SNSAction: {TopicArn: "arn:aws:sns:us-east-1:111122223333:inbound", Encoding: UTF-8}
`

// TestSNSVerifiedByOthers: every post verifies with sns-validator, a
// tampered one does not; after a restart on the same --data-dir the
// certificate URL and the certificate are the same, the messages signed
// before it still verify and new ones do too.
func TestSNSVerifiedByOthers(t *testing.T) {
	_, reason := snsValidator()
	need(t, reason)
	h := newHook(t, nil)
	dir := t.TempDir()
	port := freePort(t)
	args := []string{"--data-dir", dir, "--aws-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--config", writeFile(t, "rules.yaml", fmt.Sprintf(snsRules, h.url("/sns")))}
	inst := start(t, nil, args...)
	ca := filepath.Join(dir, "smtp-cert.pem") // the self-signed certificate the endpoint's https uses
	hostPattern := "^" + regexp.QuoteMeta(fmt.Sprintf("127.0.0.1:%d", port)) + "$"

	send := func(inst *instance, n int, tag string) {
		t.Helper()
		for i := 0; i < n; i++ {
			msg := fmt.Sprintf("From: a@example.org\r\nSubject: %s %d \"quoted\" \u00e9\r\n\r\nbody %d\nwith\ttabs & <html>\r\n", tag, i, i)
			if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte(msg)); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(inst, 3, "before")
	before := h.got(t, "/sns", 6)
	var bodies [][]byte
	var first events.Message
	for i, p := range before {
		var m events.Message
		if err := json.Unmarshal(p.body, &m); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = m
		}
		if !strings.HasPrefix(m.SigningCertURL, "https://") || m.Subject == "" {
			t.Fatalf("SigningCertURL %q, Subject %q", m.SigningCertURL, m.Subject)
		}
		bodies = append(bodies, p.body)
	}
	// A tampered copy of each signed field must fail: the verifier is not
	// passing everything.
	for _, field := range []string{"Message", "Subject", "MessageId", "Timestamp", "TopicArn"} {
		var m map[string]any
		json.Unmarshal(before[0].body, &m)
		m[field] = fmt.Sprint(m[field]) + "x"
		b, _ := json.Marshal(m)
		bodies = append(bodies, b)
	}
	verdicts := validateSNS(t, ca, hostPattern, bodies)
	for i, v := range verdicts {
		wantOK := i < len(before)
		if (v == "ok") != wantOK {
			t.Errorf("message %d (tampered %v): sns-validator says %q", i, !wantOK, v)
		}
	}
	certBefore := fetchSNSCert(t, first.SigningCertURL)

	inst.stop(t)
	inst = start(t, nil, args...)
	send(inst, 1, "after")
	after := h.got(t, "/sns", 8)[6:]
	var m events.Message
	json.Unmarshal(after[0].body, &m)
	if m.SigningCertURL != first.SigningCertURL {
		t.Errorf("after a restart the SigningCertURL is %q, was %q", m.SigningCertURL, first.SigningCertURL)
	}
	if certAfter := fetchSNSCert(t, m.SigningCertURL); !bytes.Equal(certAfter, certBefore) {
		t.Errorf("after a restart with the same --data-dir the SNS signing certificate changed")
	}
	var all [][]byte
	for _, p := range append(before, after...) {
		all = append(all, p.body)
	}
	for i, v := range validateSNS(t, ca, hostPattern, all) {
		if v != "ok" {
			t.Errorf("after the restart, message %d (of %d before it): %s", i, len(before), v)
		}
	}
}

// fetchSNSCert reads the certificate at a SigningCertURL. The https
// connection is not verified here (sns-validator does that with the
// endpoint's certificate); this only compares the bytes.
func fetchSNSCert(t *testing.T, url string) []byte {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return b
}
