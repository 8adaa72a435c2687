package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/emulator"
	"github.com/sesinbound/sesinbound/sesapi"
)

// doctor prints, as a table, what serve would find at startup: the rules,
// whether every bucket and key exists, whether the S3 server keeps the
// envelope metadata, and whether the KMS binds the encryption context. It
// creates nothing (the metadata probe object is deleted again) and exits
// non-zero on a fatal problem.
func doctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, _, err := parseServeFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	var findings []backend.Finding
	add := func(check string, sev backend.Severity, format string, a ...any) {
		findings = append(findings, backend.Finding{Check: check, Severity: sev, Detail: fmt.Sprintf(format, a...)})
	}
	defer func() { printFindings(stdout, findings) }()

	// What serve runs: the configuration --data-dir saved, merged with the
	// rules file as serve merges them. Nothing is saved.
	svc, _, err := emulator.OpenSES(c.Config, nil, nil, false)
	if err != nil {
		add("rules "+rulesSource(c), backend.Fail, "%v", err)
		return &exitError{code: 1, err: errors.New("the configuration is invalid")}
	}
	rules := svc.RuleSet()
	add("rules "+rulesSource(c), backend.OK, "%s", emulator.DescribeRules(rules))
	be, err := emulator.OpenBackends(ctx, c.Config, rules, getenv, nil)
	if err != nil {
		add("backends", backend.Fail, "%v", err)
		return &exitError{code: 1, err: err}
	}
	defer be.Close()
	add("s3", backend.OK, "%s", be.S3Name)
	add("kms", backend.OK, "%s", be.KMSName)

	ctx, cancel := context.WithTimeout(ctx, emulator.StartupTimeout)
	defer cancel()
	buckets, keys := backend.Resources(rules)
	for _, b := range buckets {
		ok, err := backend.BucketExists(ctx, be.S3, b)
		if present(add, c, "s3 bucket "+b, ok, err) {
			add("s3 bucket "+b, backend.OK, "exists")
			findings = append(findings, backend.ProbeMetadata(ctx, be.S3, b)...)
		}
	}
	for _, k := range keys {
		ok, err := backend.KeyExists(ctx, be.KMS, k)
		if present(add, c, "kms key "+k, ok, err) {
			findings = append(findings, backend.CheckKey(ctx, be.KMS, rules, k)...)
		}
	}
	for _, f := range findings {
		if f.Severity == backend.Fail {
			return &exitError{code: 1, err: errors.New("doctor found problems that stop sesinbound from working (FAIL above)")}
		}
	}
	return nil
}

// rulesSource names where doctor's configuration comes from.
func rulesSource(c Config) string {
	var from []string
	if c.DataDir != "" {
		from = append(from, sesapi.NewStore(c.DataDir).Path)
	}
	if c.ConfigPath != "" {
		from = append(from, c.ConfigPath)
	}
	if len(from) == 0 {
		return "built-in"
	}
	return strings.Join(from, " + ")
}

// present reports whether a bucket or key exists (ok, err from the
// check), adding the finding when it is missing or the check failed.
func present(add func(string, backend.Severity, string, ...any), c Config, check string, ok bool, err error) bool {
	switch {
	case err != nil:
		add(check, backend.Fail, "%v", err)
	case !ok:
		add(check, missingSeverity(c), "missing: %s", missingAction(c))
	default:
		return true
	}
	return false
}

func missingSeverity(c Config) backend.Severity {
	if c.NoCreate {
		return backend.Fail
	}
	return backend.Warn
}

func missingAction(c Config) string {
	if c.NoCreate {
		return "serve --no-create will refuse to start"
	}
	return "serve will create it at startup"
}

func printFindings(w io.Writer, findings []backend.Finding) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tDETAIL")
	for _, f := range findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Severity, f.Check, f.Detail)
	}
	tw.Flush()
}
