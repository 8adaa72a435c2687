package journal_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesinbound/sesinbound/journal"
	"github.com/sesinbound/sesinbound/receipt"
)

type listBody struct {
	Messages []struct {
		MessageID  string   `json:"messageId"`
		Recipients []string `json:"recipients"`
		Bounces    []struct {
			Status string `json:"status"`
		} `json:"bounces"`
	} `json:"messages"`
	Cursor  string `json:"cursor"`
	Dropped bool   `json:"dropped"`
	Reset   bool   `json:"reset"`
	More    bool   `json:"more"`
	Error   string `json:"error"`
}

func fetch(t *testing.T, url string) (int, listBody) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b listBody
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, raw)
		}
	}
	return resp.StatusCode, b
}

func msg(id, to string) *receipt.Result {
	return &receipt.Result{MessageID: id, From: "sender@example.org", Recipients: []string{to},
		Subject: "Hello " + id, Reply: &receipt.Reply{Code: 250}, Rules: []receipt.RuleResult{{Name: "r-" + to}}}
}

func newServer(t *testing.T, max int) (*journal.Journal, string) {
	t.Helper()
	j := journal.New(max)
	j.Epoch = 42
	srv := httptest.NewServer(j.Handler())
	t.Cleanup(srv.Close)
	return j, srv.URL + "/_sesinbound/messages"
}

func TestWaitBeforeSend(t *testing.T) {
	j, url := newServer(t, 0)
	j.Record(msg("old", "a@example.com"))
	_, first := fetch(t, url)

	// Many waiters, started before their mail, each with its own filter.
	const n = 50
	var wg sync.WaitGroup
	got := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, b := fetch(t, fmt.Sprintf("%s?wait=20s&after=%s&to=User%d@Example.com", url, first.Cursor, i))
			if code == 200 && len(b.Messages) == 1 {
				got[i] = b.Messages[0].MessageID
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them wait; correctness does not depend on it
	for i := range n {
		j.Record(msg(fmt.Sprint("m", i), fmt.Sprintf("user%d@example.com", i)))
	}
	wg.Wait()
	for i := range n {
		if want := fmt.Sprint("m", i); got[i] != want {
			t.Errorf("waiter %d got %q, want %q", i, got[i], want)
		}
	}
}

func TestWaitExistingAndDeadline(t *testing.T) {
	j, url := newServer(t, 0)
	j.Record(msg("a", "x@example.com"))
	// Without after, what is kept counts: no waiting.
	if code, b := fetch(t, url+"?wait=10s&to=x@example.com"); code != 200 || len(b.Messages) != 1 {
		t.Fatalf("existing match = %d %+v", code, b)
	}
	start := time.Now()
	code, _ := fetch(t, url+"?wait=200ms&to=nobody@example.com")
	if code != http.StatusNoContent {
		t.Fatalf("deadline = %d, want 204", code)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Fatalf("204 after %v, before the deadline", el)
	}
	for _, bad := range []string{"wait=6m", "wait=soon", "wait=-1s", "after=zzz", "bounced=yes", "subjet=x"} {
		code, b := fetch(t, url+"?"+bad)
		if code != 400 || b.Error == "" {
			t.Errorf("%s = %d %q, want 400 with a message", bad, code, b.Error)
		}
	}
	if _, b := fetch(t, url+"?wait=5m&id=a"); len(b.Messages) != 1 {
		t.Fatalf("wait=5m is allowed")
	}
}

func TestCursorAcrossMany(t *testing.T) {
	j, url := newServer(t, 0)
	cursor := "0"
	seen := map[string]bool{}
	for round := range 20 {
		for i := range 7 {
			j.Record(msg(fmt.Sprintf("m%d-%d", round, i), "x@example.com"))
		}
		for {
			code, b := fetch(t, url+"?limit=3&wait=1s&after="+cursor)
			if code != 200 {
				t.Fatalf("round %d: %d", round, code)
			}
			for _, m := range b.Messages {
				if seen[m.MessageID] {
					t.Fatalf("%s seen twice", m.MessageID)
				}
				seen[m.MessageID] = true
			}
			cursor = b.Cursor
			if !b.More {
				break
			}
		}
	}
	if len(seen) != 140 {
		t.Fatalf("saw %d of 140", len(seen))
	}
	// Filters without wait behave as the list.
	if _, b := fetch(t, url+"?subject=hello%20M3-2&rule=r-x@example.com"); len(b.Messages) != 1 || b.Messages[0].MessageID != "m3-2" {
		t.Fatalf("subject filter = %+v", b)
	}
}

func TestDroppedAndReset(t *testing.T) {
	j, url := newServer(t, 3)
	_, b := fetch(t, url)
	start := b.Cursor
	for i := range 5 {
		j.Record(msg(fmt.Sprint(i), "x@example.com"))
	}
	_, b = fetch(t, url+"?after="+start)
	if !b.Dropped || len(b.Messages) != 3 || b.Messages[0].MessageID != "2" {
		t.Fatalf("old cursor = %+v, want the 3 kept and dropped", b)
	}
	if _, b := fetch(t, url+"?after="+b.Cursor); b.Dropped || len(b.Messages) != 0 {
		t.Fatalf("current cursor = %+v", b)
	}
	// A cursor from another run.
	if _, b := fetch(t, url+"?after=z-1"); !b.Dropped || len(b.Messages) != 3 {
		t.Fatalf("foreign cursor = %+v", b)
	}
	j.Reset()
	if _, b2 := fetch(t, url+"?after="+b.Cursor); !b2.Reset || len(b2.Messages) != 0 {
		t.Fatalf("after reset = %+v", b2)
	}
}

func TestWaitForDSN(t *testing.T) {
	j, url := newServer(t, 0)
	res := msg("b", "x@example.com")
	res.Bounces = []receipt.Bounce{{Status: receipt.BouncePending}}
	j.Record(res)
	done := make(chan listBody)
	go func() { _, b := fetch(t, url+"?wait=10s&id=b&bounced=sent"); done <- b }()
	if _, b := fetch(t, url+"?id=b"); len(b.Messages) != 1 || b.Messages[0].Bounces[0].Status != "pending" {
		t.Fatalf("first record = %+v", b)
	}
	res.Bounces[0].Status = receipt.BounceSent
	j.Record(res)
	b := <-done
	if len(b.Messages) != 1 || b.Messages[0].Bounces[0].Status != "sent" {
		t.Fatalf("bounced=sent = %+v", b)
	}
	if _, b := fetch(t, url); len(b.Messages) != 1 {
		t.Fatalf("a message recorded twice is listed once: %+v", b)
	}
}

type event struct{ name, id, data string }

// readEvents reads n events (comments skipped) from an SSE stream.
func readEvents(t *testing.T, r *bufio.Reader, n int) []event {
	t.Helper()
	var out []event
	var cur event
	for len(out) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v after %d events", err, len(out))
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if cur.name != "" {
				out = append(out, cur)
			}
			cur = event{}
		case strings.HasPrefix(line, "event: "):
			cur.name = line[7:]
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		}
	}
	return out
}

func openStream(t *testing.T, url, lastID string) *bufio.Reader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("events = %d %s", resp.StatusCode, ct)
	}
	return bufio.NewReader(resp.Body)
}

func TestEvents(t *testing.T) {
	j := journal.New(0)
	j.Epoch = 7
	j.Heartbeat = 10 * time.Millisecond
	srv := httptest.NewServer(j.Handler())
	t.Cleanup(srv.Close)
	events := srv.URL + "/_sesinbound/events"

	j.Record(msg("before", "x@example.com"))
	live := openStream(t, events, "")
	all := openStream(t, events+"?after=0", "")
	j.Record(msg("one", "x@example.com"))
	j.Record(msg("two", "y@example.com"))

	got := readEvents(t, live, 2)
	if got[0].name != "message" || !strings.Contains(got[0].data, `"messageId":"one"`) || got[1].id <= got[0].id && len(got[1].id) == len(got[0].id) {
		t.Fatalf("live = %+v", got)
	}
	// data is the record exactly as GET /_sesinbound/messages/{id} returns it.
	one, _ := j.Get("one")
	if got[0].data != string(one) {
		t.Fatalf("event data %s, want %s", got[0].data, one)
	}
	if got := readEvents(t, all, 3); !strings.Contains(got[0].data, `"before"`) || !strings.Contains(got[2].data, `"two"`) {
		t.Fatalf("after=0 = %+v", got)
	}

	// Resume after "one" with Last-Event-ID: "two", then what comes next.
	resumed := openStream(t, events, got[0].id)
	if got := readEvents(t, resumed, 1); !strings.Contains(got[0].data, `"two"`) {
		t.Fatalf("resumed = %+v", got)
	}
	filtered := openStream(t, events+"?to=z@example.com", "")
	j.Reset()
	if got := readEvents(t, live, 1); got[0].name != "reset" {
		t.Fatalf("after Reset = %+v", got)
	}
	j.Record(msg("three", "x@example.com"))
	j.Record(msg("four", "z@example.com"))
	if got := readEvents(t, live, 1); !strings.Contains(got[0].data, `"three"`) {
		t.Fatalf("after reset = %+v", got)
	}
	if got := readEvents(t, filtered, 2); got[0].name != "reset" || !strings.Contains(got[1].data, `"four"`) {
		t.Fatalf("filtered = %+v", got)
	}
}

// A server-wide WriteTimeout does not cut the stream, nor a long poll.
func TestWriteTimeoutLifted(t *testing.T) {
	j := journal.New(0)
	srv := httptest.NewUnstartedServer(j.Handler())
	srv.Config.WriteTimeout = 100 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	stream := openStream(t, srv.URL+"/_sesinbound/events", "")
	poll := make(chan int, 1)
	go func() {
		code, _ := fetch(t, srv.URL+"/_sesinbound/messages?wait=10s&id=late")
		poll <- code
	}()
	time.Sleep(400 * time.Millisecond)
	j.Record(msg("late", "x@example.com"))
	if got := readEvents(t, stream, 1); !strings.Contains(got[0].data, `"late"`) {
		t.Fatalf("after the write timeout: %+v", got)
	}
	if code := <-poll; code != 200 {
		t.Fatalf("long poll past the write timeout = %d", code)
	}
}

// A graceful Shutdown waits for open requests: Close, registered with
// RegisterOnShutdown, ends the streams and answers the long polls, so
// that Shutdown returns at once instead of at its deadline.
func TestShutdownEndsStreamsAndPolls(t *testing.T) {
	j := journal.New(0)
	srv := httptest.NewUnstartedServer(j.Handler())
	srv.Config.RegisterOnShutdown(j.Close)
	srv.Start()
	defer srv.Close()
	r := openStream(t, srv.URL+"/_sesinbound/events", "")
	poll := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/_sesinbound/messages?wait=1m&to=nobody@example.com")
		if err != nil {
			poll <- 0
			return
		}
		resp.Body.Close()
		poll <- resp.StatusCode
	}()
	time.Sleep(100 * time.Millisecond) // let the poll arrive
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Config.Shutdown(ctx); err != nil {
		srv.CloseClientConnections() // so that the poll and the stream end
		t.Fatalf("Shutdown: %v after %v", err, time.Since(start))
	}
	if code := <-poll; code != http.StatusNoContent {
		t.Errorf("the long poll answered %d at shutdown, want 204", code)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Errorf("the stream did not end cleanly: %v", err)
	}
}

// every=D paces the writes and newest=N keeps only the newest records of a
// burst, after a "skipped" event that counts the rest and carries the
// cursor to resume from.
func TestEventsPaced(t *testing.T) {
	j := journal.New(0)
	srv := httptest.NewServer(j.Handler())
	t.Cleanup(srv.Close)
	events := srv.URL + "/_sesinbound/events"

	for _, bad := range []string{"?every=0s", "?every=2m", "?every=x", "?newest=0", "?newest=10001", "?newest=a"} {
		if code, _ := fetch(t, events+bad); code != http.StatusBadRequest {
			t.Errorf("%s = %d, want 400", bad, code)
		}
	}

	paced := openStream(t, events+"?every=300ms&newest=3", "")
	// The first record after a quiet spell goes out at once.
	start := time.Now()
	j.Record(msg("first", "x@example.com"))
	if got := readEvents(t, paced, 1); !strings.Contains(got[0].data, `"first"`) {
		t.Fatalf("first = %+v", got)
	} else if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("the first record took %v", d)
	}
	// A burst right after: one write, no sooner than 300 ms after the
	// last, with the three newest and how many were left out.
	for i := range 10 {
		j.Record(msg(fmt.Sprintf("b%d", i), "x@example.com"))
	}
	got := readEvents(t, paced, 4)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("the burst went out %v after the first record, before every=300ms", d)
	}
	if got[0].name != "skipped" || got[0].data != `{"skipped":7}` {
		t.Fatalf("burst begins with %+v, want skipped 7", got[0])
	}
	for i, want := range []string{"b7", "b8", "b9"} {
		if got[i+1].name != "message" || !strings.Contains(got[i+1].data, `"`+want+`"`) {
			t.Fatalf("burst event %d = %+v, want %s", i+1, got[i+1], want)
		}
	}
	// The skipped event's id resumes after the last record left out.
	resumed := openStream(t, events, got[0].id)
	if r := readEvents(t, resumed, 1); !strings.Contains(r[0].data, `"b7"`) {
		t.Fatalf("resumed from the skipped event's id = %+v, want b7", r)
	}

	// Without newest, every record still comes, in fewer writes.
	all := openStream(t, events+"?every=100ms", "")
	for i := range 5 {
		j.Record(msg(fmt.Sprintf("c%d", i), "x@example.com"))
	}
	for i, e := range readEvents(t, all, 5) {
		if !strings.Contains(e.data, fmt.Sprintf(`"c%d"`, i)) {
			t.Fatalf("every=100ms event %d = %+v", i, e)
		}
	}
}
