package smtpd

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/receipt"
)

// Receiver is what the SMTP server hands messages to.
type Receiver interface {
	// AcceptsConnection returns nil when the client may talk to us at all.
	AcceptsConnection(ctx context.Context, addr netip.Addr) error
	// Snapshot returns the configuration in force now. A message takes it
	// at MAIL and keeps it through RCPT and DATA to its reply, so a change
	// of configuration applies from the next message; nil is fine for a
	// receiver whose configuration never changes.
	Snapshot() *receipt.Snapshot
	// AcceptsRecipient returns nil when mail for rcpt can be received from
	// this client under snap.
	AcceptsRecipient(ctx context.Context, snap *receipt.Snapshot, rcpt string, client receipt.Client) error
	// Deliver processes a complete message (msg.Snapshot set) and returns
	// once it is stored.
	Deliver(ctx context.Context, msg *receipt.Message) (*receipt.Result, error)
	// Replied is called with the reply to a message that reached Deliver,
	// just before the client is sent it.
	Replied(ctx context.Context, res *receipt.Result, code int, text string)
}

// Faults injects replies at MAIL, RCPT or DATA.
type Faults interface {
	SMTPFault(stage string) (code int, enhanced [3]int, message string, ok bool)
}

// Defaults for the zero values of Server's fields.
const (
	DefaultHostname        = "inbound-smtp.us-east-1.amazonaws.com"
	DefaultMaxMessageBytes = 40 << 20         // SES's limit for the S3 action, headers included
	DefaultMaxRecipients   = 1000             // RFC 5321 asks for at least 100
	DefaultReadTimeout     = 5 * time.Minute  // RFC 5321 §4.5.3.2: 5 minutes per command
	DefaultDataTimeout     = 10 * time.Minute // RFC 5321 §4.5.3.2.6: 10 minutes for the whole DATA
	DefaultWriteTimeout    = 5 * time.Minute
	DefaultDeliverTimeout  = 30 * time.Second
	DefaultMaxLineLength   = 2000    // go-smtp's default, twice RFC 5321's 1000
	DefaultMaxHeaderBytes  = 1 << 20 // the header section
	DefaultMaxHeaderFields = 1000
	DefaultMaxConns        = 500
)

// Server is an SMTP server in front of a Receiver; make one with
// NewServer. Set its fields before calling Serve: each zero value means
// the default named on the field, as does a negative number.
type Server struct {
	// Hostname is used in the greeting and EHLO reply; "" means
	// DefaultHostname.
	Hostname string
	// MaxMessageBytes limits the size of a message; 0 means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// MaxRecipients limits RCPTs per message; 0 means DefaultMaxRecipients.
	MaxRecipients int
	// ReadTimeout and WriteTimeout bound each command and reply; 0 means
	// DefaultReadTimeout and DefaultWriteTimeout.
	ReadTimeout, WriteTimeout time.Duration
	// DataTimeout bounds the transfer of one message, from the 354 to the
	// final dot, so a client that trickles bytes cannot hold a connection;
	// 0 means DefaultDataTimeout.
	DataTimeout time.Duration
	// MaxLineLength limits command and message lines (500 5.6.0 past it);
	// 0 means DefaultMaxLineLength.
	MaxLineLength int
	// MaxHeaderBytes and MaxHeaderFields limit a message's header section
	// (552 5.3.4 past them); 0 means DefaultMaxHeaderBytes and
	// DefaultMaxHeaderFields.
	MaxHeaderBytes, MaxHeaderFields int
	// MaxConns limits concurrent connections; more are refused with 421.
	// 0 means DefaultMaxConns.
	MaxConns int
	// Faults, when set, injects SMTP replies (package faults); nil injects
	// none.
	Faults Faults
	// DeliverTimeout bounds the work done after DATA before the reply; past
	// it the sender gets 451. 0 means DefaultDeliverTimeout.
	DeliverTimeout time.Duration
	// AllExtensions leaves go-smtp's EHLO reply as it is (PIPELINING,
	// 8BITMIME, ENHANCEDSTATUSCODES, CHUNKING, SIZE, LIMITS, STARTTLS); by
	// default it is rewritten to what SES offers, 8BITMIME and STARTTLS.
	AllExtensions bool
	// TLSConfig enables STARTTLS when set; nil offers no STARTTLS.
	TLSConfig *tls.Config
	// Rand feeds the token in the greeting; nil means crypto/rand.
	// Clients are greeted concurrently, so it must be safe for concurrent
	// use (lock a deterministic test reader).
	Rand io.Reader

	baseCtx context.Context
	recv    Receiver
	log     *slog.Logger
	smtp    *smtp.Server
	buffers buffers // where messages are read

	initOnce sync.Once
	mu       sync.Mutex
	conns    map[net.Conn]struct{} // open connections, to close at shutdown
	inflight int                   // messages between DATA and their reply
	drained  chan struct{}         // closed when inflight drops to 0 while draining
	draining bool
}

// NewServer returns a server that hands messages to recv. ctx bounds every
// delivery: go-smtp sessions carry no context, so this is the one stored.
func NewServer(ctx context.Context, recv Receiver, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{baseCtx: ctx, recv: recv, log: log, conns: map[net.Conn]struct{}{}, drained: make(chan struct{})}
}

// Serve accepts connections on ln until Close or Shutdown. A Server not
// made by NewServer has no Receiver, and Serve says so.
func (s *Server) Serve(ln net.Listener) error {
	if s.recv == nil {
		return errors.New("smtpd: the Server has no Receiver; make it with NewServer")
	}
	s.init()
	return s.smtp.Serve(&listener{Listener: ln, srv: s})
}

// init builds the go-smtp server once: Serve and Close may run at the same
// time (an emulator closed before its first connection).
func (s *Server) init() { s.initOnce.Do(s.build) }

func (s *Server) build() {
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = orDefault(s.Hostname, DefaultHostname)
	srv.MaxMessageBytes = orDefault(s.MaxMessageBytes, DefaultMaxMessageBytes)
	srv.MaxRecipients = orDefault(s.MaxRecipients, DefaultMaxRecipients)
	srv.ReadTimeout = orDefault(s.ReadTimeout, DefaultReadTimeout)
	srv.WriteTimeout = orDefault(s.WriteTimeout, DefaultWriteTimeout)
	srv.MaxLineLength = orDefault(s.MaxLineLength, DefaultMaxLineLength)
	srv.TLSConfig = s.TLSConfig
	srv.ErrorLog = slogPrinter{s.log}
	s.smtp = srv
}

// Close stops the server at once, dropping open connections.
func (s *Server) Close() error {
	s.init()
	return s.smtp.Close()
}

// Shutdown stops accepting connections, lets messages already in DATA finish
// and get their reply until ctx ends, then closes every connection. Idle
// clients are not waited for: they retry, as SMTP clients do.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	s.draining = true
	drained := s.drained
	if s.inflight == 0 {
		close(drained)
	}
	s.mu.Unlock()
	stopped := make(chan struct{})
	stopCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		s.smtp.Shutdown(stopCtx) // closes the listeners, then waits for connections
		close(stopped)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = fmt.Errorf("smtp shutdown: messages still in progress: %w", ctx.Err())
	}
	s.mu.Lock()
	open := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		c.Close() // untracks itself, so not under s.mu
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
	}
	return err
}

// track adds a connection to the set of open ones, or reports false when
// MaxConns are already open.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) >= orDefault(s.MaxConns, DefaultMaxConns) {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// beginMessage and endMessage bracket a message from DATA to its reply.
func (s *Server) beginMessage() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight++
}

func (s *Server) endMessage() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if s.inflight == 0 && s.draining {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
}

// orDefault is v, or def when v is zero or negative.
func orDefault[T int | int64 | time.Duration | string](v, def T) T {
	var zero T
	if v <= zero {
		return def
	}
	return v
}

// rand is the source of the greeting's token.
func (s *Server) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// slogPrinter lets go-smtp report connection errors through slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Warn("smtp: " + fmt.Sprintf(format, v...))
}

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("smtp: " + fmt.Sprint(v...))
}
