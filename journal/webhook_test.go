package journal_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sesinbound/sesinbound/journal"
)

func TestWebhook(t *testing.T) {
	var mu sync.Mutex
	var got []string
	calls := 0
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var rec struct {
			MessageID string `json:"messageId"`
		}
		json.Unmarshal(body, &rec)
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		<-block
		switch {
		case first: // the first attempt fails: retried
			w.WriteHeader(http.StatusBadGateway)
		case rec.MessageID == "bad":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			mu.Lock()
			got = append(got, rec.MessageID)
			mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)

	j := journal.New(0)
	h := &journal.Webhook{URL: srv.URL, Backoff: []time.Duration{time.Millisecond, time.Millisecond}, After: &journal.Cursor{}}
	go h.Run(t.Context(), j)

	// The receiver hangs, yet recording returns at once.
	start := time.Now()
	for _, id := range []string{"a", "bad", "b"} {
		j.Record(msg(id, "x@example.com"))
	}
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Fatalf("Record waited %v for the webhook", el)
	}
	close(block)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := h.Status()
		if st.Posted == 2 && st.Failed == 1 {
			if len(st.Failures) != 1 || st.Failures[0].MessageID != "bad" || st.Failures[0].Attempts != 3 || st.Failures[0].Error == "" {
				t.Fatalf("failures = %+v", st.Failures)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status = %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("posted %v, want [a b] in order", got)
	}
}

// The webhook keeps its connection between POSTs, and gets over a server
// that closes it: after each answer (Connection: close), or while idle.
func TestWebhookConnections(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keepAlive bool
		idle      time.Duration
	}{{"kept", true, 0}, {"closed after each", false, 0}, {"closed while idle", true, 5 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			conns := map[string]bool{}
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				var rec struct {
					MessageID string `json:"messageId"`
				}
				json.Unmarshal(body, &rec)
				mu.Lock()
				got = append(got, rec.MessageID+"/"+r.Header.Get("Sesinbound-Message-Id"))
				conns[r.RemoteAddr] = true
				mu.Unlock()
				w.Write([]byte("thanks"))
			}))
			srv.Config.SetKeepAlivesEnabled(tc.keepAlive)
			srv.Config.IdleTimeout = tc.idle
			srv.Start()
			t.Cleanup(srv.Close)
			j := journal.New(0)
			h := &journal.Webhook{URL: srv.URL + "/hook", Backoff: []time.Duration{time.Second}, After: &journal.Cursor{}}
			go h.Run(t.Context(), j)
			want := []string{}
			for i := range 5 {
				id := string(rune('a' + i))
				want = append(want, id+"/"+id)
				j.Record(msg(id, "x@example.com"))
				if tc.idle > 0 {
					time.Sleep(4 * tc.idle) // the server closes the idle connection
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for h.Status().Posted < 5 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if st := h.Status(); st.Posted != 5 || st.Failed != 0 {
				t.Fatalf("status = %+v", st)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("posted %v, want %v", got, want)
			}
			if tc.keepAlive && tc.idle == 0 && len(conns) != 1 {
				t.Errorf("%d connections for 5 POSTs, want 1 kept", len(conns))
			}
		})
	}
}

// With Batch, a POST carries every record waiting, up to Batch, as a page
// of the list; one record alone still goes out at once.
func TestWebhookBatch(t *testing.T) {
	var mu sync.Mutex
	var posts [][]string
	var arrived []time.Time
	gate := make(chan struct{}, 1)
	gate <- struct{}{} // the first POST goes through at once; the rest wait for the test
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var page struct {
			Messages []struct {
				MessageID string `json:"messageId"`
			} `json:"messages"`
			Cursor string `json:"cursor"`
		}
		if err := json.NewDecoder(r.Body).Decode(&page); err != nil {
			t.Errorf("POST body: %v", err)
		}
		var ids []string
		for _, m := range page.Messages {
			ids = append(ids, m.MessageID)
		}
		at := time.Now()
		<-gate
		mu.Lock()
		posts = append(posts, ids)
		arrived = append(arrived, at)
		if page.Cursor != r.Header.Get(journal.CursorHeader) {
			t.Errorf("body cursor %q, header %q", page.Cursor, r.Header.Get(journal.CursorHeader))
		}
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	j := journal.New(0)
	h := &journal.Webhook{URL: srv.URL, Batch: 4, After: &journal.Cursor{}}
	go h.Run(t.Context(), j)
	j.Record(msg("solo", "x@example.com"))
	waitPosted := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for h.Status().Posted < n {
			if time.Now().After(deadline) {
				t.Fatalf("status = %+v, want %d posted", h.Status(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitPosted(1)
	// Ten records while the receiver is held: they go in batches of at
	// most four, in order.
	for i := range 10 {
		j.Record(msg(fmt.Sprintf("m%d", i), "x@example.com"))
	}
	close(gate)
	waitPosted(11)
	mu.Lock()
	defer mu.Unlock()
	if len(posts[0]) != 1 || posts[0][0] != "solo" {
		t.Fatalf("first POST = %v, want [solo] alone", posts[0])
	}
	var all []string
	for _, p := range posts[1:] {
		if len(p) == 0 || len(p) > 4 {
			t.Fatalf("a batch of %d: %v", len(p), posts)
		}
		all = append(all, p...)
	}
	if fmt.Sprint(all) != "[m0 m1 m2 m3 m4 m5 m6 m7 m8 m9]" {
		t.Fatalf("batches %v", posts)
	}
	if len(posts) > 5 {
		t.Errorf("%d POSTs for 11 records in batches of 4: %v", len(posts), posts)
	}
	// The batches behind the held receiver are paced (10 ms between the
	// starts of two POSTs; half of it here, for the network's jitter).
	for i := 2; i < len(arrived); i++ {
		if gap := arrived[i].Sub(arrived[i-1]); gap < 5*time.Millisecond {
			t.Errorf("POST %d came %v after the one before: not paced", i+1, gap)
		}
	}
	if st := h.Status(); st.Posted != 11 || st.Failed != 0 || st.Skipped != 0 {
		t.Fatalf("status = %+v", st)
	}
}
