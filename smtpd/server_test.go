package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/receipt"
)

// stubReceiver accepts recipients at example.com (and, over TLS only, at
// secure.example.com) and records deliveries and replies.
type stubReceiver struct {
	mu        sync.Mutex
	delivered []*receipt.Message
	replies   []string
	err       error // returned by Deliver
	blocked   netip.Addr
	framed    []bool // for each delivery: was Data the tail of a frame with room around it
}

func (r *stubReceiver) AcceptsConnection(_ context.Context, addr netip.Addr) error {
	if addr == r.blocked {
		return receipt.ErrBlocked
	}
	return nil
}

func (r *stubReceiver) Snapshot() *receipt.Snapshot { return nil }

func (r *stubReceiver) AcceptsRecipient(_ context.Context, _ *receipt.Snapshot, rcpt string, c receipt.Client) error {
	switch {
	case strings.HasSuffix(rcpt, "@example.com"):
		return nil
	case strings.HasSuffix(rcpt, "@secure.example.com") && !c.TLS:
		return receipt.ErrTLSRequired
	case strings.HasSuffix(rcpt, "@secure.example.com"):
		return nil
	}
	return receipt.ErrNoMatchingRule
}

func (r *stubReceiver) Replied(_ context.Context, res *receipt.Result, code int, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replies = append(r.replies, fmt.Sprintf("%s %d %s", res.MessageID, code, text))
}

func (r *stubReceiver) repliesSeen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.replies)
}

func (r *stubReceiver) Deliver(_ context.Context, m *receipt.Message) (*receipt.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return &receipt.Result{MessageID: "failed"}, r.err
	}
	framed := len(m.Data) > 0 && m.Frame != nil && &m.Frame.Bytes()[0] == &m.Data[0] && len(m.Frame.Bytes()) == len(m.Data)
	if framed {
		before, after := m.Frame.Room()
		framed = before >= receipt.FrameHeadroom && after >= receipt.FrameTailroom
	}
	r.framed = append(r.framed, framed)
	// The message's buffer is reused once Deliver returns: keep a copy.
	kept := *m
	kept.Data, kept.Frame = bytes.Clone(m.Data), nil
	r.delivered = append(r.delivered, &kept)
	return &receipt.Result{MessageID: "0123456789abcdefghijklmnopqrstuv01234501"}, nil
}

func startServer(t *testing.T, recv Receiver, configure func(*Server)) string {
	t.Helper()
	srv := NewServer(t.Context(), recv, nil)
	srv.Hostname = "inbound-smtp.eu-west-1.amazonaws.com"
	if configure != nil {
		configure(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// send sends msg from a@example.org to inbox@example.com over c and
// returns the reply to the final dot.
func send(t *testing.T, c *smtp.Client, opts *smtp.MailOptions, msg []byte) error {
	t.Helper()
	if err := c.Mail("a@example.org", opts); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("inbox@example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write(msg)
	return w.Close()
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// greeting connects to addr and returns the first line the server sends.
func greeting(t *testing.T, addr string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

func TestBanner(t *testing.T) {
	line := greeting(t, startServer(t, &stubReceiver{}, nil))
	const prefix = "220 inbound-smtp.eu-west-1.amazonaws.com ESMTP Amazon SES "
	if !strings.HasPrefix(line, prefix) || len(line) != len(prefix)+20+2 {
		t.Fatalf("banner = %q, want %q followed by a 20-character token", line, prefix)
	}
}

// TestBannerDeterministic: with a fixed Rand, two servers greet with the
// same token.
func TestBannerDeterministic(t *testing.T) {
	greet := func() string {
		return greeting(t, startServer(t, &stubReceiver{}, func(s *Server) { s.Rand = bytes.NewReader(bytes.Repeat([]byte{5, 70, 200}, 10)) }))
	}
	first, second := greet(), greet()
	if want := "220 inbound-smtp.eu-west-1.amazonaws.com ESMTP Amazon SES FIOFIOFIOFIOFIOFIOFI\r\n"; first != want || second != want {
		t.Fatalf("banners = %q, %q; want %q twice", first, second, want)
	}
}

func TestServeWithoutReceiver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := (&Server{}).Serve(ln); err == nil || !strings.Contains(err.Error(), "NewServer") {
		t.Fatalf("Serve on a Server literal = %v, want an error pointing to NewServer", err)
	}
}

func TestSession(t *testing.T) {
	recv := &stubReceiver{}
	addr := startServer(t, recv, nil)
	c := dial(t, addr)
	if err := c.Hello("client.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("sender@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("nobody@example.net", nil); smtpCode(err) != 550 ||
		!strings.Contains(err.Error(), "Requested action not taken: mailbox unavailable") {
		t.Fatalf("Rcpt(unmatched) = %v, want 550 5.1.1", err)
	}
	if err := c.Rcpt("inbox@example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	const msg = "Subject: hi\r\n\r\n.leading dot\r\nbody\r\n"
	io.WriteString(w, msg)
	resp, err := w.CloseWithResponse()
	if err != nil {
		t.Fatal(err)
	}
	if want := "OK 0123456789abcdefghijklmnopqrstuv01234501"; resp.StatusText != want {
		t.Fatalf("end of DATA reply = %q, want %q", resp.StatusText, want)
	}
	if len(recv.delivered) != 1 {
		t.Fatalf("delivered %d messages", len(recv.delivered))
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if got := recv.repliesSeen(); len(got) != 1 || got[0] != "0123456789abcdefghijklmnopqrstuv01234501 250 OK 0123456789abcdefghijklmnopqrstuv01234501" {
		t.Fatalf("Replied calls = %q", got)
	}
	m := recv.delivered[0]
	if string(m.Data) != msg || m.From != "sender@example.org" || len(m.To) != 1 || m.To[0] != "inbox@example.com" ||
		m.Client.Helo != "client.example.org" || m.Client.Addr.String() != "127.0.0.1" || m.Client.TLS {
		t.Fatalf("delivered %+v (data %q)", m, m.Data)
	}
}

func TestDataTemporaryFailure(t *testing.T) {
	recv := &stubReceiver{err: errors.New("put object ses-inbound/x: connection refused")}
	addr := startServer(t, recv, nil)
	c := dial(t, addr)
	if err := c.SendMail("a@example.org", []string{"inbox@example.com"}, strings.NewReader("Subject: x\r\n\r\nx\r\n")); smtpCode(err) != 451 {
		t.Fatalf("SendMail() = %v, want 451", err)
	}
	if err := c.Noop(); err != nil {
		t.Fatalf("the connection did not survive a 451: %v", err)
	}
}

func TestMessageTooLarge(t *testing.T) {
	recv := &stubReceiver{}
	addr := startServer(t, recv, func(s *Server) { s.MaxMessageBytes = 1024 })
	c := dial(t, addr)
	err := c.SendMail("a@example.org", []string{"inbox@example.com"}, strings.NewReader("Subject: x\r\n\r\n"+strings.Repeat("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", 100)))
	if smtpCode(err) != 552 {
		t.Fatalf("SendMail(4 KB) = %v, want 552", err)
	}
	if len(recv.delivered) != 0 {
		t.Fatalf("an oversized message was delivered")
	}
	// A declared SIZE over the limit is refused at MAIL, although SIZE is
	// not advertised (as SES does not).
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	readReply(t, r)
	io.WriteString(conn, "EHLO client.example.org\r\n")
	readReply(t, r)
	io.WriteString(conn, "MAIL FROM:<a@example.org> SIZE=4096\r\n")
	if got := readReply(t, r); !strings.HasPrefix(got[0], "552 5.3.4 ") {
		t.Fatalf("MAIL SIZE=4096 = %q, want 552", got)
	}
}

// readReply reads one reply, all its lines.
func readReply(t *testing.T, r *bufio.Reader) []string {
	t.Helper()
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read reply: %v (so far %q)", err, lines)
		}
		lines = append(lines, strings.TrimSuffix(line, "\r\n"))
		if len(line) < 4 || line[3] != '-' {
			return lines
		}
	}
}

// The EHLO reply is SES's: the host, 8BITMIME, STARTTLS when TLS is
// configured, "250 Ok". The commands of the extensions go-smtp offers but
// SES does not (PIPELINING, CHUNKING, SIZE) still work.
func TestEHLO(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  func(*Server)
		want []string
	}{
		{"plain", nil, []string{"250-inbound-smtp.eu-west-1.amazonaws.com", "250-8BITMIME", "250 Ok"}},
		{"tls", func(s *Server) { s.TLSConfig = testTLSConfig(t) }, []string{"250-inbound-smtp.eu-west-1.amazonaws.com", "250-8BITMIME", "250-STARTTLS", "250 Ok"}},
		{"all", func(s *Server) { s.AllExtensions = true }, []string{"250-Hello client.example.org", "250-PIPELINING", "250-8BITMIME", "250-ENHANCEDSTATUSCODES", "250-CHUNKING", "250-SIZE 41943040", "250 LIMITS RCPTMAX=1000"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			recv := &stubReceiver{}
			addr := startServer(t, recv, tt.cfg)
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			r := bufio.NewReader(conn)
			readReply(t, r)
			io.WriteString(conn, "EHLO client.example.org\r\n")
			if got := readReply(t, r); !slices.Equal(got, tt.want) {
				t.Fatalf("EHLO reply = %q, want %q", got, tt.want)
			}
			// A second EHLO is rewritten too.
			io.WriteString(conn, "EHLO client.example.org\r\n")
			if got := readReply(t, r); !slices.Equal(got, tt.want) {
				t.Fatalf("second EHLO reply = %q, want %q", got, tt.want)
			}
			// Pipelined commands, then a message in BDAT chunks.
			io.WriteString(conn, "MAIL FROM:<a@example.org>\r\nRCPT TO:<inbox@example.com>\r\nBDAT 14\r\nSubject: x\r\n\r\nBDAT 3 LAST\r\nx\r\n")
			for _, want := range []string{"250 ", "250 ", "250 ", "250 OK "} {
				if got := readReply(t, r); !strings.HasPrefix(got[0], want) {
					t.Fatalf("pipelined reply = %q, want %q...", got, want)
				}
			}
			if len(recv.delivered) != 1 || string(recv.delivered[0].Data) != "Subject: x\r\n\r\nx\r\n" {
				t.Fatalf("delivered %v", recv.delivered)
			}
		})
	}
}

// Messages small and large, with and without a declared SIZE, arrive
// whole, in a frame with room for SES's headers and the tag: on the heap,
// or past regionThreshold in a mapped region, which is reused.
func TestLargeMessages(t *testing.T) {
	const limit = 3 << 20
	recv := &stubReceiver{}
	var srv *Server
	// AllExtensions: go-smtp's client declares SIZE only when it is offered.
	addr := startServer(t, recv, func(s *Server) { s.MaxMessageBytes = limit; s.AllExtensions = true; srv = s })
	c := dial(t, addr)
	line := strings.Repeat("0123456789", 7) + "\r\n"
	// go-smtp refuses a message of exactly the limit: limit-1 is the largest.
	for _, size := range []int{10 << 10, regionThreshold - 100, regionThreshold + 100, 2 << 20, limit - 1} {
		msg := []byte("Subject: large\r\n\r\n")
		for len(msg)+len(line) <= size-2 {
			msg = append(msg, line...)
		}
		msg = append(msg, strings.Repeat("z", size-len(msg)-2)+"\r\n"...)
		for _, declare := range []bool{false, true} {
			var opts *smtp.MailOptions
			if declare {
				opts = &smtp.MailOptions{Size: int64(len(msg))}
			}
			if err := send(t, c, opts, msg); err != nil {
				t.Fatalf("%d bytes, SIZE declared %v: %v", len(msg), declare, err)
			}
			got := recv.delivered[len(recv.delivered)-1]
			if !bytes.Equal(got.Data, msg) || !recv.framed[len(recv.framed)-1] {
				t.Fatalf("%d bytes, SIZE declared %v: received %d bytes, framed %v", len(msg), declare, len(got.Data), recv.framed[len(recv.framed)-1])
			}
		}
	}
	regions := &srv.buffers.regions
	if regions.mu.Lock(); runtime.GOOS == "linux" && len(regions.free) == 0 {
		t.Errorf("no large message went to a region")
	}
	regions.mu.Unlock()
	// Past the limit, without SIZE: refused, and the connection carries on.
	err := c.SendMail("a@example.org", []string{"inbox@example.com"}, strings.NewReader("Subject: x\r\n\r\n"+strings.Repeat(line, limit/len(line)+10)))
	if smtpCode(err) != 552 {
		t.Fatalf("SendMail over the limit = %v, want 552", err)
	}
	if err := c.Noop(); err != nil {
		t.Fatal(err)
	}
}

func TestLineTooLong(t *testing.T) {
	recv := &stubReceiver{}
	addr := startServer(t, recv, nil)
	c := dial(t, addr)
	err := c.SendMail("a@example.org", []string{"inbox@example.com"}, strings.NewReader("Subject: x\r\n\r\n"+strings.Repeat("x", 5000)+"\r\n"))
	if smtpCode(err) != 500 {
		t.Fatalf("SendMail(5000-byte line) = %v, want 500", err)
	}
	if len(recv.delivered) != 0 {
		t.Fatalf("a message with an over-long line was delivered")
	}
}

func TestBlockedClientRefusedAtConnect(t *testing.T) {
	recv := &stubReceiver{blocked: netip.MustParseAddr("127.0.0.1")}
	addr := startServer(t, recv, nil)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != "554 5.7.1 Access denied\r\n" {
		t.Fatalf("greeting to a blocked client = %q, %v", line, err)
	}
}

func TestTLSRequired(t *testing.T) {
	recv := &stubReceiver{}
	addr := startServer(t, recv, func(s *Server) { s.TLSConfig = testTLSConfig(t) })
	c := dial(t, addr)
	if err := c.Mail("a@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("x@secure.example.com", nil); smtpCode(err) != 530 {
		t.Fatalf("RCPT without TLS = %v, want 530", err)
	}
	c2, err := smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.SendMail("a@example.org", []string{"x@secure.example.com"}, strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatalf("SendMail over TLS: %v", err)
	}
	if !recv.delivered[0].Client.TLS {
		t.Fatalf("the delivered message does not say it came over TLS")
	}
}

// Without a directory the self-signed certificate is made on the first
// STARTTLS, for the region's hostname, and every later handshake gets the
// same one.
func TestTLSCertificateWithoutDir(t *testing.T) {
	cfg, err := TLSConfig("", "", "", "inbound-smtp.eu-west-1.amazonaws.com")
	if err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, &stubReceiver{}, func(s *Server) { s.TLSConfig = cfg })
	var first []byte
	for range 2 {
		c, err := smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Noop(); err != nil { // the handshake is done by now
			t.Fatal(err)
		}
		state, ok := c.TLSConnectionState()
		c.Close()
		if !ok || len(state.PeerCertificates) == 0 || state.PeerCertificates[0].Subject.CommonName != "inbound-smtp.eu-west-1.amazonaws.com" {
			t.Fatalf("certificate = %+v", state.PeerCertificates)
		}
		if first == nil {
			first = state.PeerCertificates[0].Raw
		} else if !bytes.Equal(first, state.PeerCertificates[0].Raw) {
			t.Fatal("the second handshake got another certificate")
		}
	}
}

func testTLSConfig(t *testing.T) *tls.Config {
	t.Helper()
	cfg, err := TLSConfig("", "", t.TempDir(), "inbound-smtp.us-east-1.amazonaws.com")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Shutdown lets a message in progress finish and get its reply, closes idle
// connections without waiting for them, and returns promptly.
func TestShutdown(t *testing.T) {
	recv := &slowReceiver{stubReceiver: &stubReceiver{}, started: make(chan struct{}), release: make(chan struct{})}
	srv := NewServer(t.Context(), recv, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	idle := dial(t, ln.Addr().String())
	if err := idle.Hello("idle"); err != nil {
		t.Fatal(err)
	}
	busy := dial(t, ln.Addr().String())
	sent := make(chan error, 1)
	go func() {
		sent <- busy.SendMail("a@example.org", []string{"b@example.com"}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	}()
	<-recv.started
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	select {
	case <-done:
		t.Fatalf("Shutdown returned while a message was in progress")
	default:
	}
	close(recv.release)
	if err := <-sent; err != nil {
		t.Fatalf("the in-flight message did not get its 250: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown() = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Shutdown did not return after the last message")
	}
	if err := idle.Noop(); err == nil {
		t.Fatalf("an idle connection survived shutdown")
	}
}

type slowReceiver struct {
	*stubReceiver
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (r *slowReceiver) Deliver(ctx context.Context, m *receipt.Message) (*receipt.Result, error) {
	r.once.Do(func() { close(r.started) })
	<-r.release
	return r.stubReceiver.Deliver(ctx, m)
}
