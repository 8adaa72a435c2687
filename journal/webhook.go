package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Webhook POSTs each record, as JSON, to a URL. It reads the journal from
// its own goroutine at its own pace, so it never delays Record, and
// therefore never an SMTP reply. It retries a failed POST a few times; one
// that still fails is logged and kept in Status.
//
// With Batch above 1, a POST carries every record waiting, up to Batch, as
// a page of the list ({"messages":[...],"cursor":"..."}), and POSTs are at
// least webhookPace apart: a mail that follows a quiet spell still goes
// out alone and at once, but under a load test the POSTs grow instead of
// falling behind, and number at most a hundred a second.
type Webhook struct {
	URL string
	// Batch is the most records one POST carries; 0 or 1 means one
	// record per POST, the record itself as the body.
	Batch int
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
}

// WebhookStatus is what a Webhook did, served at /_sesinbound/webhook.
type WebhookStatus struct {
	URL      string           `json:"url"`
	Posted   int              `json:"posted"`
	Failed   int              `json:"failed"`
	Skipped  int              `json:"skipped"` // fell behind the queue, or dropped by the journal
	Failures []WebhookFailure `json:"failures"`
}

// WebhookFailure is one record that could not be posted, or with Batch the
// first of a batch that could not (Messages counts the batch).
type WebhookFailure struct {
	MessageID string    `json:"messageId"`
	Messages  int       `json:"messages,omitempty"`
	Time      time.Time `json:"time"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error"`
}

const keepFailures = 50

// webhookPace is the least time between the starts of two batched POSTs.
const webhookPace = 10 * time.Millisecond

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
	batch := max(h.Batch, 1)
	q := Query{Limit: 64, After: h.After}
	if batch > 1 {
		q.Limit = batch // a page is one POST, so every POST is paced
	}
	if q.After == nil {
		head := j.Head()
		q.After = &head
	}
	w := j.watch(Filter{}, true)
	defer j.unwatch(w)
	var lastPost time.Time
	for {
		if d := time.Until(lastPost.Add(webhookPace)); batch > 1 && d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return
			}
		}
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
		for items := p.Items; len(items) > 0; {
			n := min(batch, len(items))
			lastPost = time.Now()
			h.post(ctx, items[:n], batch > 1)
			items = items[n:]
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

// post posts items, one record as the body, or as a page when asPage.
func (h *Webhook) post(ctx context.Context, items []Item, asPage bool) {
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
		if err = h.try(ctx, client, items, asPage); err == nil {
			h.count(func(s *WebhookStatus) { s.Posted += len(items) })
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
	first := items[0]
	h.Log.LogAttrs(ctx, slog.LevelWarn, "webhook not delivered", slog.String("msg_id", first.ID), slog.Int("messages", len(items)),
		slog.String("url", h.URL), slog.Int("attempts", attempt), slog.Any("err", err))
	h.count(func(s *WebhookStatus) {
		s.Failed += len(items)
		f := WebhookFailure{MessageID: first.ID, Time: h.Now().UTC(), Attempts: attempt, Error: err.Error()}
		if asPage {
			f.Messages = len(items)
		}
		s.Failures = append(s.Failures, f)
		if len(s.Failures) > keepFailures {
			s.Failures = s.Failures[1:]
		}
	})
}

func (h *Webhook) try(ctx context.Context, client *http.Client, items []Item, asPage bool) error {
	last := items[len(items)-1]
	body := last.JSON
	if asPage {
		body = Page{Items: items, Cursor: last.Cursor}.body()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if !asPage {
		req.Header.Set("Sesinbound-Message-Id", last.ID)
	}
	req.Header.Set(CursorHeader, last.Cursor.String())
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
