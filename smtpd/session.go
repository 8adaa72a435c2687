package smtpd

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"

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
	size   int64 // the SIZE the client declared, if any

	// replied is the last message delivered and its reply, reported to the
	// Receiver once go-smtp has written the reply (it resets the session
	// right after).
	replied *pendingReply
	// inMessage is set from DATA until the reply is written, for graceful
	// shutdown.
	inMessage bool
}

type pendingReply struct {
	res  *receipt.Result
	code int
	text string
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	sess := &session{srv: s, conn: c}
	if ta, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		sess.remote = ta.AddrPort().Addr().Unmap()
	}
	return sess, nil
}

func (s *session) Reset() {
	s.from, s.to, s.size = "", nil, 0
	if p := s.replied; p != nil {
		s.replied = nil
		s.srv.recv.Replied(s.srv.baseCtx, p.res, p.code, p.text)
	}
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

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.Reset()
	if opts != nil && opts.Size > 0 {
		if opts.Size > s.srv.smtp.MaxMessageBytes {
			return smtp.ErrDataTooLarge
		}
		s.size = opts.Size
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	err := s.srv.recv.AcceptsRecipient(s.srv.baseCtx, to, s.client())
	if err != nil {
		s.srv.log.LogAttrs(s.srv.baseCtx, slog.LevelInfo, "recipient refused",
			slog.String("rcpt", to), slog.String("remote", s.remote.String()), slog.Int("code", code(reply(err))))
		return reply(err)
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	s.inMessage = true
	s.srv.beginMessage()
	data, err := readMessage(r, s.size)
	if err != nil {
		return reply(err)
	}
	msg := &receipt.Message{From: s.from, To: s.to, Data: data, Client: s.client()}
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
		rep = reply(err)
		s.srv.log.LogAttrs(ctx, slog.LevelWarn, "message not accepted",
			append(attrs, slog.Int("code", code(rep)), slog.Any("err", err))...)
	} else {
		s.srv.log.LogAttrs(ctx, slog.LevelInfo, "message accepted", append(attrs, slog.Int("code", 250))...)
	}
	if res != nil {
		s.replied = &pendingReply{res: res, code: code(rep), text: replyText(rep)}
	}
	return rep
}

// readMessage reads a whole DATA section. go-smtp's reader enforces the size
// limit and returns smtp.ErrDataTooLarge past it. When the client declared a
// SIZE, the buffer is allocated once at that size.
func readMessage(r io.Reader, sizeHint int64) ([]byte, error) {
	capacity := int64(64 << 10)
	if sizeHint > 0 {
		capacity = sizeHint + 1 // +1 so the final Read that sees EOF does not grow it
	}
	buf := make([]byte, 0, capacity)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
