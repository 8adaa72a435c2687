package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/receipt"
)

// pipeListener hands out one end of a net.Pipe, once.
type pipeListener struct {
	conn   chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conn:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

var replyLineRE = regexp.MustCompile(`^[2-5][0-9][0-9][ -]`)

// storedIDRE finds the message ID at the end of a final 250 reply,
// whatever its words.
var storedIDRE = regexp.MustCompile(`^250 .*\b([0-9a-v]{39}1)$`)

// FuzzSession feeds raw bytes to a server backed by the real pipeline
// (receipt with the in-memory S3 and KMS) as one client's whole
// conversation: every line it answers is an SMTP reply, nothing panics,
// and every message whose 250 carries an ID is in S3 and decrypts.
func FuzzSession(f *testing.F) {
	rs, err := receipt.ParseRules(strings.NewReader(`
AccountId: "111122223333"
Rules:
  - Name: tls-only
    Enabled: true
    TlsPolicy: Require
    Recipients: [secure.example.com]
    Actions: [{S3Action: {BucketName: inbound}}]
  - Name: store
    Enabled: true
    Recipients: [example.com, a@b]
    Actions:
      - S3Action: {BucketName: inbound, KmsKeyArn: "arn:aws:kms:us-east-1:111122223333:alias/aws/ses"}
`), "rules.yaml")
	if err != nil {
		f.Fatal(err)
	}
	s3f, err := fakes.NewS3(fakes.WithBuckets("inbound"))
	if err != nil {
		f.Fatal(err)
	}
	kmsf, err := fakes.NewKMS(fakes.WithKMSAccount("us-east-1", "111122223333"))
	if err != nil {
		f.Fatal(err)
	}
	proc := receipt.NewProcessor(rs, &encrypt.Sealer{KMS: kmsf}, s3f)
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n"))
	f.Add([]byte("HELO\r\nMAIL FROM:<>\r\nRCPT TO:<nobody@example.net>\r\nDATA\r\n"))
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b> SIZE=99999999999\r\nBDAT 5 LAST\r\nhello"))
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<b@example.com>\r\nBDAT 3\r\nabcBDAT 0 LAST\r\n"))
	f.Add([]byte("\x00\xff\r\n\n\n.\r\nRSET\r\nNOOP\r\nVRFY x\r\nSTARTTLS\r\nAUTH PLAIN\r\n"))
	f.Add([]byte(strings.Repeat("A", 3000) + "\r\n"))
	f.Fuzz(func(t *testing.T, input []byte) {
		var logs bytes.Buffer
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(syncWriter{&mu, &logs}, nil))
		srv := NewServer(context.Background(), proc, log)
		srv.MaxMessageBytes = 1 << 16
		srv.ReadTimeout, srv.DataTimeout = 2*time.Second, 2*time.Second
		ln := &pipeListener{conn: make(chan net.Conn, 1), closed: make(chan struct{})}
		client, server := net.Pipe()
		ln.conn <- server
		served := make(chan struct{})
		go func() { srv.Serve(ln); close(served) }()
		go func() {
			client.Write(input)
			client.Write([]byte("\r\nQUIT\r\n"))
		}()
		client.SetReadDeadline(time.Now().Add(3 * time.Second))
		out, _ := io.ReadAll(client)
		client.Close()
		srv.Close()
		<-served
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			line := sc.Text()
			if !replyLineRE.MatchString(line) {
				t.Fatalf("server wrote %q, not an SMTP reply", line)
			}
			m := storedIDRE.FindStringSubmatch(strings.TrimRight(line, "\r"))
			if m == nil {
				continue
			}
			obj, err := s3f.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("inbound"), Key: aws.String(m[1])})
			if err != nil {
				t.Fatalf("the server replied %q, and the object is not in S3: %v", line, err)
			}
			body, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			plain, err := encrypt.Open(t.Context(), kmsf, obj.Metadata, body)
			if err != nil {
				t.Fatalf("the server replied %q, and the object does not decrypt: %v", line, err)
			}
			if !bytes.HasPrefix(plain, []byte("Return-Path: ")) {
				t.Fatalf("the stored message does not start with SES's headers: %q", plain)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(logs.String(), "panic") {
			t.Fatalf("panic: %s", logs.String())
		}
	})
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
