package smtpd

import (
	"bytes"
	"crypto/rand"
	"net"
)

// go-smtp greets with "220 <domain> ESMTP Service Ready" and offers no way to
// change the words. SES greets with "220 <host> ESMTP Amazon SES <token>",
// and people check that line by eye and in scripts, so the first write on
// each connection is swapped when it is exactly go-smtp's greeting.

type bannerListener struct {
	net.Listener
	hostname string
}

func (l *bannerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &bannerConn{
		Conn: c,
		want: []byte("220 " + l.hostname + " ESMTP Service Ready\r\n"),
		host: l.hostname,
	}, nil
}

type bannerConn struct {
	net.Conn
	want []byte
	host string
	done bool // only the first write can be the greeting
}

func (c *bannerConn) Write(p []byte) (int, error) {
	if c.done || !bytes.Equal(p, c.want) {
		c.done = true
		return c.Conn.Write(p)
	}
	c.done = true
	if _, err := c.Conn.Write([]byte("220 " + c.host + " ESMTP Amazon SES " + token() + "\r\n")); err != nil {
		return 0, err
	}
	return len(p), nil
}

// token returns 20 random letters and digits, like the one in SES's banner.
func token() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
