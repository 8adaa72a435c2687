package journal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sesinbound/sesinbound/journal"
	"github.com/sesinbound/sesinbound/receipt"
)

func get(t *testing.T, h http.Handler, method, path string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	var body map[string]any
	json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

func TestJournal(t *testing.T) {
	j := journal.New(2)
	h := j.Handler()
	res := &receipt.Result{MessageID: "a", From: "x@example.org", Rules: []receipt.RuleResult{{Name: "r"}}}
	j.Record(res)
	res.Reply = &receipt.Reply{Code: 250, Text: "OK a"}
	j.Record(res) // a second record of the same message replaces the first
	j.Record(&receipt.Result{MessageID: "b"})

	code, body := get(t, h, "GET", "/_sesinbound/messages")
	msgs := body["messages"].([]any)
	if code != 200 || len(msgs) != 2 || msgs[0].(map[string]any)["messageId"] != "a" {
		t.Fatalf("list = %d %v", code, body)
	}
	code, one := get(t, h, "GET", "/_sesinbound/messages/a")
	if code != 200 || one["reply"].(map[string]any)["code"].(float64) != 250 || one["from"] != "x@example.org" {
		t.Fatalf("get = %d %v", code, one)
	}
	j.Record(&receipt.Result{MessageID: "c"}) // over the limit: a goes
	if code, _ := get(t, h, "GET", "/_sesinbound/messages/a"); code != 404 {
		t.Fatalf("the oldest entry was kept past the limit")
	}
	_, body = get(t, h, "GET", "/_sesinbound/messages?limit=1")
	if msgs := body["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["messageId"] != "c" {
		t.Fatalf("limit=1 = %v", body)
	}
	if code, _ := get(t, h, "DELETE", "/_sesinbound/messages"); code != 204 {
		t.Fatalf("DELETE = %d", code)
	}
	if _, body := get(t, h, "GET", "/_sesinbound/messages"); len(body["messages"].([]any)) != 0 {
		t.Fatalf("after DELETE: %v", body)
	}
}

// Record is on the SMTP path: with waiters for other mail, and with a
// record that has no bounces, it allocates the entry and nothing else
// (the byID map and the entries slice grow amortised; nothing is
// encoded and nothing is written until someone reads).
func TestRecordAllocatesOnlyTheEntry(t *testing.T) {
	j := journal.New(0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 100 {
		go j.Wait(ctx, journal.Query{Filter: journal.Filter{To: fmt.Sprintf("w%d@example.invalid", i)}})
	}
	time.Sleep(50 * time.Millisecond) // let them all be waiting
	res := msg("m", "inbox@example.com")
	ids := make([]string, 2000)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	i := 0
	allocs := testing.AllocsPerRun(len(ids)-1, func() {
		res.MessageID = ids[i]
		i++
		j.Record(res)
	})
	if allocs > 1 {
		t.Errorf("Record allocated %v times per call, want 1 (the entry)", allocs)
	}
}
