package e2e

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's reply table, checked line for line: code, enhanced status
// and text, as the client reads them off the wire. A refusal with the
// right code and the wrong words is a bug too: MTAs log the text and
// people act on it.

// wantLine fails unless the reply line is exactly want.
func wantLine(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: reply %q, want %q", what, got, want)
	}
}

const replyTryLater = "451 4.3.0 Temporary failure, please try again later"

// transaction opens a session and sends MAIL and RCPT, each expected to
// get 250.
func transaction(t *testing.T, addr string, rcpts ...string) *rawSession {
	t.Helper()
	s := dialRaw(t, addr)
	s.send("EHLO mta.example.org\r\n")
	s.expect("250")
	s.send("MAIL FROM:<a@example.org>\r\n")
	s.expect("250")
	for _, r := range rcpts {
		s.send("RCPT TO:<" + r + ">\r\n")
		s.expect("250")
	}
	return s
}

// data sends a message after DATA and returns the final reply.
func (s *rawSession) data(msg string) string {
	s.t.Helper()
	s.send("DATA\r\n")
	s.expect("354")
	s.send(msg + "\r\n.\r\n")
	return s.reply()
}

func TestReplyTexts(t *testing.T) {
	inst := start(t, nil, "--max-message-size", "64KB", "--max-recipients", "100", "--max-header-fields", "20",
		"--data-timeout", "1s", "--command-timeout", "1500ms",
		"--config", writeFile(t, "rules.yaml", `
Rules:
  - Name: tls-only
    Enabled: true
    TlsPolicy: Require
    Recipients: [secure.example.com]
    Actions: [{S3Action: {BucketName: ses-inbound}}]
  - Name: all
    Enabled: true
    Actions: [{S3Action: {BucketName: ses-inbound, KmsKeyArn: "arn:aws:kms:us-east-1:000000000000:alias/aws/ses"}}]
`))

	t.Run("530 TLS required", func(t *testing.T) {
		s := transaction(t, inst.SMTPAddr)
		s.send("RCPT TO:<x@secure.example.com>\r\n")
		wantLine(t, "RCPT for a TlsPolicy: Require rule without STARTTLS", s.reply(), "530 5.7.0 Must issue a STARTTLS command first")
	})
	t.Run("452 too many recipients", func(t *testing.T) {
		var rcpts []string
		for i := 0; i < 100; i++ {
			rcpts = append(rcpts, fmt.Sprintf("r%d@example.com", i))
		}
		s := transaction(t, inst.SMTPAddr, rcpts...)
		s.send("RCPT TO:<r100@example.com>\r\n")
		wantLine(t, "recipient 101 of 100", s.reply(), "452 4.5.3 Maximum limit of 100 recipients reached")
	})
	t.Run("552 message too large", func(t *testing.T) {
		s := transaction(t, inst.SMTPAddr, "b@example.com")
		got := s.data("Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 70)+"\r\n", 2000))
		wantLine(t, "a 140 KB message", got, "552 5.3.4 Maximum message size exceeded")
		s = transaction(t, inst.SMTPAddr)
		s.send("MAIL FROM:<a@example.org> SIZE=1000000\r\n")
		if got := s.reply(); !strings.HasPrefix(got, "5") || !strings.Contains(got, "5.3.4") {
			t.Errorf("MAIL with SIZE over the limit: %q", got)
		}
	})
	t.Run("552 header too large", func(t *testing.T) {
		s := transaction(t, inst.SMTPAddr, "b@example.com")
		got := s.data(strings.Repeat("X-H: v\r\n", 30) + "\r\nbody")
		wantLine(t, "30 header fields", got, "552 5.3.4 Message header too large")
	})
	t.Run("451 data timeout", func(t *testing.T) {
		s := transaction(t, inst.SMTPAddr, "b@example.com")
		s.send("DATA\r\n")
		s.expect("354")
		s.send("Subject: slow\r\n")
		wantLine(t, "a client that stops sending DATA", s.reply(), "451 4.4.2 Timeout waiting for data")
	})
	t.Run("421 idle", func(t *testing.T) {
		s := dialRaw(t, inst.SMTPAddr)
		s.send("EHLO idle\r\n")
		s.expect("250")
		wantLine(t, "a client that sends nothing", s.reply(), "421 4.4.2 Idle timeout, bye bye")
	})
	t.Run("421 too many connections", func(t *testing.T) {
		inst := start(t, nil, "--max-conns", "3")
		for i := 0; i < 3; i++ {
			dialRaw(t, inst.SMTPAddr)
		}
		conn, err := net.Dial("tcp", inst.SMTPAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		wantLine(t, "connection 4 of 3", strings.TrimRight(line, "\r\n"), "421 4.7.0 Too many connections, try again later")
	})
	t.Run("554 injected at DATA", func(t *testing.T) {
		putFaults(t, inst, "PUT", `{"SMTP":[{"Stage":"DATA","Code":554,"Status":"5.6.0","Message":"Content rejected","Count":1}]}`)
		s := transaction(t, inst.SMTPAddr, "b@example.com")
		wantLine(t, "DATA under a fault", s.data("Subject: f\r\n\r\nx"), "554 5.6.0 Content rejected")
	})
	t.Run("451 backend refuses", func(t *testing.T) {
		putFaults(t, inst, "PUT", `{"AWS":[{"Service":"kms","Error":"AccessDeniedException","Scope":"sesinbound","Count":1}]}`)
		s := transaction(t, inst.SMTPAddr, "b@example.com")
		wantLine(t, "KMS access denied", s.data("Subject: f\r\n\r\nx"), replyTryLater)
	})
}

// A backend that stops answering: the message's deadline runs out and the
// client is told to try later, in the words for a backend problem, not
// those for a slow client.
func TestReplySlowBackend(t *testing.T) {
	backend := start(t, nil) // another sesinbound as the S3 and KMS server
	inst := start(t, []string{"AWS_ENDPOINT_URL_S3=" + backend.AWSURL, "AWS_ENDPOINT_URL_KMS=" + backend.AWSURL,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1"}, "--deliver-timeout", "1s")
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: before\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	backend.cmd.Process.Signal(syscall.SIGSTOP)
	stopped := true
	cont := func() {
		if stopped {
			backend.cmd.Process.Signal(syscall.SIGCONT)
			stopped = false
		}
	}
	t.Cleanup(cont)
	s := transaction(t, inst.SMTPAddr, "b@example.com")
	began := time.Now()
	wantLine(t, "S3 and KMS not answering", s.data("Subject: slow backend\r\n\r\nx"), replyTryLater)
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("the 451 took %v with --deliver-timeout 1s", d)
	}
	cont()
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: after\r\n\r\nx\r\n")); err != nil {
		t.Fatalf("once the backend answers again: %v", err)
	}
}

// A client that an IP filter blocks is refused before the greeting.
func TestReplyBlocked(t *testing.T) {
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", `
Filters:
  - Name: block-loopback
    IpFilter: {Policy: Block, Cidr: 127.0.0.1/32}
Rules:
  - Name: all
    Enabled: true
    Actions: [{S3Action: {BucketName: ses-inbound}}]
`))
	conn, err := net.Dial("tcp", inst.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	line, _ := r.ReadString('\n')
	wantLine(t, "a blocked client at connect", strings.TrimRight(line, "\r\n"), "554 5.7.1 Access denied")
	if more, err := r.ReadString('\n'); err == nil {
		t.Errorf("the connection stayed open after 554: %q", more)
	}
}
