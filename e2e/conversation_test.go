package e2e

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestTLSPolicyRequire(t *testing.T) {
	rules := `
Rules:
  - Name: secure
    Enabled: true
    TlsPolicy: Require
    Recipients: [secure.example.com]
    Actions:
      - S3Action: {BucketName: secure-mail}
  - Name: open
    Enabled: true
    Recipients: [open.example.com]
    Actions:
      - S3Action: {BucketName: open-mail}
`
	dir := t.TempDir()
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", rules), "--data-dir", dir)
	msg := []byte("Subject: tls\r\n\r\nx\r\n")
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"x@secure.example.com"}, msg); smtpCode(err) != 530 {
		t.Fatalf("plain-text mail to a TlsPolicy Require rule = %v, want 530 at RCPT", err)
	}
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"x@open.example.com"}, msg); err != nil {
		t.Fatalf("plain-text mail to an Optional rule: %v", err)
	}
	c, err := smtp.DialStartTLS(inst.SMTPAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer c.Close()
	if err := c.SendMail("a@example.org", []string{"x@secure.example.com"}, strings.NewReader(string(msg))); err != nil {
		t.Fatalf("mail over STARTTLS: %v", err)
	}
	state, ok := c.TLSConnectionState()
	if !ok || len(state.PeerCertificates) == 0 || state.PeerCertificates[0].Subject.CommonName != "inbound-smtp.us-east-1.amazonaws.com" {
		t.Fatalf("certificate = %+v", state.PeerCertificates)
	}
	// The self-signed certificate is kept in --data-dir: a restart serves the same one.
	fp := state.PeerCertificates[0].Raw
	inst.stop(t)
	again := start(t, nil, "--config", writeFile(t, "rules.yaml", rules), "--data-dir", dir)
	c2, err := smtp.DialStartTLS(again.SMTPAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Noop(); err != nil {
		t.Fatal(err)
	}
	if st, _ := c2.TLSConnectionState(); string(st.PeerCertificates[0].Raw) != string(fp) {
		t.Errorf("a restart with the same --data-dir made a new certificate")
	}
}

// dialFrom connects from a chosen loopback address.
func dialFrom(t *testing.T, src, addr string) (net.Conn, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

func TestIPFilters(t *testing.T) {
	rules := `
Filters:
  - Name: block-loopback
    IpFilter: {Policy: Block, Cidr: 127.0.0.0/8}
  - Name: trusted
    IpFilter: {Policy: Allow, Cidr: 127.0.0.1}
Rules:
  - Name: all
    Enabled: true
    Actions:
      - S3Action: {BucketName: filtered}
`
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", rules))
	conn, err := dialFrom(t, "127.0.0.2", inst.SMTPAddr)
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2 on this machine: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if line != "554 5.7.1 Access denied\r\n" {
		t.Fatalf("greeting to a blocked client = %q, %v", line, err)
	}
	// Allow wins over Block.
	conn, err = dialFrom(t, "127.0.0.1", inst.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.SendMail("a@example.org", []string{"b@example.com"}, strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatalf("mail from an allowed client: %v", err)
	}
	if !inst.waitLog(t, "connection refused") {
		t.Errorf("the refusal was not logged")
	}
}

// TestSESConversation compares a whole plain-text SMTP session with the one
// SES holds (ses-inbound.md §7): the banner, the EHLO reply with SES's two
// extensions, and "250 OK <message id>" at the end of DATA, whose ID names
// the stored object.
func TestSESConversation(t *testing.T) {
	inst := start(t, nil)
	conn, err := net.Dial("tcp", inst.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	read := func() []string {
		var lines []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v after %q", err, lines)
			}
			lines = append(lines, strings.TrimSuffix(line, "\r\n"))
			if len(line) < 4 || line[3] != '-' {
				return lines
			}
		}
	}
	if got := read(); !strings.HasPrefix(got[0], "220 inbound-smtp.us-east-1.amazonaws.com ESMTP Amazon SES ") {
		t.Fatalf("banner %q", got)
	}
	conn.Write([]byte("EHLO mta.example.org\r\n"))
	want := []string{"250-inbound-smtp.us-east-1.amazonaws.com", "250-8BITMIME", "250-STARTTLS", "250 Ok"}
	if got := read(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("EHLO reply %q, want %q", got, want)
	}
	for _, cmd := range []string{"MAIL FROM:<a@example.org>\r\n", "RCPT TO:<inbox@example.com>\r\n"} {
		conn.Write([]byte(cmd))
		if got := read(); !strings.HasPrefix(got[0], "250 ") {
			t.Fatalf("%q: %q", cmd, got)
		}
	}
	conn.Write([]byte("DATA\r\n"))
	if got := read(); !strings.HasPrefix(got[0], "354 ") {
		t.Fatalf("DATA: %q", got)
	}
	conn.Write([]byte("Subject: conversation\r\n\r\nhello\r\n.\r\n"))
	got := read()
	text, ok := strings.CutPrefix(got[0], "250 ")
	if !ok || len(got) != 1 {
		t.Fatalf("end of DATA: %q, want 250 OK <message id>", got)
	}
	id, err := replyID(text)
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := getObject(t, inst.AWSURL, "ses-inbound", id); len(body) == 0 {
		t.Fatalf("object %s is empty", id)
	}
}
