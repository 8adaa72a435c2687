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
