package sesinboundtest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/emulator"
	"github.com/sesinbound/sesinbound/sesinboundtest"
)

const rules = `
Rules:
  - Name: bounce-nobody
    Enabled: true
    Recipients: [nobody@example.com]
    Actions:
      - BounceAction: {SmtpReplyCode: "550", StatusCode: "5.1.1", Message: No such mailbox, Sender: mailer-daemon@example.com}
      - StopAction: {Scope: RuleSet}
  - Name: inbox
    Enabled: true
    Recipients: [example.com]
    Actions:
      - S3Action:
          BucketName: inbound
          ObjectKeyPrefix: mail/
          KmsKeyArn: arn:aws:kms:us-east-1:000000000000:alias/aws/ses
      - SNSAction: {TopicArn: "arn:aws:sns:us-east-1:000000000000:mail"}
`

func mail(from, to, subject, body string) []byte {
	return []byte(fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\n%s\r\n", from, to, subject, body))
}

// Each parallel test starts its own server; none sees another's mail.
func TestParallel(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			srv := sesinboundtest.Start(t, sesinboundtest.WithRules([]byte(rules)), sesinboundtest.WithLog(slog.LevelInfo))
			ctx := t.Context()
			to := fmt.Sprintf("user%d@example.com", i)
			// The waiter is there before the mail.
			type result struct {
				m   *sesinboundtest.Message
				err error
			}
			done := make(chan result, 1)
			go func() {
				m, err := srv.WaitFor(ctx, sesinboundtest.Filter{To: strings.ToUpper(to), Subject: "code"})
				done <- result{m, err}
			}()
			id, err := srv.Send(ctx, "sender@example.org", []string{to}, mail("sender@example.org", to, fmt.Sprint("Your code ", i), fmt.Sprint("secret ", i)))
			if err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			m := r.m
			if m.ID != id || m.Reply.Code != 250 || len(m.Objects) != 1 || m.Objects[0].Bucket != "inbound" {
				t.Fatalf("message = %+v, want %s stored in inbound", m.Result, id)
			}
			body, err := m.Decrypted(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(body), fmt.Sprint("secret ", i)) || !strings.Contains(string(body), "X-SES-RECEIPT:") {
				t.Fatalf("decrypted = %q", body)
			}
			// The SNS notification was emitted (to no receiver: recorded) before the record.
			if len(m.Events) != 1 || m.Events[0].Action != "SNSAction" || m.Events[0].Delivery != "recorded" || !strings.Contains(string(m.Events[0].Payload), id) {
				t.Fatalf("events = %+v", m.Events)
			}
			all, err := srv.Messages(ctx, sesinboundtest.Filter{})
			if err != nil || len(all) != 1 {
				t.Fatalf("another test's mail is visible: %d, %v", len(all), err)
			}
		})
	}
}

func TestWaitTimeoutAndCursor(t *testing.T) {
	srv := sesinboundtest.Start(t)
	ctx := t.Context()
	if _, err := srv.Send(ctx, "a@example.org", []string{"x@example.com"}, mail("a@example.org", "x@example.com", "first", "1")); err != nil {
		t.Fatal(err)
	}
	first, err := srv.WaitFor(ctx, sesinboundtest.Filter{To: "x@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// After the first message's cursor, only later ones count: none yet.
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = srv.WaitFor(wctx, sesinboundtest.Filter{To: "x@example.com", After: first.Cursor})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "to=x%40example.com") {
		t.Fatalf("WaitFor at the deadline = %v", err)
	}
	if _, err := srv.Send(ctx, "a@example.org", []string{"x@example.com"}, mail("a@example.org", "x@example.com", "second", "2")); err != nil {
		t.Fatal(err)
	}
	second, err := srv.WaitFor(ctx, sesinboundtest.Filter{To: "x@example.com", After: first.Cursor})
	if err != nil || second.Subject != "second" {
		t.Fatalf("after the cursor: %v %v", second, err)
	}
	// Without After, the oldest match; its cursor leads to the next.
	again, err := srv.WaitFor(ctx, sesinboundtest.Filter{To: "x@example.com"})
	if err != nil || again.Subject != "first" {
		t.Fatalf("oldest match: %v %v", again, err)
	}
	next, err := srv.WaitFor(ctx, sesinboundtest.Filter{To: "x@example.com", After: again.Cursor})
	if err != nil || next.Subject != "second" {
		t.Fatalf("next after the oldest: %v %v", next, err)
	}
}

func TestReset(t *testing.T) {
	srv := sesinboundtest.Start(t, sesinboundtest.WithRules([]byte(rules)),
		sesinboundtest.WithConfig(func(c *emulator.Config) { c.AdminToken = "s3cret" }))
	ctx := t.Context()
	id, err := srv.Send(ctx, "a@example.org", []string{"x@example.com"}, mail("a@example.org", "x@example.com", "hi", "1"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := srv.WaitFor(ctx, sesinboundtest.Filter{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	// Without the token, reset is refused.
	resp, err := http.Post(srv.Endpoint()+"/_sesinbound/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reset without the token = %d", resp.StatusCode)
	}
	if err := srv.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Messages(ctx, sesinboundtest.Filter{}); len(got) != 0 {
		t.Fatalf("%d messages after Reset", len(got))
	}
	s3c := s3.NewFromConfig(srv.AWSConfig())
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("inbound"), Key: aws.String(m.Objects[0].Key)}); err == nil {
		t.Fatal("the object survived Reset")
	}
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("inbound")}); err != nil {
		t.Fatalf("the bucket went with Reset: %v", err)
	}
	// Keys and rules stay: the next message is stored and decrypts.
	id, err = srv.Send(ctx, "a@example.org", []string{"x@example.com"}, mail("a@example.org", "x@example.com", "again", "2"))
	if err != nil {
		t.Fatal(err)
	}
	m, err = srv.WaitFor(ctx, sesinboundtest.Filter{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Decrypted(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBounceAndConnect(t *testing.T) {
	srv := sesinboundtest.Start(t, sesinboundtest.WithRules([]byte(rules)))
	ctx := t.Context()
	c, err := sesinboundtest.Connect(srv.Endpoint(), sesinboundtest.WithSMTPAddr(srv.SMTPAddr()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, "a@example.org", []string{"nobody@example.com"}, mail("a@example.org", "nobody@example.com", "hi", "1")); err != nil {
		t.Fatal(err)
	}
	// Without a relay the DSN is recorded, not sent: wait for that state.
	m, err := c.WaitFor(ctx, sesinboundtest.Filter{To: "nobody@example.com", Bounced: "recorded"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Bounces) != 1 || !strings.Contains(m.Bounces[0].DSN, "5.1.1") {
		t.Fatalf("bounces = %+v", m.Bounces)
	}
	if _, err := sesinboundtest.Connect("http://127.0.0.1:1"); err == nil {
		t.Fatal("Connect to nothing succeeded")
	}
	// A refused recipient is an *smtp.SMTPError.
	_, err = c.Send(ctx, "a@example.org", []string{"x@elsewhere.test"}, mail("a@example.org", "x@elsewhere.test", "hi", "1"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("Send to an unknown domain = %v, want 550", err)
	}
}

// Many waiters at once, each getting its own mail.
func TestManyWaiters(t *testing.T) {
	srv := sesinboundtest.Start(t)
	ctx := t.Context()
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := fmt.Sprintf("w%d@example.com", i)
			m, err := srv.WaitFor(ctx, sesinboundtest.Filter{To: to})
			if err == nil && m.Recipients[0] != to {
				err = fmt.Errorf("waiter %d got %v", i, m.Recipients)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	for i := range n {
		to := fmt.Sprintf("w%d@example.com", i)
		if _, err := srv.Send(ctx, "a@example.org", []string{to}, mail("a@example.org", to, "hi", "x")); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkStart measures how long Start takes (target: well under 50 ms).
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		srv, err := sesinboundtest.New(sesinboundtest.WithRules([]byte(rules)))
		if err != nil {
			b.Fatal(err)
		}
		srv.Close()
	}
}

// BenchmarkWaitLatency measures how long after the 250 reply a waiter
// already blocked in WaitFor returns the message: p50 and p99 over b.N
// messages, as metrics. The record is stored before the reply is written,
// so the waiter can even return first (a negative figure).
func BenchmarkWaitLatency(b *testing.B) {
	srv := sesinboundtest.Start(b)
	ctx := b.Context()
	cursor, err := srv.Cursor(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var lats []time.Duration
	for i := 0; b.Loop(); i++ {
		to := fmt.Sprintf("lat%d@example.com", i)
		got := make(chan time.Time, 1)
		go func() {
			m, err := srv.WaitFor(ctx, sesinboundtest.Filter{To: to, After: cursor})
			if err != nil {
				b.Error(err)
			} else {
				cursor = m.Cursor
			}
			got <- time.Now()
		}()
		time.Sleep(time.Millisecond) // let the long poll reach the server
		replied := sendTimed(b, srv.SMTPAddr(), to)
		lats = append(lats, (<-got).Sub(replied))
	}
	slices.Sort(lats)
	b.ReportMetric(float64(lats[len(lats)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds()), "p99-µs")
}

// sendTimed sends one message and returns when its 250 arrived.
func sendTimed(b *testing.B, addr, to string) time.Time {
	c, err := smtp.Dial(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("a@example.org", nil); err != nil {
		b.Fatal(err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		b.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		b.Fatal(err)
	}
	w.Write(mail("a@example.org", to, "hi", "x"))
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return time.Now()
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// With a data dir, Reset gives the space back; ?only=messages keeps the
// objects.
func TestResetDataDir(t *testing.T) {
	dir := t.TempDir()
	srv := sesinboundtest.Start(t, sesinboundtest.WithDataDir(dir))
	ctx := t.Context()
	big := strings.Repeat("0123456789abcdef", 64<<10/16) // 64 KB lines of body
	var keys []string
	for i := range 16 {
		id, err := srv.Send(ctx, "a@example.org", []string{"x@example.com"}, mail("a@example.org", "x@example.com", "big", strings.Repeat(big[:998]+"\r\n", 256)))
		if err != nil {
			t.Fatal(i, err)
		}
		m, err := srv.WaitFor(ctx, sesinboundtest.Filter{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, m.Objects[0].Key)
	}
	before := dirSize(t, dir)
	resp, err := http.Post(srv.Endpoint()+"/_sesinbound/reset?only=messages", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("only=messages: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	s3c := s3.NewFromConfig(srv.AWSConfig())
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String(keys[0])}); err != nil {
		t.Fatalf("only=messages deleted the object: %v", err)
	}
	if err := srv.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	after := dirSize(t, dir)
	if before < 16*200<<10 || after > before/4 {
		t.Fatalf("data dir %d bytes before Reset, %d after: the space was not given back", before, after)
	}
	t.Logf("data dir: %d bytes before Reset, %d after", before, after)
}

// The webhook and the event stream, through the whole emulator.
func TestWebhookAndEvents(t *testing.T) {
	posts := make(chan []byte, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posts <- b
	}))
	t.Cleanup(hook.Close)
	srv := sesinboundtest.Start(t, sesinboundtest.WithConfig(func(c *emulator.Config) { c.Webhook = hook.URL }))
	ctx := t.Context()

	req, _ := http.NewRequestWithContext(ctx, "GET", srv.Endpoint()+"/_sesinbound/events", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("stream headers: %v", resp.Header)
	}
	id, err := srv.Send(ctx, "a@example.org", []string{"x@example.com"}, mail("a@example.org", "x@example.com", "hook", "1"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := srv.WaitFor(ctx, sesinboundtest.Filter{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	// The stream's event carries the record exactly as served.
	r := bufio.NewReader(resp.Body)
	var data string
	for data == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "data: "); ok {
			data = d
		}
	}
	if data != string(m.JSON) {
		t.Fatalf("event data\n%s\nrecord\n%s", data, m.JSON)
	}
	select {
	case b := <-posts:
		if string(b) != string(m.JSON) {
			t.Fatalf("webhook body %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook POST")
	}
	var st struct{ Posted int }
	for range 100 {
		r, err := http.Get(srv.Endpoint() + "/_sesinbound/webhook")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(r.Body).Decode(&st)
		r.Body.Close()
		if st.Posted == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("webhook status %+v", st)
}
