package sesapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/emulator"
)

// need returns the path of a client not written in Go, or skips the test
// saying why; in CI (CI=true), where .ci/run installs them, it fails.
func need(t *testing.T, name string, check ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil && len(check) > 0 {
		if out, cerr := exec.Command(path, check...).CombinedOutput(); cerr != nil {
			err = errors.New(strings.TrimSpace(string(out)))
		}
	}
	if err != nil {
		reason := name + " is not usable (" + err.Error() + "); .ci/run installs the aws CLI and boto3 into a virtual environment"
		if os.Getenv("CI") != "" {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
	return path
}

// clientEnv points an AWS client at the emulator the way a user would:
// AWS_ENDPOINT_URL_SES for SES and AWS_ENDPOINT_URL_S3 for S3, and nothing
// from the machine's own AWS configuration.
func clientEnv(t *testing.T, url string) []string {
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+home,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"AWS_ENDPOINT_URL_SES="+url, "AWS_ENDPOINT_URL_S3="+url, "AWS_ENDPOINT_URL_KMS="+url)
}

type cli struct {
	t    *testing.T
	path string
	env  []string
	dir  string
}

// run runs `aws ARGS...` and returns its stdout; want is the error code
// expected in stderr ("" for success).
func (c *cli) run(want string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.path, append(args, "--output", "json")...)
	cmd.Env, cmd.Dir = c.env, c.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	switch {
	case want == "" && err != nil:
		c.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	case want != "" && err == nil:
		c.t.Fatalf("aws %s succeeded, want %s", strings.Join(args, " "), want)
	case want != "" && !strings.Contains(stderr.String(), "("+want+")"):
		c.t.Fatalf("aws %s: stderr %q, want the code %s", strings.Join(args, " "), stderr.String(), want)
	}
	return stdout.String()
}

func (c *cli) file(name, content string) string {
	if err := os.WriteFile(filepath.Join(c.dir, name), []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return "file://" + name
}

const cliRule = `{"Name": "%s", "Enabled": true, "TlsPolicy": "Optional", "Recipients": [],
 "Actions": [{"S3Action": {"BucketName": "cli-mail", "ObjectKeyPrefix": "%s", "KmsKeyArn": "arn:aws:kms:us-east-1:000000000000:alias/aws/ses"}}],
 "ScanEnabled": false}`

// TestAWSCLI builds a configuration with the aws CLI (botocore: empty
// lists as "Rule.Recipients=", false booleans sent), runs mail through it,
// and restarts with --data-dir.
func TestAWSCLI(t *testing.T) {
	path := need(t, "aws", "--version")
	dir := t.TempDir()
	em := startEmulator(t, func(c *emulator.Config) { c.DataDir = dir })
	c := &cli{t: t, path: path, env: clientEnv(t, em.URL()), dir: t.TempDir()}

	c.run("", "s3api", "create-bucket", "--bucket", "cli-mail")
	c.run("", "ses", "create-receipt-rule-set", "--rule-set-name", "cli")
	c.run("AlreadyExists", "ses", "create-receipt-rule-set", "--rule-set-name", "cli")
	c.run("", "ses", "create-receipt-rule", "--rule-set-name", "cli", "--rule", c.file("a.json", sprintf(cliRule, "a", "a/")))
	c.run("", "ses", "create-receipt-rule", "--rule-set-name", "cli", "--after", "a", "--rule", c.file("b.json", sprintf(cliRule, "b", "b/")))
	c.run("RuleDoesNotExist", "ses", "create-receipt-rule", "--rule-set-name", "cli", "--after", "zz", "--rule", c.file("c.json", sprintf(cliRule, "c", "c/")))
	c.run("InvalidS3Configuration", "ses", "create-receipt-rule", "--rule-set-name", "cli", "--rule",
		c.file("d.json", strings.Replace(sprintf(cliRule, "d", "d/"), "cli-mail", "no-such-bucket", 1)))
	c.run("RuleSetDoesNotExist", "ses", "describe-receipt-rule-set", "--rule-set-name", "nope")
	c.run("RuleSetDoesNotExist", "ses", "set-active-receipt-rule-set", "--rule-set-name", "nope")
	c.run("", "ses", "set-active-receipt-rule-set", "--rule-set-name", "cli")
	c.run("CannotDelete", "ses", "delete-receipt-rule-set", "--rule-set-name", "cli")

	var active struct {
		Metadata struct{ Name string }
		Rules    []struct {
			Name       string
			Enabled    bool
			TlsPolicy  string
			Recipients []string
			Actions    []map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(c.run("", "ses", "describe-active-receipt-rule-set")), &active); err != nil {
		t.Fatal(err)
	}
	if active.Metadata.Name != "cli" || len(active.Rules) != 2 || active.Rules[0].Name != "a" || active.Rules[1].Name != "b" ||
		active.Rules[0].Recipients != nil || active.Rules[0].Actions[0]["S3Action"]["ObjectKeyPrefix"] != "a/" {
		t.Fatalf("describe-active-receipt-rule-set: %+v", active)
	}

	id := send(t, em.SMTPAddr(), "cli one")
	if body, matdesc := decrypt(t, em.URL(), "cli-mail", "a/"+id); !strings.Contains(body, "Subject: cli one") || !strings.Contains(matdesc, `"aws:ses:rule-name":"a"`) {
		t.Fatalf("a/%s: %s %q", id, matdesc, body)
	}

	c.run("", "ses", "update-receipt-rule", "--rule-set-name", "cli", "--rule", c.file("a2.json", sprintf(cliRule, "a", "a2/")))
	id = send(t, em.SMTPAddr(), "cli two")
	decrypt(t, em.URL(), "cli-mail", "a2/"+id)

	c.run("", "ses", "reorder-receipt-rule-set", "--rule-set-name", "cli", "--rule-names", "b", "a")
	id = send(t, em.SMTPAddr(), "cli three")
	if got := getRecord(t, em.URL(), id).names(); strings.Join(got, ",") != "b,a" {
		t.Fatalf("after reorder the rules ran as %v", got)
	}

	c.run("", "ses", "set-active-receipt-rule-set")
	if out := strings.TrimSpace(c.run("", "ses", "describe-active-receipt-rule-set")); out != "" && out != "{}" {
		t.Fatalf("describe-active-receipt-rule-set with nothing active: %s", out)
	}
	_, err := openMail(t, em.SMTPAddr(), "inbox@example.com")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("RCPT with receiving off: %v, want 550", err)
	}
	c.run("", "ses", "set-active-receipt-rule-set", "--rule-set-name", "cli")

	c.run("", "ses", "verify-domain-identity", "--domain", "example.com")
	c.run("", "ses", "wait", "identity-exists", "--identities", "example.com")
	before := c.run("", "ses", "describe-active-receipt-rule-set")
	em.Close()

	em = startEmulator(t, func(cfg *emulator.Config) { cfg.DataDir = dir })
	c.env = clientEnv(t, em.URL())
	if after := c.run("", "ses", "describe-active-receipt-rule-set"); after != before {
		t.Fatalf("after restart:\n%s\nbefore:\n%s", after, before)
	}
	id = send(t, em.SMTPAddr(), "cli restarted")
	decrypt(t, em.URL(), "cli-mail", "a2/"+id)
}

// TestBoto3 runs the same story from Python (testdata/boto3_story.py):
// boto3 builds the configuration, smtplib sends the mail, and the script
// checks what S3 holds; then again after a restart with --data-dir.
func TestBoto3(t *testing.T) {
	py := need(t, "python3", "-c", "import boto3")
	script, err := filepath.Abs(filepath.Join("testdata", "boto3_story.py"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := func(em *emulator.Emulator, phase string) {
		t.Helper()
		cmd := exec.Command(py, script, phase, em.URL(), em.SMTPAddr())
		cmd.Env = clientEnv(t, em.URL())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("boto3 %s: %v\n%s", phase, err, out)
		}
		t.Logf("boto3 %s:\n%s", phase, out)
	}
	em := startEmulator(t, func(c *emulator.Config) { c.DataDir = dir })
	run(em, "build")
	em.Close()
	em = startEmulator(t, func(c *emulator.Config) { c.DataDir = dir })
	run(em, "restarted")
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
