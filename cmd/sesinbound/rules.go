package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// rules runs `sesinbound rules export`: it asks a running sesinbound for its
// live configuration (GET /_sesinbound/config) and writes it in the rules
// file's shape, so that a configuration built through the SES API can be
// loaded again with --config.
func rules(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "export" {
		return fmt.Errorf("usage: sesinbound rules export [--aws-addr ADDR] [-o FILE]")
	}
	fs := flag.NewFlagSet("rules export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("aws-addr", envOr(getenv, "SESINBOUND_AWS_ADDR", "127.0.0.1:4566"), "the running sesinbound's AWS endpoint")
	out := fs.String("o", "", "write to this file instead of stdout")
	fs.StringVar(out, "output", "", "write to this file instead of stdout")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	base := *addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/_sesinbound/config", nil)
	if err != nil {
		return err
	}
	// With --admin-token every /_sesinbound/ call needs the token.
	if tok := getenv("SESINBOUND_ADMIN_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("export: is sesinbound running at %s? %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("export: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if *out == "" {
		_, err = stdout.Write(body)
		return err
	}
	return os.WriteFile(*out, body, 0o644)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
