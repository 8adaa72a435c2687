package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sesinbound/sesinbound/emulator"
)

// Config is everything serve needs, from flags and SESINBOUND_* variables:
// the emulator's own settings, and what only the command uses.
type Config struct {
	emulator.Config
	LogLevel   string
	LogFormat  string
	CPUProfile string // a file for a CPU profile of the whole run
}

// DefaultConfig returns the settings used when nothing is given.
func DefaultConfig() Config {
	return Config{Config: emulator.DefaultConfig(), LogLevel: "info", LogFormat: "text"}
}

// option is one setting: its flag, its variable, and where it goes.
type option struct {
	flag, env string
	value     flag.Value
}

func (c *Config) options() []option {
	return []option{
		{"config", "SESINBOUND_CONFIG", (*stringValue)(&c.ConfigPath)},
		{"smtp-addr", "SESINBOUND_SMTP_ADDR", (*stringValue)(&c.SMTPAddr)},
		{"aws-addr", "SESINBOUND_AWS_ADDR", (*stringValue)(&c.AWSAddr)},
		{"data-dir", "SESINBOUND_DATA_DIR", (*stringValue)(&c.DataDir)},
		{"log-level", "SESINBOUND_LOG_LEVEL", (*stringValue)(&c.LogLevel)},
		{"log-format", "SESINBOUND_LOG_FORMAT", (*stringValue)(&c.LogFormat)},
		{"s3-endpoint", "SESINBOUND_S3_ENDPOINT", (*stringValue)(&c.S3Endpoint)},
		{"kms-endpoint", "SESINBOUND_KMS_ENDPOINT", (*stringValue)(&c.KMSEndpoint)},
		{"s3-path-style", "SESINBOUND_S3_PATH_STYLE", (*boolValue)(&c.PathStyle)},
		{"no-create", "SESINBOUND_NO_CREATE", (*boolValue)(&c.NoCreate)},
		{"relay-addr", "SESINBOUND_RELAY_ADDR", (*stringValue)(&c.RelayAddr)},
		{"tls-cert", "SESINBOUND_TLS_CERT", (*stringValue)(&c.TLSCert)},
		{"tls-key", "SESINBOUND_TLS_KEY", (*stringValue)(&c.TLSKey)},
		{"admin-token", "SESINBOUND_ADMIN_TOKEN", (*stringValue)(&c.AdminToken)},
		{"webhook", "SESINBOUND_WEBHOOK", (*stringValue)(&c.Webhook)},
		{"webhook-batch", "SESINBOUND_WEBHOOK_BATCH", (*intValue)(&c.WebhookBatch)},
		{"max-message-size", "SESINBOUND_MAX_MESSAGE_SIZE", (*sizeValue)(&c.MaxMessageBytes)},
		{"max-recipients", "SESINBOUND_MAX_RECIPIENTS", (*intValue)(&c.MaxRecipients)},
		{"max-line-length", "SESINBOUND_MAX_LINE_LENGTH", (*intValue)(&c.MaxLineLength)},
		{"max-header-size", "SESINBOUND_MAX_HEADER_SIZE", (*sizeValue)(&c.MaxHeaderBytes)},
		{"max-header-fields", "SESINBOUND_MAX_HEADER_FIELDS", (*intValue)(&c.MaxHeaderFields)},
		{"max-conns", "SESINBOUND_MAX_CONNS", (*intValue)(&c.MaxConns)},
		{"command-timeout", "SESINBOUND_COMMAND_TIMEOUT", (*durationValue)(&c.CommandTimeout)},
		{"data-timeout", "SESINBOUND_DATA_TIMEOUT", (*durationValue)(&c.DataTimeout)},
		{"deliver-timeout", "SESINBOUND_DELIVER_TIMEOUT", (*durationValue)(&c.DeliverTimeout)},
		{"cpu-profile", "SESINBOUND_CPU_PROFILE", (*stringValue)(&c.CPUProfile)},
	}
}

// parseServeFlags fills a Config from the environment, then the flags, which
// win.
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (Config, bool, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("sesinbound", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	for _, o := range c.options() {
		if v := getenv(o.env); v != "" {
			if err := o.value.Set(v); err != nil {
				return c, false, fmt.Errorf("%s=%q: %v", o.env, v, err)
			}
		}
		fs.Var(o.value, o.flag, "")
	}
	showVersion := fs.Bool("version", false, "")
	if err := fs.Parse(args); err != nil {
		return c, false, err
	}
	if fs.NArg() > 0 {
		return c, false, fmt.Errorf("unexpected argument %q; run sesinbound --help", fs.Arg(0))
	}
	for _, check := range []struct {
		flag, value, want string
		ok                bool
	}{
		{"--max-message-size", fmt.Sprint(c.MaxMessageBytes), "positive", c.MaxMessageBytes > 0},
		{"--max-recipients", fmt.Sprint(c.MaxRecipients), "at least 100, as RFC 5321 asks", c.MaxRecipients >= 100},
		{"--max-line-length", fmt.Sprint(c.MaxLineLength), "at least 1000, as RFC 5321 asks", c.MaxLineLength >= 1000},
		{"--max-header-size", fmt.Sprint(c.MaxHeaderBytes), "positive", c.MaxHeaderBytes > 0},
		{"--max-header-fields", fmt.Sprint(c.MaxHeaderFields), "positive", c.MaxHeaderFields > 0},
		{"--max-conns", fmt.Sprint(c.MaxConns), "positive", c.MaxConns > 0},
		{"--webhook-batch", fmt.Sprint(c.WebhookBatch), "from 1 to 1000", c.WebhookBatch >= 1 && c.WebhookBatch <= 1000},
		{"--command-timeout", c.CommandTimeout.String(), "positive", c.CommandTimeout > 0},
		{"--data-timeout", c.DataTimeout.String(), "positive", c.DataTimeout > 0},
		{"--deliver-timeout", c.DeliverTimeout.String(), "positive", c.DeliverTimeout > 0},
	} {
		if !check.ok {
			return c, false, fmt.Errorf("%s (%s) %s is out of range: want %s", check.flag, envOf(check.flag), check.value, check.want)
		}
	}
	return c, *showVersion, nil
}

// envOf is the variable of a flag: --max-conns is SESINBOUND_MAX_CONNS.
func envOf(flag string) string {
	return "SESINBOUND_" + strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(flag, "--"), "-", "_"))
}

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

type boolValue bool

func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false")
	}
	*v = boolValue(b)
	return nil
}

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want a whole number")
	}
	*v = intValue(n)
	return nil
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 30s or 5m")
	}
	*v = durationValue(d)
	return nil
}

// sizeValue is a byte count: a number, or one with KB, MB or GB (powers of
// 1024; SES's "40 MB" limit is 40 MiB here).
type sizeValue int64

func (v *sizeValue) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *sizeValue) Set(s string) error {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("want a size such as 40MB or 1048576")
	}
	*v = sizeValue(n * mult)
	return nil
}
