package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// defaultMemoryLimit is the soft limit of the Go heap (see main).
const defaultMemoryLimit = 256 << 20

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// The embedded S3 keeps an index entry of about 120 bytes per object
	// on the heap; with the GC's default slack of 100 %, a million objects
	// (about 170 MB live with the rest) would take the process past 300
	// MB. A soft limit makes the GC work harder only when the heap nears
	// it, and the index holds no pointer per object, so those cycles stay
	// cheap (fakes/s3index.go). GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
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
	case "doctor":
		return doctor(ctx, args, getenv, stdout, stderr)
	case "decrypt":
		return decrypt(ctx, args, getenv, stdout, stderr)
	case "wait":
		return wait(ctx, args, getenv, stdout, stderr)
	case "rules":
		return rules(ctx, args, getenv, stdout, stderr)
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
  sesinbound doctor [flags]            check the rules and the backends, print a table,
                                       and exit non-zero on a fatal problem
  sesinbound decrypt [flags] s3://BUCKET/KEY
                                       print a stored message, decrypted with the
                                       official S3 Encryption Client
  sesinbound wait [flags]              wait until a processed message matches, print its
                                       ID (exit 0); at the timeout print why (exit 1)
  sesinbound rules export [--aws-addr ADDR] [-o FILE]
                                       write the live configuration of a running
                                       sesinbound (rule sets made through the SES API
                                       included) as a rules file for --config
  sesinbound version                   print the version

Flags of serve and doctor (each also read from the environment variable shown):
  --config PATH        SESINBOUND_CONFIG        rules file, YAML or JSON, loaded as the active
                                                rule set named by its Metadata.Name (default
                                                "sesinbound"; default rules: the built-in
                                                catch-all rule "store-all" to bucket ses-inbound)
  --smtp-addr ADDR     SESINBOUND_SMTP_ADDR     SMTP listener (default 127.0.0.1:2525)
  --aws-addr ADDR      SESINBOUND_AWS_ADDR      embedded S3 + KMS endpoint and /_sesinbound/
                                                paths (default 127.0.0.1:4566)
  --data-dir DIR       SESINBOUND_DATA_DIR      persist the embedded S3 and KMS, the SES API's
                                                configuration, the TLS and SNS-signing keys
                                                here (default: memory only)
  --s3-endpoint URL    SESINBOUND_S3_ENDPOINT   use this S3 instead of the embedded one; "aws"
                                                for AWS itself, "embedded" to force the fake.
                                                Default: AWS_ENDPOINT_URL_S3, else
                                                AWS_ENDPOINT_URL, else embedded
  --kms-endpoint URL   SESINBOUND_KMS_ENDPOINT  the same for KMS (AWS_ENDPOINT_URL_KMS)
  --s3-path-style      SESINBOUND_S3_PATH_STYLE path-style addressing for an external S3
                                                (default true; --s3-path-style=false for
                                                virtual-hosted style)
  --no-create          SESINBOUND_NO_CREATE     fail at startup, naming them, if buckets or
                                                keys the rules name are missing, instead of
                                                creating them
  --relay-addr ADDR    SESINBOUND_RELAY_ADDR    SMTP relay for BounceAction DSNs (e.g. Mailpit);
                                                default: record them only
  --tls-cert FILE      SESINBOUND_TLS_CERT      STARTTLS certificate and key (default: a
  --tls-key FILE       SESINBOUND_TLS_KEY       self-signed one, kept in --data-dir)
  --log-level LEVEL    SESINBOUND_LOG_LEVEL     debug, info, warn or error (default info)
  --log-format FORMAT  SESINBOUND_LOG_FORMAT    text or json (default text)
  --admin-token TOKEN  SESINBOUND_ADMIN_TOKEN   require "Authorization: Bearer TOKEN" for every
                                                /_sesinbound/ call but health (the page asks once)
  --webhook URL        SESINBOUND_WEBHOOK       POST each processed message's record to URL as
                                                JSON, in the background (3 retries; status at
                                                GET /_sesinbound/webhook)
  --webhook-batch N    SESINBOUND_WEBHOOK_BATCH up to N waiting records per POST, as a page
                                                of the list (default 1: one record per POST)
Limits (SES's where it has one; sizes take KB, MB, GB):
  --max-message-size SIZE   SESINBOUND_MAX_MESSAGE_SIZE   default 40MB (552 5.3.4)
  --max-recipients N        SESINBOUND_MAX_RECIPIENTS     default 1000 (452 4.5.3)
  --max-line-length N       SESINBOUND_MAX_LINE_LENGTH    default 2000, at least 1000 (500 5.6.0)
  --max-header-size SIZE    SESINBOUND_MAX_HEADER_SIZE    default 1MB (552 5.3.4)
  --max-header-fields N     SESINBOUND_MAX_HEADER_FIELDS  default 1000 (552 5.3.4)
  --max-conns N             SESINBOUND_MAX_CONNS          default 500 (421 4.7.0)
  --command-timeout D       SESINBOUND_COMMAND_TIMEOUT    idle time between commands, default 5m
  --data-timeout D          SESINBOUND_DATA_TIMEOUT       default 10m (451 4.4.2)
  --deliver-timeout D       SESINBOUND_DELIVER_TIMEOUT    storing one message, retries included,
                                                          default 30s (then 451 4.3.0)
  --cpu-profile FILE        SESINBOUND_CPU_PROFILE        write a Go CPU profile of the run to FILE
                                                          (for go tool pprof; see BENCHMARKS.md)
  --version                                     print the version and exit

Credentials, region and profiles come from the standard AWS configuration
(AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_REGION, ...); with a local endpoint and
no credentials, placeholders are used. Notifications go to SNS and Lambda at
AWS_ENDPOINT_URL_SNS and AWS_ENDPOINT_URL_LAMBDA when set.

Flags of decrypt:
  --aws-addr ADDR      SESINBOUND_AWS_ADDR      sesinbound's endpoint (default 127.0.0.1:4566),
                                                for each service without an endpoint of its own
  --s3-endpoint, --kms-endpoint, --s3-path-style  as for serve
  -o, --output FILE                             write the message to FILE instead of stdout

Flags of wait (filters combine; each must match):
  --to ADDR            an envelope recipient, case-insensitive
  --from ADDR          the envelope sender
  --subject TEXT       a substring of the Subject, case-insensitive
  --rule NAME          a rule that ran
  --id ID              the SES message ID
  --bounced STATUS     its DSNs are all in STATUS (sent: wait for the DSN to go)
  --after CURSOR       only messages newer than CURSOR (GET /_sesinbound/messages "cursor");
                       without it, messages already received count
  --timeout D          default 30s
  --json               print the whole record, not just the ID
  --aws-addr ADDR      SESINBOUND_AWS_ADDR      sesinbound's endpoint (default: AWS_ENDPOINT_URL,
                                                else 127.0.0.1:4566)

The health check is GET http://<aws-addr>/_sesinbound/health; what happened to
each message is at GET http://<aws-addr>/_sesinbound/messages.
`
