package emulator

import (
	"crypto/tls"
	"net"
	"sync"
)

// bothListener serves plain HTTP and HTTPS on one port: a connection whose
// first byte starts a TLS handshake record (0x16, which no HTTP method
// starts with) is served over TLS with the STARTTLS certificate. The SNS
// SigningCertURL is https, because SNS verifiers (AWS's sns-validator, the
// SDKs' message managers) refuse a certificate fetched over plain HTTP;
// the AWS APIs stay reachable over plain HTTP as before.
type bothListener struct {
	net.Listener
	tls *tls.Config
}

func (l bothListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, tls: l.tls}, nil
}

// sniffConn decides on its first Read, not in Accept, so that a client
// that sends nothing holds up only its own connection (and meets the
// server's read deadline there).
type sniffConn struct {
	net.Conn
	tls  *tls.Config
	once sync.Once
	rw   net.Conn
}

func (c *sniffConn) init() {
	c.once.Do(func() {
		var b [1]byte
		n, _ := c.Conn.Read(b[:])
		if n == 0 {
			c.rw = c.Conn // the error comes again on the next Read
			return
		}
		p := &prefixConn{Conn: c.Conn, prefix: b[:n]}
		if b[0] == 0x16 {
			c.rw = tls.Server(p, c.tls)
		} else {
			c.rw = p
		}
	})
}

func (c *sniffConn) Read(b []byte) (int, error) {
	c.init()
	return c.rw.Read(b)
}

func (c *sniffConn) Write(b []byte) (int, error) {
	c.init()
	return c.rw.Write(b)
}

// Close closes the connection underneath, which also ends a Read that is
// still waiting for the first byte (a TLS close_notify is not sent).
func (c *sniffConn) Close() error { return c.Conn.Close() }

// prefixConn reads prefix before the rest of the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
