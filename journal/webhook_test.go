package journal_test

import (
	"encoding/json"
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
