package smtpd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/receipt"
)

// session is one SMTP connection's transaction state.
type session struct {
	srv    *Server
	conn   *smtp.Conn
	remote netip.Addr
	from   string
	to     []string
	size   int64             // the SIZE the client declared, if any
	snap   *receipt.Snapshot // the configuration this message runs under, from MAIL

	// inMessage is set from DATA until the reply is written, for graceful
	// shutdown.
	inMessage bool
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	sess := &session{srv: s, conn: c}
	if ta, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		sess.remote = ta.AddrPort().Addr().Unmap()
	}
	return sess, nil
}

func (s *session) Reset() {
	s.from, s.to, s.size, s.snap = "", nil, 0, nil
	if s.inMessage {
		s.inMessage = false
		s.srv.endMessage()
	}
}

func (s *session) Logout() error {
	s.Reset()
	return nil
}

func (s *session) client() receipt.Client {
	_, tls := s.conn.TLSConnectionState()
	return receipt.Client{Addr: s.remote, Helo: s.conn.Hostname(), TLS: tls}
}

// fault returns an injected reply for stage, if one fires.
func (s *session) fault(stage string) error {
	if s.srv.Faults == nil {
		return nil
	}
	code, enh, msg, ok := s.srv.Faults.SMTPFault(stage)
	if !ok {
		return nil
	}
	s.srv.log.LogAttrs(s.srv.baseCtx, slog.LevelInfo, "injected fault", slog.String("stage", stage), slog.Int("code", code),
		slog.String("remote", s.remote.String()))
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode(enh), Message: msg}
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.Reset()
	if err := s.fault("MAIL"); err != nil {
		return err
	}
	if opts != nil && opts.Size > 0 {
		if opts.Size > s.srv.smtp.MaxMessageBytes {
			return smtp.ErrDataTooLarge
		}
		s.size = opts.Size
	}
	s.from = from
	s.snap = s.srv.recv.Snapshot()
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.fault("RCPT"); err != nil {
		return err
	}
	err := s.srv.recv.AcceptsRecipient(s.srv.baseCtx, s.snap, to, s.client())
	if err != nil {
		return s.srv.refuse(s.srv.baseCtx, slog.LevelInfo, "recipient refused",
			err, slog.String("rcpt", to), slog.String("remote", s.remote.String()))
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	s.inMessage = true
	s.srv.beginMessage()
	// go-smtp sets a read deadline per command line only; bound the whole
	// transfer, or a client sending one byte a minute holds the slot.
	s.conn.Conn().SetReadDeadline(time.Now().Add(orDefault(s.srv.DataTimeout, DefaultDataTimeout)))
	// The message is read after room for SES's headers, which the pipeline
	// can then prepend without copying the message. Deliver keeps nothing
	// of the message it was handed (it copies what it stores), so the
	// buffer can serve the next one.
	buf := s.srv.buffers.newFrameBuffer(s.srv.smtp.MaxMessageBytes)
	raw, err := buf.read(r, s.size)
	defer buf.release(raw)
	frame := receipt.NewFrame(raw, receipt.FrameHeadroom)
	data := frame.Bytes()
	if err != nil {
		return s.srv.refuse(s.srv.baseCtx, slog.LevelInfo, "message not received", err,
			slog.String("from", s.from), slog.String("remote", s.remote.String()))
	}
	if err := s.checkHeader(data); err != nil {
		return s.srv.refuse(s.srv.baseCtx, slog.LevelInfo, "message refused", err,
			slog.String("from", s.from), slog.String("remote", s.remote.String()))
	}
	if err := s.fault("DATA"); err != nil {
		return err
	}
	msg := &receipt.Message{From: s.from, To: s.to, Data: data, Frame: frame, Client: s.client(), Snapshot: s.snap}
	ctx, cancel := context.WithTimeout(s.srv.baseCtx, orDefault(s.srv.DeliverTimeout, DefaultDeliverTimeout))
	defer cancel()
	res, err := s.srv.recv.Deliver(ctx, msg)
	id := ""
	if res != nil {
		id = res.MessageID
	}
	attrs := []slog.Attr{
		slog.String("msg_id", id), slog.String("from", s.from), slog.Any("rcpt", s.to),
		slog.String("remote", s.remote.String()), slog.Int("size", len(data)),
	}
	rep := replyStored(id)
	if err != nil {
		rep = s.srv.refuse(ctx, slog.LevelWarn, "message not accepted", err, attrs...)
	} else {
		s.srv.log.LogAttrs(ctx, slog.LevelInfo, "message accepted", append(attrs, slog.Int("code", 250))...)
	}
	if res != nil {
		// Report the reply now, before go-smtp writes it, so that the record
		// is complete by the time the client reads its reply.
		s.srv.recv.Replied(s.srv.baseCtx, res, code(rep), replyText(rep))
	}
	return rep
}

// checkHeader applies the header section limits.
func (s *session) checkHeader(data []byte) error {
	end, fields := 0, 0
	for f := range receipt.HeaderFields(data) {
		end += len(f.Raw)
		if c := f.Raw[0]; c != ' ' && c != '\t' {
			fields++ // a field, or a line that is not one
		}
	}
	if max := orDefault(s.srv.MaxHeaderBytes, DefaultMaxHeaderBytes); end > max {
		return fmt.Errorf("%w: %d bytes, the limit is %d", errHeaderTooLarge, end, max)
	}
	if max := orDefault(s.srv.MaxHeaderFields, DefaultMaxHeaderFields); fields > max {
		return fmt.Errorf("%w: %d fields, the limit is %d", errHeaderTooLarge, fields, max)
	}
	return nil
}
