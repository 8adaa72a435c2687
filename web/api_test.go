package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sesinbound/sesinbound/web"
)

func do(t *testing.T, method, url string, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

const withAttachment = `From: Alice <alice@example.org>
To: inbox@example.com
Subject: =?utf-8?q?Caf=C3=A9?= report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

<p>Caf=E9 <img src=3D"cid:logo@x"> <img src=3D"https://tracker.example/p.gif"></p>
--rel
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--rel--
--outer
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer--
`

func TestMailAPI(t *testing.T) {
	em := startEmulator(t, pageRules, "")
	send(t, em.SMTPAddr(), "alice@example.org", "inbox@example.com", withAttachment)
	id := newestID(t, em)
	base := em.URL() + "/_sesinbound/messages/" + id

	code, _, b := do(t, "GET", base+"/mail", nil)
	if code != 200 {
		t.Fatalf("mail: %d %s", code, b)
	}
	var m web.Mail
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Objects) != 2 || !m.Objects[0].Encrypted || m.Objects[1].Encrypted || m.Objects[0].Key != "mail/"+id {
		t.Fatalf("objects = %+v", m.Objects)
	}
	if len(m.Objects[0].Metadata) != 7 || m.Objects[0].EncryptionContext["aws:ses:message-id"] != id {
		t.Errorf("metadata %v, context %v", m.Objects[0].Metadata, m.Objects[0].EncryptionContext)
	}
	if !strings.Contains(m.HTML, "Café") || !strings.Contains(m.HTML, "data:image/png;base64,iVBORw0KGgo=") || !m.Remote {
		t.Errorf("html = %q (remote %v): want the charset decoded, the cid image inlined, the remote image noticed", m.HTML, m.Remote)
	}
	if len(m.Attachments) != 2 || m.Attachments[1].Filename != "report.pdf" || !m.Attachments[0].Inline {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	var ses, added int
	for _, h := range m.Headers {
		switch h.By {
		case "ses":
			ses++
		case "AddHeaderAction":
			added++
		}
	}
	if ses < 5 || added != 1 || m.Headers[0].Name != "Return-Path" {
		t.Errorf("%d SES headers, %d added: %+v", ses, added, m.Headers)
	}

	// The attachment, as sent.
	code, hdr, b := do(t, "GET", base+"/parts/"+strconv.Itoa(m.Attachments[1].Part), nil)
	if code != 200 || string(b) != "%PDF-1.4\n" || !strings.Contains(hdr.Get("Content-Disposition"), "report.pdf") {
		t.Errorf("part: %d %q %v", code, b, hdr)
	}
	// The raw mail, decrypted, as an .eml download; each object by index.
	for n, want := range []string{"X-SES-RECEIPT", "X-Tag: inbound"} {
		code, hdr, b = do(t, "GET", base+"/raw?download=1&object="+strconv.Itoa(n), nil)
		if code != 200 || !strings.Contains(string(b), want) || !strings.Contains(string(b), "report.pdf") || hdr.Get("Content-Type") != "message/rfc822" {
			t.Errorf("raw object %d: %d %v", n, code, hdr)
		}
	}
	// The stored object, encrypted: not the plaintext.
	code, _, b = do(t, "GET", base+"/stored", nil)
	if code != 200 || strings.Contains(string(b), "report.pdf") || len(b) != int(m.Objects[0].Length) {
		t.Errorf("stored: %d, %d bytes", code, len(b))
	}
	if code, _, _ := do(t, "GET", base+"/mail?object=5", nil); code != 400 {
		t.Errorf("object=5: %d, want 400", code)
	}

	// The configuration.
	code, _, b = do(t, "GET", em.URL()+"/_sesinbound/status", nil)
	var c struct {
		RuleSet struct {
			Rules []struct {
				Name      string
				Enabled   bool
				TlsPolicy string
				Actions   []map[string]any
			}
		}
		Backends struct{ S3, KMS string }
		Findings []struct{ Check, Severity string }
		SMTPAddr string
	}
	if err := json.Unmarshal(b, &c); err != nil || code != 200 {
		t.Fatalf("config: %d %v %s", code, err, b)
	}
	if len(c.RuleSet.Rules) != 3 || c.RuleSet.Rules[0].Name != "inbound" || c.RuleSet.Rules[1].Enabled || len(c.RuleSet.Rules[0].Actions[0]) != 1 {
		t.Errorf("rules = %+v", c.RuleSet.Rules)
	}
	if c.Backends.S3 != "embedded" || len(c.Findings) == 0 || c.SMTPAddr != em.SMTPAddr() {
		t.Errorf("config = %+v", c)
	}

	// Delete one: the record and both objects go.
	if code, _, b := do(t, "DELETE", base, nil); code != 204 {
		t.Fatalf("delete: %d %s", code, b)
	}
	for _, o := range m.Objects {
		if code, _, _ := do(t, "HEAD", em.URL()+"/"+o.Bucket+"/"+o.Key, nil); code != 404 {
			t.Errorf("s3://%s/%s after delete: %d", o.Bucket, o.Key, code)
		}
	}
	if code, _, _ := do(t, "GET", base, nil); code != 404 {
		t.Errorf("record after delete: %d", code)
	}
	if code, _, _ := do(t, "DELETE", base, nil); code != 404 {
		t.Errorf("second delete: %d, want 404", code)
	}
}

func TestPageServing(t *testing.T) {
	em := startEmulator(t, "", "")
	// A browser at / goes to the page; an SDK's GET / is still ListBuckets.
	code, hdr, _ := do(t, "GET", em.URL()+"/", map[string]string{"Accept": "text/html,application/xhtml+xml"})
	if code != 302 || hdr.Get("Location") != "/_sesinbound/" {
		t.Errorf("browser GET /: %d %v", code, hdr)
	}
	code, _, b := do(t, "GET", em.URL()+"/", map[string]string{"Accept": "text/html", "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"})
	if code != 200 || !strings.Contains(string(b), "ListAllMyBucketsResult") {
		t.Errorf("signed GET /: %d %s", code, b)
	}
	code, _, b = do(t, "GET", em.URL()+"/", nil)
	if code != 200 || !strings.Contains(string(b), "ListAllMyBucketsResult") {
		t.Errorf("GET / without Accept: %d %s", code, b)
	}
	code, hdr, b = do(t, "GET", em.URL()+"/_sesinbound/", nil)
	csp := hdr.Get("Content-Security-Policy")
	script := ""
	for _, d := range strings.Split(csp, ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, "script-src ") {
			script = d
		}
	}
	if code != 200 || script != "script-src 'self'" || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("page: %d, CSP %q: want scripts from the page's own files only", code, csp)
	}
	if strings.Contains(string(b), "<script>") || strings.Contains(string(b), " onclick=") || strings.Contains(string(b), " onload=") {
		t.Error("the page has inline script")
	}
	for _, asset := range []string{"app.js", "app.css"} {
		if code, _, _ := do(t, "GET", em.URL()+"/_sesinbound/assets/"+asset, nil); code != 200 {
			t.Errorf("%s: %d", asset, code)
		}
	}
}

func TestTokenAndCrossSite(t *testing.T) {
	em := startEmulator(t, "", "s3cret")
	send(t, em.SMTPAddr(), "a@example.org", "inbox@example.com", "Subject: x\n\nhello\n")
	id := newestID(t, em)
	u := em.URL() + "/_sesinbound/"
	for _, tt := range []struct {
		method, path string
		hdr          map[string]string
		want         int
	}{
		{"GET", "health", nil, 200},
		{"GET", "", nil, 200},
		{"GET", "assets/app.js", nil, 200},
		{"GET", "messages", nil, 401},
		{"GET", "messages/" + id + "/raw", nil, 401},
		{"GET", "status", nil, 401},
		{"GET", "messages", map[string]string{"Authorization": "Bearer wrong"}, 401},
		{"GET", "messages", map[string]string{"Authorization": "Bearer s3cret"}, 200},
		{"GET", "messages/" + id + "/raw", map[string]string{"Cookie": "sesinbound_token=s3cret"}, 200},
		// A page on another site cannot change state, even with the token.
		{"DELETE", "messages/" + id, map[string]string{"Cookie": "sesinbound_token=s3cret", "Sec-Fetch-Site": "cross-site"}, 403},
		{"DELETE", "messages/" + id, map[string]string{"Authorization": "Bearer s3cret", "Origin": "http://evil.example"}, 403},
		{"DELETE", "messages/" + id, map[string]string{"Cookie": "sesinbound_token=s3cret", "Sec-Fetch-Site": "same-origin", "Origin": "http://" + em.AWSAddr()}, 204},
	} {
		if code, _, b := do(t, tt.method, u+tt.path, tt.hdr); code != tt.want {
			t.Errorf("%s /_sesinbound/%s %v: %d, want %d (%s)", tt.method, tt.path, tt.hdr, code, tt.want, b)
		}
	}
}
