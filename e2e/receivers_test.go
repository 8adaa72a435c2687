package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// hook is an HTTP receiver standing in for SNS HTTP subscribers and Lambda
// functions: it records every POST by path, and answers function calls with
// whatever reply decides.
type hook struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts map[string][]post
	reply func(path string, body []byte) string
}

type post struct {
	header http.Header
	body   []byte
}

func newHook(t *testing.T, reply func(path string, body []byte) string) *hook {
	t.Helper()
	h := &hook{posts: map[string][]post{}, reply: reply}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.posts[r.URL.Path] = append(h.posts[r.URL.Path], post{r.Header.Clone(), b})
		h.mu.Unlock()
		if h.reply != nil {
			io.WriteString(w, h.reply(r.URL.Path, b))
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) url(path string) string { return h.srv.URL + path }

// got returns the posts to path once there are at least n, or fails.
func (h *hook) got(t *testing.T, path string, n int) []post {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		p := append([]post(nil), h.posts[path]...)
		h.mu.Unlock()
		if len(p) >= n || time.Now().After(deadline) {
			if len(p) < n {
				t.Fatalf("%s got %d posts, want %d", path, len(p), n)
			}
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *hook) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.posts[path])
}

// relay is a go-smtp server standing in for the SMTP relay that carries
// bounces.
type relay struct {
	addr string
	mu   sync.Mutex
	msgs []relayed
}

type relayed struct {
	from string
	to   []string
	data string
}

func newRelay(t *testing.T) *relay {
	t.Helper()
	r := &relay{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }))
	srv.Domain = "relay.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *relay) wait(t *testing.T, n int) []relayed {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		m := append([]relayed(nil), r.msgs...)
		r.mu.Unlock()
		if len(m) >= n || time.Now().After(deadline) {
			if len(m) < n {
				t.Fatalf("relay got %d messages, want %d", len(m), n)
			}
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type relaySession struct {
	r    *relay
	from string
	to   []string
}

func (s *relaySession) Reset()        { s.from, s.to = "", nil }
func (s *relaySession) Logout() error { return nil }
func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *relaySession) Data(rd io.Reader) error {
	b, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.msgs = append(s.r.msgs, relayed{s.from, s.to, string(b)})
	return nil
}

// message fetches one message's record from /_sesinbound/messages.
func message(t *testing.T, inst *instance, id string) map[string]any {
	t.Helper()
	resp, err := http.Get(inst.AWSURL + "/_sesinbound/messages/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /_sesinbound/messages/%s: %s, %v", id, resp.Status, err)
	}
	return m
}

// jsonKeys returns an object's keys in document order.
func jsonKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, _ := dec.Token()
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	return keys
}
