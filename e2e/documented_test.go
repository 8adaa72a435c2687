package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Behaviours the README documents that no other test covered.

// GTUBE in a message gives spam FAIL, in the stored headers and the
// record, with ScanEnabled.
func TestGTUBEIsSpam(t *testing.T) {
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", `
Rules:
  - Name: scan
    Enabled: true
    ScanEnabled: true
    Actions: [{S3Action: {BucketName: ses-inbound}}]
`))
	for _, tt := range []struct{ body, want string }{
		{"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X", "FAIL"},
		{"an ordinary message", "PASS"},
	} {
		id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: offer\r\n\r\n"+tt.body+"\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := getObject(t, inst.AWSURL, "ses-inbound", id)
		if !bytes.Contains(stored, []byte("\r\nX-SES-Spam-Verdict: "+tt.want+"\r\n")) {
			t.Errorf("%q: stored headers lack X-SES-Spam-Verdict: %s:\n%s", tt.body, tt.want, stored[:bytes.Index(stored, []byte("\r\n\r\n"))])
		}
		var rec map[string]any
		getJSON(t, inst.AWSURL+"/_sesinbound/messages/"+id, &rec)
		if b, _ := json.Marshal(rec); !strings.Contains(string(b), `"spam":"`+tt.want+`"`) && !strings.Contains(string(b), `"spamVerdict":{"status":"`+tt.want+`"}`) {
			t.Errorf("%q: the record does not say spam %s: %s", tt.body, tt.want, b)
		}
	}
}

// An SNSAction above 150 KB publishes nothing and records the action as
// failed with the reason; the mail is still stored and gets 250.
func TestSNSActionSizeLimit(t *testing.T) {
	h := newHook(t, nil)
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", fmt.Sprintf(`
AccountId: "111122223333"
Topics:
  arn:aws:sns:us-east-1:111122223333:content: %s
Rules:
  - Name: publish
    Enabled: true
    Actions:
      - S3Action: {BucketName: ses-inbound}
      - SNSAction: {TopicArn: "arn:aws:sns:us-east-1:111122223333:content"}
`, h.url("/sns"))))
	small := "Subject: small\r\n\r\n" + strings.Repeat("s", 1000) + "\r\n"
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("b", 98)+"\r\n", 1600) // 160 KB
	if _, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte(small)); err != nil {
		t.Fatal(err)
	}
	h.got(t, "/sns", 1)
	id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte(big))
	if err != nil {
		t.Fatalf("a 160 KB mail with an SNSAction: %v, want 250", err)
	}
	getObject(t, inst.AWSURL, "ses-inbound", id)
	// The record is complete once the reply is sent; give a post a moment
	// to arrive if one were (wrongly) on its way.
	time.Sleep(500 * time.Millisecond)
	if n := h.count("/sns"); n != 1 {
		t.Errorf("a 160 KB message was published: %d posts, want 1 (the small one)", n)
	}
	var rec struct {
		Rules []struct {
			Actions []struct {
				Type  string `json:"type"`
				Error string `json:"error"`
			} `json:"actions"`
		} `json:"rules"`
	}
	getJSON(t, inst.AWSURL+"/_sesinbound/messages/"+id, &rec)
	var snsErr string
	for _, r := range rec.Rules {
		for _, a := range r.Actions {
			if a.Type == "SNSAction" {
				snsErr = a.Error
			}
		}
	}
	if !strings.Contains(snsErr, "150") {
		t.Errorf("the SNSAction of a 160 KB message is recorded with error %q, want the 150 KB limit named", snsErr)
	}
}

// --tls-cert and --tls-key: STARTTLS presents that certificate, and a
// client that trusts only it can deliver.
func TestTLSCertFlags(t *testing.T) {
	certPEM, keyPEM := testCert(t, "mx.test.example")
	certFile, keyFile := writeFile(t, "cert.pem", string(certPEM)), writeFile(t, "key.pem", string(keyPEM))
	inst := start(t, nil, "--tls-cert", certFile, "--tls-key", keyFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	c, err := smtp.DialStartTLS(inst.SMTPAddr, &tls.Config{RootCAs: pool, ServerName: "mx.test.example"})
	if err != nil {
		t.Fatalf("STARTTLS trusting only the --tls-cert certificate: %v", err)
	}
	defer c.Close()
	if err := c.Mail("a@example.org", nil); err != nil {
		t.Fatal(err)
	}
	state, ok := c.TLSConnectionState() // the handshake is done by now
	block, _ := pem.Decode(certPEM)
	if !ok || len(state.PeerCertificates) == 0 || !bytes.Equal(state.PeerCertificates[0].Raw, block.Bytes) {
		t.Fatalf("STARTTLS did not present the --tls-cert certificate")
	}
	if err := c.Rcpt("b@example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: over tls\r\n\r\nx\r\n")
	resp, err := w.CloseWithResponse()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := replyID(resp.StatusText)
	var rec map[string]any
	getJSON(t, inst.AWSURL+"/_sesinbound/messages/"+id, &rec)
	if b, _ := json.Marshal(rec); !strings.Contains(strings.ToLower(string(b)), `"tls":true`) && !strings.Contains(string(b), "TLS") {
		t.Errorf("the record does not show TLS: %s", b)
	}
	// One flag without the other is an error at startup.
	if _, stderr, code := runCmd(t, nil, "--tls-cert", certFile, "--smtp-addr", "127.0.0.1:0", "--aws-addr", "127.0.0.1:0"); code == 0 || !strings.Contains(stderr, "--tls-key") {
		t.Errorf("--tls-cert alone: exit %d, %s", code, stderr)
	}
}

// testCert makes a self-signed certificate for name and 127.0.0.1.
func testCert(t *testing.T, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{name}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// --log-format json: every line is a JSON object, the startup line and the
// one per message included.
func TestLogFormatJSON(t *testing.T) {
	inst := start(t, nil, "--log-format", "json")
	id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: j\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !inst.waitLog(t, id) {
		t.Fatalf("no log line names message %s:\n%s", id, inst.log)
	}
	inst.stop(t)
	var sawReady, sawMessage bool
	for _, line := range strings.Split(strings.TrimSpace(inst.log.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("not a JSON line: %q", line)
			continue
		}
		if m["msg"] == "sesinbound ready" && m["smtp"] == inst.SMTPAddr {
			sawReady = true
		}
		if m["msg_id"] == id && m["level"] != nil {
			sawMessage = true
		}
	}
	if !sawReady || !sawMessage {
		t.Errorf("JSON log: ready line %v, a line with msg_id %s %v:\n%s", sawReady, id, sawMessage, inst.log)
	}
}

// --s3-path-style=false addresses an external S3 virtual-hosted style:
// bucket.host:port. Loopback has no DNS for bucket names, so the S3
// endpoint is http://localhost:PORT and sesinbound's HTTP_PROXY is a
// proxy in the test that sends every *.localhost request to versitygw
// (started with --virtual-domain localhost) with its Host header intact;
// Go does not proxy "localhost" or loopback IPs themselves, so the
// embedded KMS and the health check are reached directly. The proxy
// records each Host and path, which shows the style used.
func TestS3VirtualHostedStyle(t *testing.T) {
	bin := buildTool(t, "versitygw")
	port := freePort(t)
	vgw := &s3Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), AccessKey: "versityaccess", SecretKey: "versitysecret", DataDir: t.TempDir()}
	vgw.proc = newProc(t, "versitygw", bin, []string{
		"--access", vgw.AccessKey, "--secret", vgw.SecretKey,
		"--port", "127.0.0.1:" + strconv.Itoa(port), "--virtual-domain", "localhost",
		"posix", vgw.DataDir,
	}, nil, readyTimeout, s3Ready(vgw.Endpoint, vgw.AccessKey, vgw.SecretKey))
	vgw.Start(t)

	var mu sync.Mutex
	var seen []string // "METHOD host path"
	target, _ := url.Parse(vgw.Endpoint)
	rp := httputil.NewSingleHostReverseProxy(target)
	director := rp.Director
	rp.Director = func(r *http.Request) {
		host := r.Host
		director(r)
		r.Host = host // virtual-hosted style lives in the Host header
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Host+" "+r.URL.Path)
		mu.Unlock()
		if !strings.HasSuffix(strings.Split(r.Host, ":")[0], "localhost") {
			http.Error(w, "this proxy only serves *.localhost", http.StatusForbidden)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)

	env := []string{"AWS_ENDPOINT_URL_S3=http://localhost:" + strconv.Itoa(port), "HTTP_PROXY=" + proxy.URL, "NO_PROXY=",
		"AWS_ACCESS_KEY_ID=" + vgw.AccessKey, "AWS_SECRET_ACCESS_KEY=" + vgw.SecretKey, "AWS_REGION=us-east-1"}
	inst := start(t, env, "--s3-path-style=false")
	msg := []byte("Subject: virtual\r\n\r\nhosted\r\n")
	id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, msg)
	if err != nil {
		t.Fatalf("send: %v\n%s", err, inst.log)
	}
	mu.Lock()
	want := fmt.Sprintf("PUT ses-inbound.localhost:%d /%s", port, id)
	found := false
	for _, s := range seen {
		found = found || s == want
		if strings.Contains(s, "/ses-inbound/") {
			t.Errorf("a path-style request with --s3-path-style=false: %s", s)
		}
	}
	mu.Unlock()
	if !found {
		t.Errorf("no %q among the requests the S3 endpoint got: %v", want, seen)
	}
	b := backendSet{s3URL: vgw.Endpoint, accessKey: vgw.AccessKey, secret: vgw.SecretKey}
	plain, err := b.decryptV1(inst, "ses-inbound", id)
	if err != nil || !bytes.HasSuffix(plain, msg) {
		t.Fatalf("the object stored virtual-hosted style does not decrypt: %v", err)
	}
}
