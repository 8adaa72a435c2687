package smtpd

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/receipt"
)

// Receiver is what the SMTP server hands messages to.
type Receiver interface {
	// AcceptsConnection returns nil when the client may talk to us at all.
	AcceptsConnection(ctx context.Context, addr netip.Addr) error
	// AcceptsRecipient returns nil when mail for rcpt can be received from
	// this client.
	AcceptsRecipient(ctx context.Context, rcpt string, client receipt.Client) error
	// Deliver processes a complete message and returns once it is stored.
	Deliver(ctx context.Context, msg *receipt.Message) (*receipt.Result, error)
	// Replied is called once the client has the reply to a message that
	// reached Deliver.
	Replied(ctx context.Context, res *receipt.Result, code int, text string)
}

// Defaults for the zero values of Server's fields.
const (
	DefaultHostname        = "inbound-smtp.us-east-1.amazonaws.com"
	DefaultMaxMessageBytes = 40 << 20 // SES's limit for the S3 action, headers included
	DefaultMaxRecipients   = 1000     // RFC 5321 asks for at least 100
	DefaultReadTimeout     = 5 * time.Minute
	DefaultWriteTimeout    = 5 * time.Minute
	DefaultDeliverTimeout  = 60 * time.Second
)

// Server is an SMTP server in front of a Receiver. Set its fields before
// calling Serve.
type Server struct {
	// Hostname is used in the greeting and EHLO reply.
	Hostname string
	// MaxMessageBytes limits the size of a message; 0 means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// MaxRecipients limits RCPTs per message; 0 means DefaultMaxRecipients.
	MaxRecipients int
	// ReadTimeout and WriteTimeout bound each command and reply; 0 means the
	// defaults.
	ReadTimeout, WriteTimeout time.Duration
	// DeliverTimeout bounds the work done after DATA before the reply; past
	// it the sender gets 451.
	DeliverTimeout time.Duration
	// TLSConfig enables STARTTLS when set.
	TLSConfig *tls.Config

	baseCtx context.Context
	recv    Receiver
	log     *slog.Logger
	smtp    *smtp.Server
}

// NewServer returns a server that hands messages to recv. ctx bounds every
// delivery: go-smtp sessions carry no context, so this is the one stored.
func NewServer(ctx context.Context, recv Receiver, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{baseCtx: ctx, recv: recv, log: log}
}

// Serve accepts connections on ln until Close or Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	return s.smtp.Serve(&listener{Listener: ln, srv: s})
}

func (s *Server) init() {
	if s.smtp != nil {
		return
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = orDefault(s.Hostname, DefaultHostname)
	srv.MaxMessageBytes = orDefault(s.MaxMessageBytes, DefaultMaxMessageBytes)
	srv.MaxRecipients = orDefault(s.MaxRecipients, DefaultMaxRecipients)
	srv.ReadTimeout = orDefault(s.ReadTimeout, DefaultReadTimeout)
	srv.WriteTimeout = orDefault(s.WriteTimeout, DefaultWriteTimeout)
	srv.TLSConfig = s.TLSConfig
	srv.ErrorLog = slogPrinter{s.log}
	s.smtp = srv
}

// Close stops the server at once, dropping open connections.
func (s *Server) Close() error {
	s.init()
	return s.smtp.Close()
}

// Shutdown stops accepting connections and waits, until ctx ends, for the
// open ones to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	return s.smtp.Shutdown(ctx)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// slogPrinter lets go-smtp report connection errors through slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Warn("smtp: " + fmt.Sprintf(format, v...))
}

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("smtp: " + fmt.Sprint(v...))
}
