package events_test

import (
	"context"
	"encoding/json"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"github.com/sesinbound/sesinbound/events"
	"github.com/sesinbound/sesinbound/receipt"
)

const (
	topic = "arn:aws:sns:us-east-1:000000000000:inbound"
	fn    = "arn:aws:lambda:us-east-1:000000000000:function:handler"
)

type captured struct {
	header http.Header
	body   []byte
}

func receiver(t *testing.T, status int, reply string) (*httptest.Server, func() []captured) {
	t.Helper()
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, reply)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []captured { mu.Lock(); defer mu.Unlock(); return append([]captured(nil), got...) }
}

func TestPublishHTTPSigned(t *testing.T) {
	signer := &events.Signer{BaseURL: "http://127.0.0.1:4566"}
	srv, got := receiver(t, 200, "")
	r := &events.Router{Topics: map[string]string{topic: srv.URL + "/sns"}, Signer: signer}
	notification := `{"notificationType":"Received","mail":{"source":"a <b@c>"}}`
	delivery, err := r.Publish(t.Context(), topic, []byte(notification))
	if err != nil || delivery != srv.URL+"/sns" {
		t.Fatalf("Publish() = %q, %v", delivery, err)
	}
	posts := got()
	if len(posts) != 1 {
		t.Fatalf("%d posts", len(posts))
	}
	h := posts[0].header
	var m events.Message
	if err := json.Unmarshal(posts[0].body, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"X-Amz-Sns-Message-Type": "Notification", "X-Amz-Sns-Topic-Arn": topic, "X-Amz-Sns-Message-Id": m.MessageID,
		"Content-Type": "text/plain; charset=UTF-8",
	} {
		if h.Get(k) != want {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), want)
		}
	}
	if !strings.HasPrefix(h.Get("X-Amz-Sns-Subscription-Arn"), topic+":") {
		t.Errorf("subscription ARN = %q", h.Get("X-Amz-Sns-Subscription-Arn"))
	}
	if m.Type != "Notification" || m.TopicArn != topic || m.Subject != "Amazon SES Email Receipt Notification" ||
		m.Message != notification || m.SignatureVersion != "1" || m.SigningCertURL != "http://127.0.0.1:4566"+events.CertPath ||
		!strings.HasPrefix(m.UnsubscribeURL, "http://127.0.0.1:4566/") {
		t.Errorf("message = %+v", m)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", m.Timestamp); err != nil {
		t.Errorf("Timestamp %q: %v", m.Timestamp, err)
	}
	for _, field := range []string{"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"} {
		if !strings.Contains(string(posts[0].body), `"`+field+`"`) {
			t.Errorf("body lacks %s", field)
		}
	}
	// The signature verifies against the certificate the endpoint serves.
	cert := httptest.NewRecorder()
	signer.Handler().ServeHTTP(cert, httptest.NewRequest(http.MethodGet, events.CertPath, nil))
	if err := events.Verify(&m, cert.Body.Bytes()); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	m.Message += " tampered"
	if events.Verify(&m, cert.Body.Bytes()) == nil {
		t.Fatalf("a tampered message verified")
	}
}

func TestPublishFailures(t *testing.T) {
	srv, _ := receiver(t, 500, "boom")
	r := &events.Router{Topics: map[string]string{topic: srv.URL}, Signer: &events.Signer{}}
	if _, err := r.Publish(t.Context(), topic, []byte("{}")); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("Publish to a 500 = %v", err)
	}
	if d, err := r.Publish(t.Context(), "arn:aws:sns:us-east-1:000000000000:other", []byte("{}")); err != nil || d != receipt.DeliveryRecorded {
		t.Fatalf("Publish to an unmapped topic = %q, %v", d, err)
	}
}

func TestInvokeHTTP(t *testing.T) {
	srv, got := receiver(t, 200, `{"disposition":"STOP_RULE"}`)
	r := &events.Router{Functions: map[string]string{fn: srv.URL}}
	_, reply, err := r.Invoke(t.Context(), fn, "RequestResponse", []byte(`{"Records":[]}`))
	if err != nil || string(reply) != `{"disposition":"STOP_RULE"}` {
		t.Fatalf("Invoke(RequestResponse) = %q, %v", reply, err)
	}
	_, reply, err = r.Invoke(t.Context(), fn, "Event", []byte(`{"Records":[]}`))
	if err != nil || reply != nil {
		t.Fatalf("Invoke(Event) = %q, %v", reply, err)
	}
	posts := got()
	if len(posts) != 2 || posts[0].header.Get("X-Amz-Invocation-Type") != "RequestResponse" || string(posts[1].body) != `{"Records":[]}` {
		t.Fatalf("posts = %+v", posts)
	}
}

type fakeSNS struct{ in *sns.PublishInput }

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.in = in
	return &sns.PublishOutput{}, nil
}

type fakeLambda struct{ err string }

func (f fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	if f.err != "" {
		return &lambda.InvokeOutput{FunctionError: &f.err, Payload: []byte(`{"errorMessage":"x"}`)}, nil
	}
	return &lambda.InvokeOutput{Payload: []byte(`{"disposition":"stop_rule_set"}`)}, nil
}

func TestSDKFallback(t *testing.T) {
	s := &fakeSNS{}
	r := &events.Router{SNS: s, Lambda: fakeLambda{}}
	if d, err := r.Publish(t.Context(), topic, []byte("{}")); err != nil || d != "sns" || *s.in.Subject != events.Subject || *s.in.Message != "{}" {
		t.Fatalf("Publish via SNS = %q, %v, %+v", d, err, s.in)
	}
	if d, reply, err := r.Invoke(t.Context(), fn, "RequestResponse", []byte("{}")); err != nil || d != "lambda" || !strings.Contains(string(reply), "stop_rule_set") {
		t.Fatalf("Invoke via Lambda = %q %q %v", d, reply, err)
	}
	r.Lambda = fakeLambda{err: "Unhandled"}
	if _, _, err := r.Invoke(t.Context(), fn, "RequestResponse", []byte("{}")); err == nil || !strings.Contains(err.Error(), "Unhandled") {
		t.Fatalf("Invoke of a failing function = %v", err)
	}
}

type relayBackend struct {
	mu   sync.Mutex
	from []string
	to   []string
	data []string
}

func (b *relayBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{b: b}, nil }

type relaySession struct{ b *relayBackend }

func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }
func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.from = append(s.b.from, from)
	return nil
}
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.to = append(s.b.to, to)
	return nil
}
func (s *relaySession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.data = append(s.b.data, string(b))
	return nil
}

func TestRelayBounce(t *testing.T) {
	be := &relayBackend{}
	srv := smtp.NewServer(be)
	srv.Domain = "relay.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	r := &events.Relay{Addr: ln.Addr().String()}
	dsn := "From: bounces@example.com\r\nTo: a@example.org\r\nSubject: x\r\n\r\nbounced\r\n"
	if _, err := r.Bounce(t.Context(), "a@example.org", []byte(dsn)); err != nil {
		t.Fatal(err)
	}
	if len(be.from) != 1 || be.from[0] != "" || be.to[0] != "a@example.org" || be.data[0] != dsn {
		t.Fatalf("relay saw MAIL %q RCPT %q DATA %q", be.from, be.to, be.data)
	}
	bad := &events.Relay{Addr: "127.0.0.1:1"}
	if _, err := bad.Bounce(t.Context(), "a@example.org", []byte(dsn)); err == nil {
		t.Fatalf("Bounce to a closed port succeeded")
	}
}

func TestPublishWithoutSigner(t *testing.T) {
	r := &events.Router{Topics: map[string]string{topic: "http://127.0.0.1:9/sns"}}
	if _, err := r.Publish(t.Context(), topic, []byte("{}")); err == nil || !strings.Contains(err.Error(), "no Signer") {
		t.Fatalf("Publish without a Signer = %v, want an error naming the Signer", err)
	}
}

// TestSignerIDsDeterministic: with a fixed Rand, the message and
// subscription IDs are the same every time, and are version 4 UUIDs.
func TestSignerIDsDeterministic(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ids := func() (string, string) {
		s := &events.Signer{BaseURL: "http://127.0.0.1:4566", Rand: mathrand.NewChaCha8([32]byte{1})}
		m, err := s.Message(topic, events.Subject, "{}", at)
		if err != nil {
			t.Fatal(err)
		}
		return m.MessageID, m.UnsubscribeURL
	}
	id1, unsub1 := ids()
	id2, unsub2 := ids()
	if id1 != id2 || unsub1 != unsub2 {
		t.Fatalf("IDs differ with the same Rand: %s %s, then %s %s", id1, unsub1, id2, unsub2)
	}
	u, err := uuid.Parse(id1)
	if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 {
		t.Fatalf("MessageId %q is not a version 4 UUID: %v", id1, err)
	}
	if !strings.HasSuffix(unsub1, topic+":"+uuid.Must(uuid.NewRandomFromReader(skip16(mathrand.NewChaCha8([32]byte{1})))).String()) {
		t.Fatalf("UnsubscribeURL %q does not end in the second UUID from Rand", unsub1)
	}
}

// skip16 drops the first UUID's worth of bytes from r.
func skip16(r io.Reader) io.Reader {
	var b [16]byte
	io.ReadFull(r, b[:])
	return r
}
