package journal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Webhook POSTs each record, as JSON, to a URL. It reads the journal from
// its own goroutine at its own pace, so it never delays Record, and
// therefore never an SMTP reply. It retries a failed POST a few times; one
// that still fails is logged and kept in Status.
type Webhook struct {
	URL string
	// Client sends the POSTs; nil means a client with a 10 s timeout.
	Client *http.Client
	// Backoff is the pause before each retry; nil means 200ms, 1s, 5s.
	Backoff []time.Duration
	// Queue bounds how far behind the webhook may fall, in records; past
	// it the oldest waiting are skipped (and counted). Zero means 1000.
	Queue int
	// Log receives a line per failure; nil discards.
	Log *slog.Logger
	// After is where Run starts; nil means what is recorded from then on.
	After *Cursor
	// Now dates failures; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	status WebhookStatus

	direct *directConn // Run's own connection, when it can post without Client
}

// WebhookStatus is what a Webhook did, served at /_sesinbound/webhook.
type WebhookStatus struct {
	URL      string           `json:"url"`
	Posted   int              `json:"posted"`
	Failed   int              `json:"failed"`
	Skipped  int              `json:"skipped"` // fell behind the queue, or dropped by the journal
	Failures []WebhookFailure `json:"failures"`
}

// WebhookFailure is one record that could not be posted.
type WebhookFailure struct {
	MessageID string    `json:"messageId"`
	Time      time.Time `json:"time"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error"`
}

const keepFailures = 50

// Run posts every record after h.After (from now on when nil) until ctx
// ends.
func (h *Webhook) Run(ctx context.Context, j *Journal) {
	h.mu.Lock()
	h.status.URL = h.URL
	h.mu.Unlock()
	if h.Log == nil {
		h.Log = slog.New(slog.DiscardHandler)
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	queue := h.Queue
	if queue <= 0 {
		queue = 1000
	}
	q := Query{Limit: 64, After: h.After}
	if q.After == nil {
		head := j.Head()
		q.After = &head
	}
	if h.Client == nil {
		h.direct = newDirectConn(h.URL)
		defer h.direct.close()
	}
	w := j.watch(Filter{}, true)
	defer j.unwatch(w)
	for {
		skipped := 0
		if head := j.Head(); head.Seq-q.After.Seq > uint64(queue) {
			// Too far behind: skip to the newest queue records.
			skipped = int(head.Seq - q.After.Seq - uint64(queue))
			q.After = &Cursor{Epoch: head.Epoch, Seq: head.Seq - uint64(queue)}
		}
		p := j.Read(q)
		if p.Dropped {
			skipped++ // at least one; the journal cannot say how many
		}
		if skipped > 0 {
			h.Log.Warn("webhook fell behind; records skipped", "url", h.URL, "skipped", skipped)
			h.count(func(s *WebhookStatus) { s.Skipped += skipped })
		}
		for _, it := range p.Items {
			h.post(ctx, it)
			if ctx.Err() != nil {
				return
			}
		}
		after := p.Cursor
		q.After = &after
		if p.More {
			continue
		}
		select {
		case <-w.ch:
		case <-ctx.Done():
			return
		}
	}
}

func (h *Webhook) count(f func(*WebhookStatus)) {
	h.mu.Lock()
	f(&h.status)
	h.mu.Unlock()
}

func (h *Webhook) post(ctx context.Context, it Item) {
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	backoff := h.Backoff
	if backoff == nil {
		backoff = []time.Duration{200 * time.Millisecond, time.Second, 5 * time.Second}
	}
	var err error
	attempt := 0
	for attempt = 1; ; attempt++ {
		if err = h.try(ctx, client, it); err == nil {
			h.count(func(s *WebhookStatus) { s.Posted++ })
			return
		}
		if attempt > len(backoff) {
			break
		}
		select {
		case <-time.After(backoff[attempt-1]):
		case <-ctx.Done():
			return
		}
	}
	h.Log.LogAttrs(ctx, slog.LevelWarn, "webhook not delivered", slog.String("msg_id", it.ID),
		slog.String("url", h.URL), slog.Int("attempts", attempt), slog.Any("err", err))
	h.count(func(s *WebhookStatus) {
		s.Failed++
		s.Failures = append(s.Failures, WebhookFailure{MessageID: it.ID, Time: h.Now().UTC(), Attempts: attempt, Error: err.Error()})
		if len(s.Failures) > keepFailures {
			s.Failures = s.Failures[1:]
		}
	})
}

func (h *Webhook) try(ctx context.Context, client *http.Client, it Item) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(it.JSON))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sesinbound-Message-Id", it.ID)
	req.Header.Set(CursorHeader, it.Cursor.String())
	if h.direct != nil && h.direct.ok {
		return h.direct.post(req, h.URL)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", h.URL, resp.Status)
	}
	return nil
}

// Status returns a copy of what the webhook did so far.
func (h *Webhook) Status() WebhookStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.status
	s.Failures = append([]WebhookFailure{}, s.Failures...)
	return s
}

// Handler serves GET /_sesinbound/webhook: the Status as JSON.
func (h *Webhook) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(h.Status())
		writeJSON(w, http.StatusOK, append(b, '\n'))
	})
}

// directTimeout bounds one POST on a directConn, as Client's timeout does.
const directTimeout = 10 * time.Second

// directConn is the webhook's own keep-alive connection to a plain
// http:// URL that no proxy serves. A POST on it is one write and one read
// on Run's goroutine, written and parsed by net/http (Request.Write,
// ReadResponse): http.Client hands every request to two goroutines of its
// transport and back, which costs several times the CPU, and the CPU is
// shared with the SMTP path. A 3xx is a failure here, as a webhook
// answer should not redirect.
type directConn struct {
	ok   bool   // the URL suits; else the Client path is used
	addr string // host:port
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

func newDirectConn(rawURL string) *directConn {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return &directConn{}
	}
	probe := &http.Request{URL: u, Header: http.Header{}}
	if p, err := http.ProxyFromEnvironment(probe); err != nil || p != nil {
		return &directConn{} // the proxy is the Client's business
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &directConn{ok: true, addr: addr}
}

// post sends req and reads the answer. A kept connection the server
// closed meanwhile fails before any answer: then it dials again once.
func (d *directConn) post(req *http.Request, url string) error {
	reused := d.c != nil
	err := d.roundTrip(req, url)
	if err != nil && reused && errors.Is(err, errStale) {
		if req.Body, err = req.GetBody(); err != nil {
			return err
		}
		err = d.roundTrip(req, url)
	}
	return err
}

var errStale = errors.New("the kept connection was closed")

func (d *directConn) roundTrip(req *http.Request, url string) error {
	if d.c == nil {
		c, err := net.DialTimeout("tcp", d.addr, directTimeout)
		if err != nil {
			return err
		}
		d.c, d.br, d.bw = c, bufio.NewReader(c), bufio.NewWriter(c)
	}
	d.c.SetDeadline(time.Now().Add(directTimeout))
	if err := req.Write(d.bw); err != nil {
		d.close()
		return err
	}
	if err := d.bw.Flush(); err != nil {
		d.close()
		return fmt.Errorf("%w: %v", errStale, err)
	}
	resp, err := http.ReadResponse(d.br, req)
	if err != nil {
		d.close()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("%w: %v", errStale, err)
		}
		return err
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	var one [1]byte
	if n, _ := resp.Body.Read(one[:]); err != nil || n > 0 || resp.Close {
		d.close() // not read to its end, or the server closes: start afresh
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}

func (d *directConn) close() {
	if d.c != nil {
		d.c.Close()
		d.c, d.br, d.bw = nil, nil, nil
	}
}
