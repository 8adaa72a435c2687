package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesinbound/sesinbound/emulator"
)

// sesCall makes an unsigned SES v1 call, as a form POST to /.
func sesCall(t *testing.T, base string, vals url.Values) {
	t.Helper()
	resp, err := http.PostForm(base+"/", vals)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", vals.Get("Action"), resp.StatusCode, body)
	}
}

// runDoctor runs doctor with args and returns its table and error.
func runDoctor(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := doctor(t.Context(), args, env(nil), &out, &errb)
	return out.String() + errb.String(), err
}

// TestDoctorReadsDataDir: doctor checks what serve would run, the SES
// configuration saved in --data-dir merged with --config as serve merges
// them, and writes nothing.
func TestDoctorReadsDataDir(t *testing.T) {
	dir := t.TempDir()
	c := emulator.DefaultConfig()
	c.SMTPAddr, c.AWSAddr, c.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	em, err := emulator.Start(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []url.Values{
		{"Action": {"CreateReceiptRuleSet"}, "RuleSetName": {"api-set"}},
		{"Action": {"CreateReceiptRule"}, "RuleSetName": {"api-set"}, "Rule.Name": {"api-rule"}, "Rule.Enabled": {"true"},
			"Rule.Actions.member.1.S3Action.BucketName": {"ses-inbound"}, "Rule.Actions.member.1.S3Action.ObjectKeyPrefix": {"api/"}},
		{"Action": {"SetActiveReceiptRuleSet"}, "RuleSetName": {"api-set"}},
	} {
		sesCall(t, em.URL(), call)
	}
	em.Close()
	saved := filepath.Join(dir, "ses", "config.yaml")
	before, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the saved configuration", func(t *testing.T) {
		out, err := runDoctor(t, "--data-dir", dir)
		if err != nil {
			t.Fatalf("doctor: %v\n%s", err, out)
		}
		if !strings.Contains(out, "rule set api-set: api-rule") || strings.Contains(out, "store-all") {
			t.Errorf("doctor does not check the rule set saved in %s:\n%s", saved, out)
		}
		if !strings.Contains(out, saved) {
			t.Errorf("doctor does not name %s:\n%s", saved, out)
		}
	})

	t.Run("merged with --config as serve merges them", func(t *testing.T) {
		rules := filepath.Join(t.TempDir(), "rules.yaml")
		os.WriteFile(rules, []byte("Metadata: {Name: from-file}\nRules:\n  - Name: file-rule\n    Enabled: true\n    Actions:\n      - S3Action: {BucketName: file-bucket}\n"), 0o644)
		out, err := runDoctor(t, "--data-dir", dir, "--config", rules)
		if err != nil {
			t.Fatalf("doctor: %v\n%s", err, out)
		}
		// The file's set is made active, as serve makes it; its bucket is
		// missing, which serve would create.
		if !strings.Contains(out, "rule set from-file: file-rule") || !strings.Contains(out, "s3 bucket file-bucket") {
			t.Errorf("doctor does not check the file's set as the active one:\n%s", out)
		}
		after, _ := os.ReadFile(saved)
		if !bytes.Equal(before, after) {
			t.Errorf("doctor changed %s:\n%s", saved, after)
		}
	})

	t.Run("a saved configuration serve would refuse", func(t *testing.T) {
		bad := t.TempDir()
		os.MkdirAll(filepath.Join(bad, "ses"), 0o755)
		os.WriteFile(filepath.Join(bad, "ses", "config.yaml"), []byte("AccountId: \"111111111111\"\nRegion: us-east-1\n"), 0o644)
		out, err := runDoctor(t, "--data-dir", bad)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "111111111111") {
			t.Errorf("doctor on a configuration of another account: %v\n%s", err, out)
		}
	})
}
