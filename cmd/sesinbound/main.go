package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "sesinbound:", err)
		os.Exit(exitCode(err))
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// run is the whole program, with its environment passed in so tests can
// drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stderr)
	case "decrypt":
		return decrypt(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "sesinbound", version)
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q; run sesinbound --help", cmd)
}

const usage = `sesinbound emulates Amazon SES email receiving: SMTP in, receipt rules,
the SES KMS envelope, and S3 out.

Usage:
  sesinbound [serve] [flags]           run the emulator (the default command)
  sesinbound decrypt [flags] s3://BUCKET/KEY
                                       print a stored message, decrypted with the
                                       official S3 Encryption Client
  sesinbound version                   print the version

Flags of serve (each also read from the environment variable shown):
  --config PATH        SESINBOUND_CONFIG     rules file, YAML or JSON (default: built-in
                                             catch-all rule "store-all" to bucket ses-inbound)
  --smtp-addr ADDR     SESINBOUND_SMTP_ADDR  SMTP listener (default 127.0.0.1:2525)
  --aws-addr ADDR      SESINBOUND_AWS_ADDR   embedded S3 + KMS endpoint and /_sesinbound/
                                             paths (default 127.0.0.1:4566)
  --data-dir DIR       SESINBOUND_DATA_DIR   persist the embedded S3 and KMS here
                                             (default: memory only)
  --log-level LEVEL    SESINBOUND_LOG_LEVEL  debug, info, warn or error (default info)
  --log-format FORMAT  SESINBOUND_LOG_FORMAT text or json (default text)
  --version                                  print the version and exit

Flags of decrypt:
  --aws-addr ADDR      SESINBOUND_AWS_ADDR   the endpoint to read from (default
                                             127.0.0.1:4566); AWS_ENDPOINT_URL,
                                             AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_KMS
                                             are used instead when set and --aws-addr is not
  -o, --output FILE                          write the message to FILE instead of stdout

The health check is GET http://<aws-addr>/_sesinbound/health.
`
