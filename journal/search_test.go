package journal_test

import (
	"fmt"
	"testing"

	"github.com/sesinbound/sesinbound/journal"
	"github.com/sesinbound/sesinbound/receipt"
)

func TestPageAndSearch(t *testing.T) {
	j := journal.New(0)
	for i := range 120 {
		rule := "archive"
		if i%3 == 0 {
			rule = "vip"
		}
		j.Record(&receipt.Result{MessageID: fmt.Sprintf("m%03d", i), From: fmt.Sprintf("sender%d@example.org", i%7),
			Recipients: []string{fmt.Sprintf("User%d@Example.com", i%5)}, Subject: fmt.Sprintf("Invoice number %d", i),
			Rules: []receipt.RuleResult{{Name: rule}}})
	}
	h := j.Handler()
	for _, tt := range []struct {
		url       string
		total     int
		first     string
		pageCount int
	}{
		{"/_sesinbound/messages?order=newest", 120, "m119", 50},
		{"/_sesinbound/messages?order=newest&offset=100&limit=50", 120, "m019", 20},
		{"/_sesinbound/messages?q=to:user2@example.com", 24, "m117", 24},
		{"/_sesinbound/messages?q=rule:vip+from:sender0", 6, "m105", 6},
		{"/_sesinbound/messages?q=%22number+11%22", 11, "m119", 11},
		{"/_sesinbound/messages?q=subject:invoice+INVOICE+m11", 10, "m119", 10},
		{"/_sesinbound/messages?q=nothing-matches", 0, "", 0},
	} {
		code, body := get(t, h, "GET", tt.url)
		if code != 200 {
			t.Fatalf("%s: %d %v", tt.url, code, body)
		}
		msgs := body["messages"].([]any)
		if int(body["total"].(float64)) != tt.total || len(msgs) != tt.pageCount {
			t.Errorf("%s: total %v, %d on the page; want %d, %d", tt.url, body["total"], len(msgs), tt.total, tt.pageCount)
			continue
		}
		if len(msgs) > 0 && msgs[0].(map[string]any)["messageId"] != tt.first {
			t.Errorf("%s: first %v, want %s", tt.url, msgs[0].(map[string]any)["messageId"], tt.first)
		}
	}
	if code, _ := get(t, h, "GET", "/_sesinbound/messages?order=newest&limit=0"); code != 400 {
		t.Errorf("limit=0 = %d, want 400", code)
	}
	if _, ok := j.Delete("m050"); !ok {
		t.Fatal("Delete(m050) found nothing")
	}
	if _, ok := j.Get("m050"); ok {
		t.Fatal("m050 is still there")
	}
	if _, body := get(t, h, "GET", "/_sesinbound/messages?order=newest"); body["total"].(float64) != 119 {
		t.Fatalf("total after one delete = %v", body["total"])
	}
}
