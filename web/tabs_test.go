package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-smtp"
)

// streamCounter stands in front of the emulator's AWS endpoint as the
// browser's only way in, and counts the requests for the live feed: the
// ones made so far and the ones still open.
type streamCounter struct {
	total, open atomic.Int32
	proxy       *httputil.ReverseProxy
}

func (c *streamCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sesinbound/events" {
		c.total.Add(1)
		c.open.Add(1)
		defer c.open.Add(-1)
	}
	c.proxy.ServeHTTP(w, r)
}

// TestPageTabsShareOneStream opens more tabs of the page than a browser
// opens HTTP/1.1 connections to a host (six): every tab follows the feed
// through the shared worker, so the server sees one stream, every tab
// loads, and a mail sent over SMTP shows in all of them.
func TestPageTabsShareOneStream(t *testing.T) {
	em := startEmulator(t, pageRules, "")
	upstream, err := url.Parse(em.URL())
	if err != nil {
		t.Fatal(err)
	}
	counter := &streamCounter{proxy: httputil.NewSingleHostReverseProxy(upstream)}
	counter.proxy.FlushInterval = -1 // the feed is a stream
	front := httptest.NewServer(counter)
	// Closed once the browser is (cleanups run last first): Close waits
	// for the streams still open.
	t.Cleanup(func() { front.CloseClientConnections(); front.Close() })

	browser := newBrowser(t)
	const tabs = 8
	ctxs := make([]context.Context, tabs)
	for i := range tabs {
		ctx := browser
		if i > 0 {
			// A tab of the same browser context as the first: the same
			// SharedWorker.
			var cancel context.CancelFunc
			ctx, cancel = chromedp.NewContext(browser)
			defer cancel()
			// The first call makes the tab: no deadline on it, which would
			// end the tab when it fires.
			if err := chromedp.Do(ctx); err != nil {
				t.Fatalf("tab %d: %v", i+1, err)
			}
		}
		ctxs[i] = ctx
		step(t, ctx, fmt.Sprintf("open tab %d", i+1), chromedp.Navigate(front.URL+"/_sesinbound/"), chromedp.WaitVisible(chromedp.ID("empty")))
	}
	feedState := `JSON.stringify({worker: !!state.worker, direct: !!state.direct, source: !!state.source, live: document.getElementById("live").className})`
	for i, ctx := range ctxs {
		waitForOr(t, ctx, feedState, `document.getElementById("live").classList.contains("on")`)
		if got := eval[string](t, ctx, feedState); !strings.Contains(got, `"worker":true`) || strings.Contains(got, `"source":true`) {
			t.Errorf("tab %d follows the feed on its own stream, not through the shared worker: %s", i+1, got)
		}
	}

	send(t, em.SMTPAddr(), "alice@example.org", "inbox@example.com", "Subject: to every tab\n\nhello\n")
	id := newestID(t, em)
	for i, ctx := range ctxs {
		waitForOr(t, ctx, `document.getElementById("rows").textContent`, `!!document.querySelector('#rows tr[data-msg-id="`+id+`"]')`)
		if got := text(t, ctx, `#rows tr[data-msg-id="`+id+`"]`); !strings.Contains(got, "to every tab") {
			t.Errorf("tab %d: row = %q", i+1, got)
		}
	}
	if n, open := counter.total.Load(), counter.open.Load(); n != 1 || open != 1 {
		t.Errorf("the server saw %d requests for the feed, %d open, for %d tabs; want one stream", n, open, tabs)
	}

	// A burst of mail: the worker hands each tab a few batches, not a
	// message per record (feed.js), and every tab ends up showing the newest page
	// and the right total.
	for _, ctx := range ctxs {
		eval[bool](t, ctx, `window.heard = 0; state.worker.port.addEventListener("message", () => window.heard++); true`)
	}
	const burst = 300
	sendMany(t, em.SMTPAddr(), burst, 8)
	last := newestID(t, em)
	for i, ctx := range ctxs {
		waitForOr(t, ctx, `document.getElementById("range").textContent`,
			`document.getElementById("range").textContent === "1–50 of `+fmt.Sprint(burst+1)+`" && !!document.querySelector('#rows tr:first-child[data-msg-id="`+last+`"]')`)
		if n := eval[int](t, ctx, `window.heard`); n > 10 {
			t.Errorf("tab %d heard %d times from the shared worker during a burst of %d mails; want a few", i+1, n, burst)
		}
		// The tab comes to resume from the newest record. A tab may show
		// the newest page before its cursor gets there: a batch that left
		// records out makes it fetch the page, and the worker's next batch,
		// at most a second after the stream ends, brings the cursor.
		head := em.Journal.Head().String()
		waitForOr(t, ctx, `"cursor " + state.cursor + ", range " + document.getElementById("range").textContent`, `state.cursor === "`+head+`"`)
	}
	// The late batches changed nothing on the page.
	for i, ctx := range ctxs {
		if got, want := text(t, ctx, "#range"), "1–50 of "+fmt.Sprint(burst+1); got != want {
			t.Errorf("tab %d shows %q after the last batch, want %q", i+1, got, want)
		}
		if got := eval[string](t, ctx, `document.querySelector("#rows tr:first-child").dataset.msgId`); got != last {
			t.Errorf("tab %d's first row is %s after the last batch, want %s", i+1, got, last)
		}
	}
}

// sendMany sends n small mails over c connections at once.
func sendMany(t *testing.T, addr string, n, c int) {
	t.Helper()
	errs := make(chan error, c)
	for w := range c {
		go func() {
			cl, err := smtp.Dial(addr)
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			for i := w; i < n; i += c {
				msg := fmt.Sprintf("From: a@example.org\r\nTo: inbox@example.com\r\nSubject: burst %d\r\n\r\nhi\r\n", i)
				if err := cl.SendMail("a@example.org", []string{"inbox@example.com"}, strings.NewReader(msg)); err != nil {
					errs <- err
					return
				}
			}
			errs <- cl.Quit()
		}()
	}
	for range c {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
