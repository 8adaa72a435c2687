package smtpd

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"slices"
	"time"
)

// listener wraps the server's listener to do what go-smtp has no hook for:
// refuse clients that an IP address filter blocks before the greeting, and
// greet in SES's words.
type listener struct {
	net.Listener
	srv *Server
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			addr := ta.AddrPort().Addr().Unmap()
			if err := l.srv.recv.AcceptsConnection(l.srv.baseCtx, addr); err != nil {
				rep := reply(err)
				l.srv.log.LogAttrs(l.srv.baseCtx, slog.LevelInfo, "connection refused",
					slog.String("remote", addr.String()), slog.Int("code", code(rep)), slog.Any("err", err))
				go refuse(c, replyLine(rep))
				continue
			}
		}
		host := l.srv.smtp.Domain
		bc := &bannerConn{
			Conn: c,
			srv:  l.srv,
			want: []byte("220 " + host + " ESMTP Service Ready\r\n"),
			host: host,
		}
		if !l.srv.track(bc) {
			l.srv.log.LogAttrs(l.srv.baseCtx, slog.LevelWarn, "connection refused: too many connections",
				slog.String("remote", c.RemoteAddr().String()), slog.Int("code", 421))
			go refuse(c, replyLine(replyTooBusy))
			continue
		}
		return bc, nil
	}
}

// refuse greets a blocked client with its refusal and hangs up, as an MTA
// rejecting at connect time does.
func refuse(c net.Conn, line string) {
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte(line))
}

// go-smtp greets with "220 <domain> ESMTP Service Ready" and offers no way to
// change the words. SES greets with "220 <host> ESMTP Amazon SES <token>",
// and people check that line by eye and in scripts, so the first write on
// each connection is swapped when it is exactly go-smtp's greeting.
//
// go-smtp's EHLO reply has no hook either: it always offers PIPELINING,
// ENHANCEDSTATUSCODES, CHUNKING and SIZE (and LIMITS with a recipient
// limit). SES offers 8BITMIME and STARTTLS only, so the reply is rewritten
// to SES's lines: the host, the extensions SES offers that go-smtp offered,
// then "250 Ok". The commands behind the others keep working. After
// STARTTLS the connection's writes are TLS records, so the reply to the
// second EHLO is go-smtp's own.
type bannerConn struct {
	net.Conn
	srv  *Server
	want []byte
	host string
	done bool // only the first write can be the greeting
	// ehlo collects go-smtp's EHLO reply, one line per write, until its
	// last line; nil when not inside one.
	ehlo []byte
}

func (c *bannerConn) Close() error {
	c.srv.untrack(c)
	return c.Conn.Close()
}

func (c *bannerConn) Write(p []byte) (int, error) {
	if !c.done {
		c.done = true
		if bytes.Equal(p, c.want) {
			if _, err := c.Conn.Write([]byte("220 " + c.host + " ESMTP Amazon SES " + token(c.srv.rand()) + "\r\n")); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	if c.srv.AllExtensions {
		return c.Conn.Write(p)
	}
	if c.ehlo == nil && !bytes.HasPrefix(p, ehloFirst) {
		return c.Conn.Write(p)
	}
	c.ehlo = append(c.ehlo, p...)
	if !ehloComplete(c.ehlo) {
		return len(p), nil
	}
	out := sesEHLO(c.host, c.ehlo)
	c.ehlo = nil
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ehloFirst starts go-smtp's multi-line EHLO reply ("250-Hello <client>").
var ehloFirst = []byte("250-Hello ")

// sesExtensions are the EHLO extensions SES offers (ses-inbound.md §7).
var sesExtensions = []string{"8BITMIME", "STARTTLS"}

// ehloComplete reports whether b ends with the last line of a reply.
func ehloComplete(b []byte) bool {
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		return false
	}
	b = b[:len(b)-2]
	last := b[bytes.LastIndex(b, []byte("\r\n"))+1:]
	last = bytes.TrimPrefix(last, []byte("\n"))
	return bytes.HasPrefix(last, []byte("250 "))
}

// sesEHLO rewrites go-smtp's EHLO reply as SES words it, keeping only the
// extensions in sesExtensions that go-smtp offered (STARTTLS only when TLS
// is configured and not yet in use).
func sesEHLO(host string, reply []byte) []byte {
	out := []byte("250-" + host + "\r\n")
	for line := range bytes.Lines(reply) {
		if len(line) < 4 {
			continue
		}
		ext := string(bytes.TrimRight(line[4:], "\r\n"))
		if slices.Contains(sesExtensions, ext) {
			out = append(out, "250-"+ext+"\r\n"...)
		}
	}
	return append(out, "250 Ok\r\n"...)
}

// token returns 20 letters and digits drawn from r, like the one in SES's
// banner. Should an injected r fail, the rest of the token is the first
// letter: a greeting is no place for an error.
func token(r io.Reader) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 20)
	io.ReadFull(r, b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
