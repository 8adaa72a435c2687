package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/emersion/go-smtp"
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
	f       *os.File
	mu      sync.Mutex
	queue   []pending
	running bool
}

type pending struct {
	data []byte
	done chan error
}

func (l *groupLog) append(data []byte) error {
	p := pending{data: data, done: make(chan error, 1)}
	l.mu.Lock()
	l.queue = append(l.queue, p)
	if !l.running {
		l.running = true
		go l.commit()
	}
	l.mu.Unlock()
	return <-p.done
}

func (l *groupLog) commit() {
	var bufs net.Buffers
	for {
		l.mu.Lock()
		batch := l.queue
		l.queue = nil
		if len(batch) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		bufs = bufs[:0]
		for _, p := range batch {
			bufs = append(bufs, p.data)
		}
		_, err := bufs.WriteTo(l.f)
		if err == nil {
			err = datasync(l.f)
		}
		for _, p := range batch {
			p.done <- err
		}
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
		backend = durable{log: &groupLog{f: f}}
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
