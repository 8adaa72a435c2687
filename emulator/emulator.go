package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sesinbound/sesinbound/backend"
	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/endpoint"
	"github.com/sesinbound/sesinbound/events"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/faults"
	"github.com/sesinbound/sesinbound/journal"
	"github.com/sesinbound/sesinbound/receipt"
	"github.com/sesinbound/sesinbound/sesapi"
	"github.com/sesinbound/sesinbound/smtpd"
	"github.com/sesinbound/sesinbound/web"
)

// StartupTimeout bounds bootstrap and the self-check against backends.
const StartupTimeout = 30 * time.Second

// Emulator is one running sesinbound: the SMTP listener, the AWS endpoint
// (embedded S3 and KMS, and /_sesinbound/), and the pipeline between them.
// Start builds it; Shutdown or Close stops it.
type Emulator struct {
	// Rules is the configuration in force at startup; Processor.Rules and
	// SES.RuleSet give the live one.
	Rules     *receipt.RuleSet
	Backends  *Backends
	Journal   *journal.Journal
	Faults    *faults.Registry
	Processor *receipt.Processor
	// Findings are the startup self-check's results, shown on the page.
	Findings []backend.Finding
	Webhook  *journal.Webhook // nil without Config.Webhook
	// SES is the SES API over the live configuration.
	SES *sesapi.Service

	cfg     Config
	log     *slog.Logger
	smtpLn  net.Listener
	awsLn   net.Listener
	httpSrv *http.Server
	smtpSrv *smtpd.Server
	ready   atomic.Bool
	errc    chan error
	cancel  context.CancelFunc
	once    sync.Once
}

// Start loads the rules, opens the backends (creating the buckets and keys
// the rules name unless NoCreate), listens on both addresses and serves
// them. ctx bounds startup only; the emulator runs until Shutdown or Close.
func Start(ctx context.Context, c Config) (_ *Emulator, err error) {
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	getenv := c.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	e := &Emulator{cfg: c, log: log, errc: make(chan error, 2)}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	var file *receipt.RuleSet
	e.SES, file, err = OpenSES(c, log, func(rs *receipt.RuleSet) {
		if p := e.Processor; p != nil {
			p.SetRules(rs)
		}
	}, true)
	if err != nil {
		return nil, err
	}
	rules := e.SES.RuleSet()
	e.Rules = rules
	e.Faults = faults.New()
	if file.Faults != nil {
		if err := e.Faults.Set(*file.Faults); err != nil {
			return nil, err
		}
	}
	be, err := OpenBackends(ctx, c, rules, getenv, e.Faults)
	if err != nil {
		return nil, err
	}
	e.Backends = be

	// An unreachable backend is a clear error at startup, not a hang.
	startCtx, cancel := context.WithTimeout(ctx, StartupTimeout)
	defer cancel()
	created, err := backend.Bootstrap(startCtx, be.S3, be.KMS, rules, !c.NoCreate)
	if err != nil {
		if errors.Is(err, backend.ErrMissing) {
			return nil, fmt.Errorf("%w (--no-create is set; create them, or drop the flag to let sesinbound create them)", err)
		}
		return nil, err
	}
	for _, r := range created {
		log.Info("created "+r, slog.String("s3", be.S3Name), slog.String("kms", be.KMSName))
	}
	hostname := receipt.Hostname(rules.Region)
	tlsConfig, err := smtpd.TLSConfig(c.TLSCert, c.TLSKey, c.DataDir, hostname)
	if err != nil {
		return nil, err
	}

	// Listen on both ports before serving either, so that a port in use is an
	// error at startup, not a log line later.
	if e.awsLn, err = net.Listen("tcp", c.AWSAddr); err != nil {
		return nil, fmt.Errorf("aws endpoint: %w", err)
	}
	if e.smtpLn, err = net.Listen("tcp", c.SMTPAddr); err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	warnIfExposed(log, "smtp", e.smtpLn.Addr())
	warnIfExposed(log, "aws", e.awsLn.Addr())

	// The SNS certificate is fetched over https (bothListener), as SNS
	// verifiers insist.
	signer := &events.Signer{BaseURL: "https://" + e.AWSAddr(), Dir: c.DataDir}
	router, err := newRouter(ctx, file, signer, getenv)
	if err != nil {
		return nil, err
	}
	e.Journal = journal.New(0)
	e.Journal.Epoch = uint64(time.Now().UnixNano()) // tells this run's cursors from an earlier run's
	proc := receipt.NewProcessor(rules, &encrypt.Sealer{KMS: faults.KMS{KMS: be.KMS, Faults: e.Faults}},
		faults.Store{ObjectStore: be.S3, Faults: e.Faults})
	proc.Log, proc.Events, proc.Journal, proc.Envelopes = log, router, e.Journal, e.Faults
	if c.RelayAddr != "" {
		proc.Bouncer = &events.Relay{Addr: c.RelayAddr, Helo: hostname}
	}
	e.Processor = proc
	e.SES.SetTargets(&targets{e: e, router: router})

	// Deliveries run under a context of their own, cancelled only once
	// Shutdown has let the messages in DATA finish.
	runCtx, runCancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = runCancel
	if c.Webhook != "" {
		e.Webhook = &journal.Webhook{URL: c.Webhook, Batch: c.WebhookBatch, Log: log}
		head := e.Journal.Head()
		e.Webhook.After = &head
		go e.Webhook.Run(runCtx, e.Journal)
	}
	smtpSrv := smtpd.NewServer(runCtx, proc, log)
	smtpSrv.Hostname = hostname
	smtpSrv.TLSConfig = tlsConfig
	smtpSrv.Faults = e.Faults
	smtpSrv.MaxMessageBytes = c.MaxMessageBytes
	smtpSrv.MaxRecipients = c.MaxRecipients
	smtpSrv.MaxLineLength = c.MaxLineLength
	smtpSrv.MaxHeaderBytes = int(c.MaxHeaderBytes)
	smtpSrv.MaxHeaderFields = c.MaxHeaderFields
	smtpSrv.MaxConns = c.MaxConns
	smtpSrv.ReadTimeout = c.CommandTimeout
	smtpSrv.DataTimeout = c.DataTimeout
	smtpSrv.DeliverTimeout = c.DeliverTimeout
	e.smtpSrv = smtpSrv

	smtpLn := e.smtpLn
	go func() { e.errc <- smtpSrv.Serve(smtpLn) }()

	// The rest is not needed to take mail (Bootstrap above is what makes a
	// 250 safe), so it runs while the first client connects: the
	// self-checks, the page's S3 client (loading an AWS SDK configuration
	// costs milliseconds) and the AWS endpoint. Health reports ready only
	// once all of it is done.
	e.Findings = be.Checks(startCtx, rules)
	for _, f := range e.Findings {
		switch f.Severity {
		case backend.Warn:
			log.Warn(f.Detail, slog.String("check", f.Check))
		case backend.Fail:
			log.Error(f.Detail, slog.String("check", f.Check))
		}
	}

	control := http.NewServeMux()
	control.Handle("/_sesinbound/health", endpoint.Health(&e.ready, c.Version))
	control.Handle("/_sesinbound/messages", e.Journal.Handler())
	control.Handle("/_sesinbound/messages/", e.Journal.Handler())
	control.Handle("/_sesinbound/events", e.Journal.Handler())
	control.Handle("/_sesinbound/sns/", signer.Handler())
	control.Handle("/_sesinbound/faults", e.Faults.Handler())
	control.Handle("/_sesinbound/reset", e.resetHandler())
	if e.Webhook != nil {
		control.Handle("/_sesinbound/webhook", e.Webhook.Handler())
	}
	control.Handle("/_sesinbound/config", configHandler(e.SES))
	control.HandleFunc("GET /_sesinbound/status", e.statusHandler)
	readS3, err := e.readClients(ctx, c)
	if err != nil {
		return nil, err
	}
	page := &web.Server{Journal: e.Journal, S3: readS3, KMS: be.KMS, Log: log}
	page.Register(control)
	e.httpSrv = &http.Server{
		Handler: &endpoint.Router{
			AWS:         fakes.Handler(be.FakeS3, be.FakeKMS),
			Control:     endpoint.SameSite(endpoint.RequireToken(c.AdminToken, control)),
			SES:         e.SES,
			IsSESAction: sesapi.IsOperation,
		},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for open requests: end the streams and long polls.
	e.httpSrv.RegisterOnShutdown(e.Journal.Close)

	httpSrv, awsLn := e.httpSrv, e.awsLn
	go func() { e.errc <- serveHTTP(httpSrv, bothListener{awsLn, tlsConfig}) }()

	if err := proc.WriteSetupNotifications(startCtx); err != nil {
		return nil, fmt.Errorf("setup notifications: %s", backend.Explain(err))
	}
	e.ready.Store(true)
	data := c.DataDir
	if data == "" {
		data = "memory"
	}
	log.Info("sesinbound ready",
		slog.String("smtp", e.SMTPAddr()),
		slog.String("aws", e.URL()),
		slog.String("s3", be.S3Name), slog.String("kms", be.KMSName),
		slog.String("data", data),
		slog.String("rules", DescribeRules(rules)),
		slog.String("version", c.Version))
	for _, r := range rules.Rules {
		if !r.Enabled {
			log.Warn("rule is disabled and will not run; the SES API default for Enabled is false", slog.String("rule", r.Name))
		}
	}
	return e, nil
}

// SMTPAddr is the address the SMTP listener got, e.g. "127.0.0.1:2525".
func (e *Emulator) SMTPAddr() string { return e.smtpLn.Addr().String() }

// AWSAddr is the address of the AWS endpoint, e.g. "127.0.0.1:4566".
func (e *Emulator) AWSAddr() string { return e.awsLn.Addr().String() }

// URL is the AWS endpoint's URL, for AWS_ENDPOINT_URL.
func (e *Emulator) URL() string { return "http://" + e.AWSAddr() }

// Err reports a listener that stopped serving on its own.
func (e *Emulator) Err() <-chan error { return e.errc }

// Shutdown stops accepting, lets messages already in DATA get their reply,
// closes idle connections and stops the endpoint. Past ctx's deadline the
// remaining connections are closed.
func (e *Emulator) Shutdown(ctx context.Context) error {
	var err error
	e.once.Do(func() {
		e.ready.Store(false)
		if e.smtpSrv != nil {
			if serr := e.smtpSrv.Shutdown(ctx); serr != nil {
				err = fmt.Errorf("smtp shutdown: %w", serr)
			}
		}
		if e.httpSrv != nil {
			if herr := e.httpSrv.Shutdown(ctx); herr != nil {
				e.httpSrv.Close()
			}
		}
		e.release()
	})
	return err
}

// Close stops everything at once.
func (e *Emulator) Close() error {
	e.once.Do(func() {
		e.ready.Store(false)
		if e.smtpSrv != nil {
			e.smtpSrv.Close()
		}
		if e.httpSrv != nil {
			e.httpSrv.Close()
		}
		e.release()
	})
	return nil
}

func (e *Emulator) release() {
	for _, ln := range []net.Listener{e.smtpLn, e.awsLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if e.cancel != nil {
		e.cancel()
	}
	if e.Backends != nil {
		e.Backends.Close()
	}
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newRouter routes notifications and invocations: to the URLs the rules
// map, else to SNS and Lambda when the standard variables name an endpoint
// for them, else nowhere.
func newRouter(ctx context.Context, rules *receipt.RuleSet, signer *events.Signer, getenv func(string) string) (*events.Router, error) {
	r := &events.Router{Topics: rules.Topics, Functions: rules.Functions, Signer: signer}
	snsURL := Endpoint("", "SNS", getenv)
	lambdaURL := Endpoint("", "LAMBDA", getenv)
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

// OpenSES builds the live SES configuration serve starts with: what
// --data-dir saved, then the rules file (or, with neither, the built-in
// rule) as its named set, made active. It returns the rules file as
// loaded too. With save, the service keeps --data-dir up to date and
// hands every change to apply; without (doctor), it writes nothing.
func OpenSES(c Config, log *slog.Logger, apply func(*receipt.RuleSet), save bool) (*sesapi.Service, *receipt.RuleSet, error) {
	file := c.Rules
	if file == nil {
		file = receipt.DefaultRules()
		if c.ConfigPath != "" {
			var err error
			if file, err = receipt.LoadRules(c.ConfigPath); err != nil {
				return nil, nil, err
			}
		}
	}
	cfg := sesapi.Config{
		AccountID: file.AccountID, Region: file.Region,
		Topics: file.Topics, Functions: file.Functions,
		Log: log, Apply: apply,
	}
	var store *sesapi.Store
	if c.DataDir != "" {
		store = sesapi.NewStore(c.DataDir)
	}
	if save {
		cfg.Store = store
	}
	svc := sesapi.New(cfg)
	restored, err := svc.LoadFrom(store)
	if err != nil {
		return nil, nil, fmt.Errorf("restore the SES configuration: %w", err)
	}
	if !restored || c.ConfigPath != "" || c.Rules != nil {
		if err := svc.Import(file); err != nil {
			return nil, nil, fmt.Errorf("load the rules into the SES configuration: %w", err)
		}
	}
	return svc, file, nil
}

// DescribeRules names the rules and where they came from, for logs.
func DescribeRules(rs *receipt.RuleSet) string {
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
