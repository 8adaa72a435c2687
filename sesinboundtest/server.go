package sesinboundtest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sesinbound/sesinbound/emulator"
	"github.com/sesinbound/sesinbound/receipt"
)

// Server is a sesinbound running in the test's process. Its Client methods
// talk to it over its real listeners, as any other client would.
type Server struct {
	*Client
	// Emulator is the running assembly, for what the Client does not
	// cover (the fault registry, the processor).
	Emulator *emulator.Emulator
}

// Option configures Start.
type Option func(*settings)

type settings struct {
	rules     []byte
	rulesName string
	rulesFile string
	dataDir   string
	log       bool
	logLevel  slog.Level
	logger    *slog.Logger
	config    []func(*emulator.Config)
}

// WithRules runs the rules in doc, YAML or JSON in the rules file's format
// (see the README's "The rules file"). Without rules, the built-in
// catch-all rule "store-all" stores every message in bucket ses-inbound.
func WithRules(doc []byte) Option {
	return func(s *settings) { s.rules, s.rulesName = doc, "rules" }
}

// WithRulesFile runs the rules in a file.
func WithRulesFile(path string) Option { return func(s *settings) { s.rulesFile = path } }

// WithDataDir keeps the embedded S3 and KMS in dir instead of memory.
func WithDataDir(dir string) Option { return func(s *settings) { s.dataDir = dir } }

// WithLog sends the emulator's log to t.Log, from level up (slog.LevelInfo
// gives a line per message with its reply).
func WithLog(level slog.Level) Option {
	return func(s *settings) { s.log, s.logLevel = true, level }
}

// WithLogger sends the emulator's log to l (for New; Start uses WithLog).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// WithConfig changes the emulator's Config before it starts: limits,
// timeouts, an admin token, a webhook, external backends.
func WithConfig(f func(*emulator.Config)) Option {
	return func(s *settings) { s.config = append(s.config, f) }
}

// Start runs a sesinbound for t on free 127.0.0.1 ports and stops it when
// the test ends. It fails the test if the emulator cannot start.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var tl *testLog
	opts = append(opts, func(s *settings) {
		if s.log {
			tl = &testLog{t: t}
			s.logger = slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{Level: s.logLevel}))
		}
	})
	srv, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		if tl != nil {
			tl.stop()
		}
	})
	return srv
}

// New runs a sesinbound on free 127.0.0.1 ports until Close, for code that
// has no testing.TB (a TestMain, an example). Start is New for one test.
func New(opts ...Option) (*Server, error) {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	c := emulator.DefaultConfig()
	c.SMTPAddr, c.AWSAddr = "127.0.0.1:0", "127.0.0.1:0"
	c.DataDir = s.dataDir
	c.ConfigPath = s.rulesFile
	c.Version = "sesinboundtest"
	c.Log = s.logger
	if s.rules != nil {
		rules, err := receipt.ParseRules(bytes.NewReader(s.rules), s.rulesName)
		if err != nil {
			return nil, fmt.Errorf("sesinboundtest: %w", err)
		}
		c.Rules = rules
	}
	for _, f := range s.config {
		f(&c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), emulator.StartupTimeout)
	defer cancel()
	e, err := emulator.Start(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("sesinboundtest: start: %w", err)
	}
	return &Server{
		Client:   newClient(e.URL(), e.SMTPAddr(), e.Rules.Region, c.AdminToken),
		Emulator: e,
	}, nil
}

// Close stops the server: messages in DATA get their reply first, for up
// to 5 seconds.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Emulator.Shutdown(ctx)
}

// testLog writes log lines to t.Log until the test's cleanup, and drops
// those that come later (t.Log panics after the test).
type testLog struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Log(string(bytes.TrimSuffix(p, []byte("\n"))))
	}
	return len(p), nil
}

func (l *testLog) stop() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}
