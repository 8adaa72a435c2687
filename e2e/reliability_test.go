package e2e

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/emersion/go-smtp"
)

// rawSession speaks SMTP by hand, for what a well-behaved client library
// will not send.
type rawSession struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawSession {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &rawSession{t: t, conn: conn, r: bufio.NewReader(conn)}
	s.expect("220")
	return s
}

// reply reads one (possibly multi-line) reply and returns its last line.
func (s *rawSession) reply() string {
	s.t.Helper()
	s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return "EOF: " + err.Error()
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

func (s *rawSession) expect(code string) string {
	s.t.Helper()
	line := s.reply()
	if !strings.HasPrefix(line, code) {
		s.t.Fatalf("reply %q, want %s", line, code)
	}
	return line
}

func (s *rawSession) send(line string) {
	s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	s.conn.Write([]byte(line))
}

func TestLimits(t *testing.T) {
	inst := start(t, nil, "--max-message-size", "64KB", "--max-recipients", "100", "--max-header-fields", "50",
		"--max-conns", "4", "--data-timeout", "1s", "--command-timeout", "2s")

	t.Run("message too large", func(t *testing.T) {
		big := []byte("Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 70)+"\r\n", 2000))
		_, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, big)
		if smtpCode(err) != 552 {
			t.Fatalf("a 140 KB message = %v, want 552", err)
		}
	})
	t.Run("too many recipients", func(t *testing.T) {
		c, err := smtp.Dial(inst.SMTPAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Mail("a@example.org", nil)
		for i := 0; i < 100; i++ {
			if err := c.Rcpt(fmt.Sprintf("r%d@example.com", i), nil); err != nil {
				t.Fatalf("recipient %d: %v", i, err)
			}
		}
		if err := c.Rcpt("one-too-many@example.com", nil); smtpCode(err) != 452 {
			t.Fatalf("recipient 101 = %v, want 452", err)
		}
	})
	t.Run("too many header fields", func(t *testing.T) {
		msg := strings.Repeat("X-H: v\r\n", 60) + "\r\nbody\r\n"
		_, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte(msg))
		if smtpCode(err) != 552 || !strings.Contains(err.Error(), "header") {
			t.Fatalf("60 header fields = %v, want 552 header too large", err)
		}
	})
	t.Run("line too long", func(t *testing.T) {
		_, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: x\r\n\r\n"+strings.Repeat("y", 5000)+"\r\n"))
		if smtpCode(err) != 500 {
			t.Fatalf("a 5000-byte line = %v, want 500", err)
		}
	})
	t.Run("slow DATA", func(t *testing.T) {
		s := dialRaw(t, inst.SMTPAddr)
		s.send("EHLO slow\r\n")
		s.expect("250")
		s.send("MAIL FROM:<a@example.org>\r\n")
		s.expect("250")
		s.send("RCPT TO:<b@example.com>\r\n")
		s.expect("250")
		s.send("DATA\r\n")
		s.expect("354")
		start := time.Now()
		s.send("Subject: slow\r\n")
		if line := s.reply(); !strings.HasPrefix(line, "451 4.4.2") && !strings.HasPrefix(line, "421") {
			t.Fatalf("a client that stops sending DATA got %q, want 451 4.4.2 after the data timeout", line)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("the data timeout took %v", d)
		}
	})
	t.Run("idle client", func(t *testing.T) {
		s := dialRaw(t, inst.SMTPAddr)
		s.send("EHLO idle\r\n")
		s.expect("250")
		start := time.Now()
		if line := s.reply(); !strings.HasPrefix(line, "421 4.4.2") {
			t.Fatalf("a client that sends nothing got %q, want 421 4.4.2 after the command timeout", line)
		}
		if d := time.Since(start); d < time.Second || d > 6*time.Second {
			t.Fatalf("the command timeout took %v, want about 2s", d)
		}
	})
	t.Run("too many connections", func(t *testing.T) {
		var held []*rawSession
		for i := 0; i < 4; i++ {
			held = append(held, dialRaw(t, inst.SMTPAddr))
		}
		conn, err := net.Dial("tcp", inst.SMTPAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		if !strings.HasPrefix(line, "421 4.7.0") {
			t.Fatalf("connection 5 of 4 got %q, want 421", line)
		}
		for _, h := range held {
			h.conn.Close()
		}
	})
}

// Hostile input gets a clear reply, and the server stays up.
func TestHostileSMTP(t *testing.T) {
	inst := start(t, nil)
	s := dialRaw(t, inst.SMTPAddr)
	s.send("EHLO hostile\r\n")
	s.expect("250")
	for _, tt := range []struct {
		name, data string
		want       string
	}{
		{"NUL bytes", "Subject: nul\x00\x00\r\n\r\nbody\x00with NUL\r\n", "250"},
		{"bare LF", "Subject: lf\n\nbody with bare LF\nline\n", "250"},
		{"no headers", "\r\njust a body\r\n", "250"},
		{"invalid UTF-8", "Subject: \xff\xfe\xfd\r\nFrom: \xc3\x28 <a@example.org>\r\n\r\n\xed\xa0\x80\r\n", "250"},
		{"broken MIME", "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n", "250"},
		{"no blank line", "Subject: only headers\r\nX-More: yes\r\n", "250"},
	} {
		s.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
		s.expect("250")
		s.expect("250")
		s.expect("354")
		s.send(tt.data + "\r\n.\r\n")
		if got := s.reply(); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: reply %q, want %s", tt.name, got, tt.want)
		}
	}
	// 10,000 recipients: the first 1000 are taken, the rest refused, the
	// transaction still completes.
	s.send("MAIL FROM:<a@example.org>\r\n")
	s.expect("250")
	var b strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, "RCPT TO:<r%d@example.com>\r\n", i)
	}
	go s.send(b.String())
	accepted, refused := 0, 0
	for i := 0; i < 10000; i++ {
		switch line := s.reply(); {
		case strings.HasPrefix(line, "250"):
			accepted++
		case strings.HasPrefix(line, "452"):
			refused++
		default:
			t.Fatalf("recipient %d: %q", i, line)
		}
	}
	if accepted != 1000 || refused != 9000 {
		t.Errorf("accepted %d, refused %d of 10,000 recipients", accepted, refused)
	}
	s.send("DATA\r\n")
	s.expect("354")
	s.send("Subject: many\r\n\r\nx\r\n.\r\n")
	s.expect("250")
	// A 10,000-character command line.
	s.send("NOOP " + strings.Repeat("z", 10000) + "\r\n")
	if line := s.reply(); !strings.HasPrefix(line, "500") {
		t.Errorf("a 10,000-character line = %q, want 500", line)
	}
	// The server is still fine for the next client.
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: after\r\n\r\nfine\r\n")); err != nil {
		t.Fatalf("after the hostile session: %v", err)
	}
	if strings.Contains(inst.log.String(), "panic") {
		t.Fatalf("a panic was logged:\n%s", inst.log)
	}
}

// The log never holds a message body or a plaintext data key, even at debug.
func TestLogsKeepSecrets(t *testing.T) {
	inst := start(t, nil, "--log-level", "debug")
	const marker = "SECRET-BODY-6c1f9e"
	id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: s\r\n\r\n"+marker+"\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, meta := getObject(t, inst.AWSURL, "ses-inbound", id)
	var encCtx map[string]string
	json.Unmarshal([]byte(meta["x-amz-matdesc"]), &encCtx)
	out, err := kmsClient(inst.AWSURL).Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: mustB64(t, meta["x-amz-key-v2"]), EncryptionContext: encCtx})
	if err != nil {
		t.Fatal(err)
	}
	inst.stop(t)
	log := inst.log.String()
	for _, secret := range []string{marker, base64.StdEncoding.EncodeToString(out.Plaintext), hex.EncodeToString(out.Plaintext), string(out.Plaintext)} {
		if strings.Contains(log, secret) {
			t.Fatalf("the log contains a secret (%q...)", secret[:8])
		}
	}
	if !strings.Contains(log, "level=DEBUG") {
		t.Fatalf("no debug lines were logged, so the check proves little")
	}
}

// kill -9 under load, with --data-dir: every message that got 250 is on
// disk and decrypts after a restart, and nothing half-written is left.
func TestKillNineKeepsAcceptedMail(t *testing.T) {
	dir := t.TempDir()
	inst := start(t, nil, "--data-dir", dir)
	var mu sync.Mutex
	var accepted []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf("Subject: load %d-%d\r\n\r\n%s", w, i, strings.Repeat(strings.Repeat("z", 98)+"\r\n", 10*(i%20)))
				id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte(body))
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				accepted = append(accepted, id)
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	inst.cmd.Process.Signal(syscall.SIGKILL)
	<-inst.done
	close(stop)
	wg.Wait()
	if len(accepted) < 20 {
		t.Fatalf("only %d messages were accepted before the kill", len(accepted))
	}

	again := start(t, nil, "--data-dir", dir)
	s := s3Client(again.AWSURL)
	for _, id := range accepted {
		if _, err := s.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String(id)}); err != nil {
			t.Fatalf("message %s got 250 and is gone after kill -9: %v", id, err)
		}
	}
	// Every one of them decrypts with the official client.
	for _, id := range accepted {
		if _, err := decryptV1(again.AWSURL, "ses-inbound", id); err != nil {
			t.Fatalf("message %s does not decrypt after kill -9: %v", id, err)
		}
	}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("a temporary file survived the restart: %s", path)
		}
		return nil
	})
	t.Logf("%d messages accepted before kill -9, all present and decrypted after restart", len(accepted))
}

func TestAdminToken(t *testing.T) {
	inst := start(t, nil, "--admin-token", "s3cret")
	do := func(method, auth string) int {
		req, _ := http.NewRequest(method, inst.AWSURL+"/_sesinbound/faults", strings.NewReader(`{}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := do(http.MethodPut, ""); code != 401 {
		t.Errorf("PUT without a token = %d, want 401", code)
	}
	if code := do(http.MethodDelete, "Bearer wrong"); code != 401 {
		t.Errorf("DELETE with a wrong token = %d, want 401", code)
	}
	if code := do(http.MethodPut, "Bearer s3cret"); code != 200 {
		t.Errorf("PUT with the token = %d, want 200", code)
	}
	if code := do(http.MethodGet, ""); code != 401 {
		t.Errorf("GET without a token = %d, want 401 (with a token, reading needs it too)", code)
	}
	if code := do(http.MethodGet, "Bearer s3cret"); code != 200 {
		t.Errorf("GET with the token = %d, want 200", code)
	}
}
