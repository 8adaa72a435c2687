package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/emulator"
	"github.com/sesinbound/sesinbound/receipt"
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

	rules := receipt.DefaultRules()
	if c.ConfigPath != "" {
		if rules, err = receipt.LoadRules(c.ConfigPath); err != nil {
			add("rules "+c.ConfigPath, backend.Fail, "%v", err)
			return &exitError{code: 1, err: errors.New("the rules file is invalid")}
		}
	}
	add("rules "+rules.Source, backend.OK, "%s", emulator.DescribeRules(rules))
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
		switch {
		case err != nil:
			add("s3 bucket "+b, backend.Fail, "%v", err)
		case !ok:
			add("s3 bucket "+b, missingSeverity(c), "missing: %s", missingAction(c))
		default:
			add("s3 bucket "+b, backend.OK, "exists")
			findings = append(findings, backend.ProbeMetadata(ctx, be.S3, b)...)
		}
	}
	for _, k := range keys {
		ok, err := backend.KeyExists(ctx, be.KMS, k)
		switch {
		case err != nil:
			add("kms key "+k, backend.Fail, "%v", err)
		case !ok:
			add("kms key "+k, missingSeverity(c), "missing: %s", missingAction(c))
		default:
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
