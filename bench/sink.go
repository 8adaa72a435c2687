package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/emersion/go-smtp"
)

// The ceiling: a go-smtp server, configured as sesinbound configures it,
// that accepts every message and throws it away. Nothing that receives mail
// over go-smtp can be faster on the same machine.

type discard struct{}

func (discard) NewSession(*smtp.Conn) (smtp.Session, error) { return discard{}, nil }
func (discard) Reset()                                      {}
func (discard) Logout() error                               { return nil }
func (discard) Mail(string, *smtp.MailOptions) error        { return nil }
func (discard) Rcpt(string, *smtp.RcptOptions) error        { return nil }
func (discard) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// runSink serves the discard sink until killed.
func runSink(args []string) error {
	fs := flag.NewFlagSet("bench sink", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:2500", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s := smtp.NewServer(discard{})
	s.Domain = "sink.localhost"
	s.MaxMessageBytes = 40 << 20
	s.MaxRecipients = 1000
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "discard sink on %s\n", ln.Addr())
	return s.Serve(ln)
}
