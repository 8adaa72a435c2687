package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/internal/groupcommit"
)

// The ceilings: go-smtp servers, configured as sesinbound configures
// go-smtp. The discard sink accepts every message and throws it away:
// nothing that receives mail over go-smtp can be faster on the same
// machine. The durable sink appends every message to one log file and
// answers 250 only once an fdatasync has covered it, one sync for every
// message waiting at that moment (group commit): nothing that promises a
// message is on disk when it says 250 can be faster on the same disk.

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

// durable is the durable sink's backend and its one session type.
type durable struct {
	discard
	log *groupLog
}

func (d durable) NewSession(*smtp.Conn) (smtp.Session, error) { return d, nil }

func (d durable) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	return d.log.append(buf.Bytes())
}

// groupLog appends records to one file; whoever finds no sync running
// becomes the committer and writes and syncs everything queued.
type groupLog struct {
	f     *os.File
	queue groupcommit.Queue[[]byte]
	bufs  net.Buffers // the batch being written; only the committer uses it
}

func newGroupLog(f *os.File) *groupLog {
	l := &groupLog{f: f}
	l.queue.Commit = l.commit
	return l
}

func (l *groupLog) append(data []byte) error { return l.queue.Do(data) }

func (l *groupLog) commit(batch [][]byte, errs []error) {
	l.bufs = append(l.bufs[:0], batch...)
	_, err := l.bufs.WriteTo(l.f)
	if err == nil {
		err = datasync(l.f)
	}
	for i := range errs {
		errs[i] = err
	}
}

// runSink serves a sink until killed: the discard sink, or with -durable
// the durable one, logging to that file.
func runSink(args []string) error {
	fs := flag.NewFlagSet("bench sink", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:2500", "listen address")
	logFile := fs.String("durable", "", "append every message to this file, fdatasync, then 250")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var backend smtp.Backend = discard{}
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		backend = durable{log: newGroupLog(f)}
	}
	s := smtp.NewServer(backend)
	s.Domain = "sink.localhost"
	s.MaxMessageBytes = 40 << 20
	s.MaxRecipients = 1000
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sink on %s\n", ln.Addr())
	return s.Serve(ln)
}
