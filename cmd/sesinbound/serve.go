package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/events"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/faults"
	"github.com/sesinbound/sesinbound/journal"
	"github.com/sesinbound/sesinbound/receipt"
	"github.com/sesinbound/sesinbound/smtpd"
)

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
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	rules := receipt.DefaultRules()
	if c.ConfigPath != "" {
		if rules, err = receipt.LoadRules(c.ConfigPath); err != nil {
			return err
		}
	}

	be, err := openBackends(ctx, c, rules, getenv)
	if err != nil {
		return err
	}
	defer be.close()

	// An unreachable backend is a clear error at startup, not a hang.
	startCtx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	created, err := backend.Bootstrap(startCtx, be.s3, be.kms, rules, !c.NoCreate)
	if err != nil {
		if errors.Is(err, backend.ErrMissing) {
			return fmt.Errorf("%w (--no-create is set; create them, or drop the flag to let sesinbound create them)", err)
		}
		return err
	}
	for _, r := range created {
		log.Info("created "+r, slog.String("s3", be.s3Name), slog.String("kms", be.kmsName))
	}
	for _, f := range be.checks(startCtx, rules) {
		switch f.Severity {
		case backend.Warn:
			log.Warn(f.Detail, slog.String("check", f.Check))
		case backend.Fail:
			log.Error(f.Detail, slog.String("check", f.Check))
		}
	}
	hostname := receipt.Hostname(rules.Region)
	tlsConfig, err := smtpd.TLSConfig(c.TLSCert, c.TLSKey, c.DataDir, hostname)
	if err != nil {
		return err
	}

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

	// The SNS certificate is fetched over https (bothListener), as SNS
	// verifiers insist.
	signer := &events.Signer{BaseURL: "https://" + awsLn.Addr().String(), Dir: c.DataDir}
	router, err := newRouter(ctx, rules, signer, getenv)
	if err != nil {
		return err
	}
	jrnl := journal.New(0)
	flts := faults.New()
	if rules.Faults != nil {
		if err := flts.Set(*rules.Faults); err != nil {
			return err
		}
	}
	proc := receipt.NewProcessor(rules, &encrypt.Sealer{KMS: faults.KMS{KMS: be.kms, Faults: flts}},
		faults.Store{ObjectStore: be.s3, Faults: flts})
	proc.Log, proc.Events, proc.Journal, proc.Envelopes = log, router, jrnl, flts
	if c.RelayAddr != "" {
		proc.Bouncer = &events.Relay{Addr: c.RelayAddr, Helo: hostname}
	}

	var ready atomic.Bool
	control := http.NewServeMux()
	control.Handle("/_sesinbound/health", healthHandler(&ready))
	control.Handle("/_sesinbound/messages", jrnl.Handler())
	control.Handle("/_sesinbound/messages/", jrnl.Handler())
	control.Handle("/_sesinbound/sns/", signer.Handler())
	control.Handle("/_sesinbound/faults", flts.Handler())
	httpSrv := &http.Server{
		Handler:           awsHandler(flts.Middleware(fakes.Handler(be.fakeS3, be.fakeKMS)), requireToken(c.AdminToken, control)),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	smtpSrv := smtpd.NewServer(ctx, proc, log)
	smtpSrv.Hostname = hostname
	smtpSrv.TLSConfig = tlsConfig
	smtpSrv.Faults = flts
	smtpSrv.MaxMessageBytes = c.MaxMessageBytes
	smtpSrv.MaxRecipients = c.MaxRecipients
	smtpSrv.MaxLineLength = c.MaxLineLength
	smtpSrv.MaxHeaderBytes = int(c.MaxHeaderBytes)
	smtpSrv.MaxHeaderFields = c.MaxHeaderFields
	smtpSrv.MaxConns = c.MaxConns
	smtpSrv.ReadTimeout = c.CommandTimeout
	smtpSrv.DataTimeout = c.DataTimeout
	smtpSrv.DeliverTimeout = c.DeliverTimeout

	errc := make(chan error, 2)
	go func() { errc <- serveHTTP(httpSrv, bothListener{awsLn, tlsConfig}) }()
	go func() { errc <- smtpSrv.Serve(smtpLn) }()

	if err := proc.WriteSetupNotifications(startCtx); err != nil {
		return fmt.Errorf("setup notifications: %s", backend.Explain(err))
	}
	ready.Store(true)
	dataDir := c.DataDir
	if dataDir == "" {
		dataDir = "memory"
	}
	log.Info("sesinbound ready",
		slog.String("smtp", smtpLn.Addr().String()),
		slog.String("aws", "http://"+awsLn.Addr().String()),
		slog.String("s3", be.s3Name), slog.String("kms", be.kmsName),
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
	if err := smtpSrv.Shutdown(shutCtx); err != nil {
		log.Warn("shutdown deadline passed; closed the remaining connections", slog.Any("err", err))
	}
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		httpSrv.Close()
	}
	log.Info("stopped")
	return nil
}

// startupTimeout bounds bootstrap and the self-check against backends.
const startupTimeout = 30 * time.Second

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

// requireToken guards the /_sesinbound/ paths that change state: with a
// token configured, PUT, POST and DELETE need "Authorization: Bearer
// <token>". Reading needs nothing.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		default:
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sesinbound"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"send 'Authorization: Bearer <admin token>' to change state"}`+"\n")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func healthHandler(ready *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "starting"})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": version})
	})
}

// newRouter routes notifications and invocations: to the URLs the rules
// map, else to SNS and Lambda when the standard variables name an endpoint
// for them, else nowhere.
func newRouter(ctx context.Context, rules *receipt.RuleSet, signer *events.Signer, getenv func(string) string) (*events.Router, error) {
	r := &events.Router{Topics: rules.Topics, Functions: rules.Functions, Signer: signer}
	snsURL := endpoint("", "SNS", getenv)
	lambdaURL := endpoint("", "LAMBDA", getenv)
	if snsURL == "" && lambdaURL == "" {
		return r, nil
	}
	cfg, err := backend.LoadConfig(ctx, rules.Region, true)
	if err != nil {
		return nil, err
	}
	if snsURL != "" {
		r.SNS = sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(snsURL) })
	}
	if lambdaURL != "" {
		r.Lambda = lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(lambdaURL) })
	}
	return r, nil
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
