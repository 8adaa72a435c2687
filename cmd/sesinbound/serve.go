package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/receipt"
	"github.com/sesinbound/sesinbound/smtpd"
)

// Config is everything serve needs, from flags and SESINBOUND_* variables.
type Config struct {
	ConfigPath string
	SMTPAddr   string
	AWSAddr    string
	DataDir    string
	LogLevel   string
	LogFormat  string
}

// DefaultConfig returns the settings used when nothing is given.
func DefaultConfig() Config {
	return Config{
		SMTPAddr:  "127.0.0.1:2525",
		AWSAddr:   "127.0.0.1:4566",
		LogLevel:  "info",
		LogFormat: "text",
	}
}

// parseServeFlags fills a Config from the environment, then the flags, which
// win.
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (Config, bool, error) {
	c := DefaultConfig()
	env := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	env(&c.ConfigPath, "SESINBOUND_CONFIG")
	env(&c.SMTPAddr, "SESINBOUND_SMTP_ADDR")
	env(&c.AWSAddr, "SESINBOUND_AWS_ADDR")
	env(&c.DataDir, "SESINBOUND_DATA_DIR")
	env(&c.LogLevel, "SESINBOUND_LOG_LEVEL")
	env(&c.LogFormat, "SESINBOUND_LOG_FORMAT")

	fs := flag.NewFlagSet("sesinbound", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&c.ConfigPath, "config", c.ConfigPath, "")
	fs.StringVar(&c.SMTPAddr, "smtp-addr", c.SMTPAddr, "")
	fs.StringVar(&c.AWSAddr, "aws-addr", c.AWSAddr, "")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "")
	showVersion := fs.Bool("version", false, "")
	if err := fs.Parse(args); err != nil {
		return c, false, err
	}
	if fs.NArg() > 0 {
		return c, false, fmt.Errorf("unexpected argument %q; run sesinbound --help", fs.Arg(0))
	}
	return c, *showVersion, nil
}

func newLogger(c Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	c, showVersion, err := parseServeFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	if showVersion {
		fmt.Fprintln(stderr, "sesinbound", version)
		return nil
	}
	log, err := newLogger(c, stderr)
	if err != nil {
		return err
	}

	rules := receipt.DefaultRules()
	if c.ConfigPath != "" {
		if rules, err = receipt.LoadRules(c.ConfigPath); err != nil {
			return err
		}
	}

	s3Opts := []fakes.S3Option{}
	kmsOpts := []fakes.KMSOption{fakes.WithKMSAccount(rules.Region, rules.AccountID)}
	if c.DataDir != "" {
		s3Opts = append(s3Opts, fakes.WithS3DataDir(filepath.Join(c.DataDir, "s3")))
		kmsOpts = append(kmsOpts, fakes.WithKMSDataDir(filepath.Join(c.DataDir, "kms")))
	}
	s3, err := fakes.NewS3(s3Opts...)
	if err != nil {
		return fmt.Errorf("embedded s3: %w", err)
	}
	defer s3.Close()
	kms, err := fakes.NewKMS(kmsOpts...)
	if err != nil {
		return fmt.Errorf("embedded kms: %w", err)
	}
	defer kms.Close()

	if _, err := backend.Bootstrap(ctx, s3, kms, rules, true); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	proc := receipt.NewProcessor(rules, &encrypt.Sealer{KMS: kms}, s3)
	proc.Log = log

	// Listen on both ports before serving either, so that a port in use is an
	// error at startup, not a log line later.
	awsLn, err := net.Listen("tcp", c.AWSAddr)
	if err != nil {
		return fmt.Errorf("aws endpoint: %w", err)
	}
	defer awsLn.Close()
	smtpLn, err := net.Listen("tcp", c.SMTPAddr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer smtpLn.Close()
	warnIfExposed(log, "smtp", smtpLn.Addr())
	warnIfExposed(log, "aws", awsLn.Addr())

	var ready atomic.Bool
	httpSrv := &http.Server{
		Handler:           awsHandler(fakes.Handler(s3, kms), controlHandler(&ready)),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	smtpSrv := smtpd.NewServer(ctx, proc, log)
	smtpSrv.Hostname = receipt.Hostname(rules.Region)

	errc := make(chan error, 2)
	go func() { errc <- serveHTTP(httpSrv, awsLn) }()
	go func() { errc <- smtpSrv.Serve(smtpLn) }()

	if err := proc.WriteSetupNotifications(ctx); err != nil {
		return fmt.Errorf("setup notifications: %w", err)
	}
	ready.Store(true)
	dataDir := c.DataDir
	if dataDir == "" {
		dataDir = "memory"
	}
	log.Info("sesinbound ready",
		slog.String("smtp", smtpLn.Addr().String()),
		slog.String("aws", "http://"+awsLn.Addr().String()),
		slog.String("s3", "embedded"), slog.String("kms", "embedded"),
		slog.String("data", dataDir),
		slog.String("rules", describeRules(rules)),
		slog.String("version", version))
	for _, r := range rules.Rules {
		if !r.Enabled {
			log.Warn("rule is disabled and will not run; the SES API default for Enabled is false", slog.String("rule", r.Name))
		}
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	ready.Store(false)
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	smtpErr := smtpSrv.Shutdown(shutCtx)
	httpErr := httpSrv.Shutdown(shutCtx)
	return errors.Join(smtpErr, httpErr)
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// awsHandler puts the emulator's own paths beside the AWS APIs. Bucket names
// cannot start with "_", so /_sesinbound/ never shadows a bucket.
func awsHandler(aws, control http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sesinbound/") {
			control.ServeHTTP(w, r)
			return
		}
		aws.ServeHTTP(w, r)
	})
}

func controlHandler(ready *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sesinbound/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "starting"})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": version})
	})
	return mux
}

func describeRules(rs *receipt.RuleSet) string {
	names := make([]string, len(rs.Rules))
	for i, r := range rs.Rules {
		names[i] = r.Name
		if !r.Enabled {
			names[i] += " (disabled)"
		}
	}
	return rs.Source + ": " + strings.Join(names, ", ")
}

func warnIfExposed(log *slog.Logger, what string, addr net.Addr) {
	if ta, ok := addr.(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		log.Warn("listening beyond loopback: anyone who can reach this address can use it", slog.String("listener", what), slog.String("addr", addr.String()))
	}
}
