package web_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/emulator"
)

var update = flag.Bool("update", false, "rewrite the screenshots under docs/")

// browserPath finds Chromium: $CHROME_BIN, else the usual names. Outside
// CI a missing browser skips the test, saying why; with CI=true it fails.
func browserPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_BIN"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found (CHROME_BIN, chromium, google-chrome): .ci/run installs Debian's chromium package")
	}
	t.Skip("no Chromium found (set CHROME_BIN, or apt-get install chromium): the page's browser tests need one")
	return ""
}

// newBrowser starts a headless Chromium for the test, with a fresh
// profile and every background connection off (the network here is
// closed), and returns a tab's context.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	bin := browserPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first call starts the browser: no timeout on it, which would
	// stop the whole browser when it fires.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	return ctx
}

// step runs actions with a deadline, naming the step when it fails.
func step(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitForOr polls cond and, when it does not hold in time, reports what
// state says.
func waitForOr(t *testing.T, ctx context.Context, state, cond string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s: %v; the page says %s", cond, err, eval[string](t, ctx, state))
	}
}

// waitFor polls a JavaScript condition until it holds.
func waitFor(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

const pageRules = `
Rules:
  - Name: inbound
    Enabled: true
    Recipients: [example.com]
    Actions:
      - AddHeaderAction: {HeaderName: X-Tag, HeaderValue: inbound}
      - S3Action: {BucketName: ses-inbound, ObjectKeyPrefix: mail, KmsKeyArn: "arn:aws:kms:us-east-1:000000000000:alias/aws/ses", TopicArn: "arn:aws:sns:us-east-1:000000000000:inbound"}
      - S3Action: {BucketName: ses-archive, ObjectKeyPrefix: plain}
  - Name: off
    Recipients: [example.com]
    Actions:
      - S3Action: {BucketName: ses-inbound}
  - Name: other
    Enabled: true
    Recipients: [example.net]
    Actions:
      - S3Action: {BucketName: ses-inbound, ObjectKeyPrefix: net}
`

func startEmulator(t *testing.T, rules string, token string) *emulator.Emulator {
	t.Helper()
	c := emulator.DefaultConfig()
	c.SMTPAddr, c.AWSAddr = "127.0.0.1:0", "127.0.0.1:0"
	c.AdminToken = token
	if rules != "" {
		path := filepath.Join(t.TempDir(), "rules.yaml")
		if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
			t.Fatal(err)
		}
		c.ConfigPath = path
	}
	em, err := emulator.Start(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	return em
}

func send(t *testing.T, addr, from, to, raw string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail(from, []string{to}, strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n"))); err != nil {
		t.Fatalf("send to %s: %v", to, err)
	}
	c.Quit()
}

func alternative(subject, text, html string) string {
	return "From: Alice <alice@example.org>\nTo: inbox@example.com\nSubject: " + subject +
		"\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\n\n" +
		text + "\n--b1\nContent-Type: text/html; charset=utf-8\n\n" + html + "\n--b1--\n"
}

// newestID is the newest record's message ID, read the way a test reads
// it: through the API.
func newestID(t *testing.T, em *emulator.Emulator) string {
	t.Helper()
	b := em.Journal.List(1)
	if len(b) == 0 {
		t.Fatal("nothing recorded")
	}
	s := string(b[0])
	i := strings.Index(s, `"messageId":"`) + len(`"messageId":"`)
	return s[i : i+strings.IndexByte(s[i:], '"')]
}

// jsErrors collects the page's uncaught exceptions until the test ends.
func jsErrors(t *testing.T, ctx context.Context) func() []string {
	var mu sync.Mutex
	var errs []string
	events := chromedp.Events(ctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			mu.Lock()
			errs = append(errs, ev.ExceptionDetails.Text+" "+describe(ev.ExceptionDetails))
			mu.Unlock()
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(errs)
	}
}

func describe(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return fmt.Sprintf("at %s:%d", d.URL, d.LineNumber)
}

func TestPageLive(t *testing.T) {
	em := startEmulator(t, pageRules, "")
	ctx := newBrowser(t)
	exceptions := jsErrors(t, ctx)
	defer func() {
		if errs := exceptions(); len(errs) > 0 {
			t.Errorf("the page threw: %v", errs)
		}
	}()

	// A browser opening the endpoint's root lands on the page; the empty
	// state shows the swaks command for this server's SMTP address.
	step(t, ctx, "open the page", chromedp.Navigate(em.URL()+"/"), chromedp.WaitVisible(chromedp.ID("empty")))
	if got := eval[string](t, ctx, "location.pathname"); got != "/_sesinbound/" {
		t.Errorf("GET / went to %q, want /_sesinbound/", got)
	}
	waitForOr(t, ctx, `document.getElementById("swaks").textContent`,
		`document.getElementById("swaks").textContent.includes("swaks --server `+em.SMTPAddr()+`")`)

	// Mail sent over SMTP appears without a reload, over the live feed: a
	// global set before the send survives, and no fallback poll runs.
	waitFor(t, ctx, "the feed connected", `document.getElementById("live").classList.contains("on")`)
	eval[bool](t, ctx, "window.__noReload = true")
	send(t, em.SMTPAddr(), "alice@example.org", "inbox@example.com",
		alternative("Quarterly figures", "The plain text part, decrypted.", "<p>The <b>HTML</b> part.</p>"))
	id := newestID(t, em)
	row := `#rows tr[data-msg-id="` + id + `"]`
	step(t, ctx, "the new row", chromedp.WaitVisible(chromedp.CSS(row)))
	if !eval[bool](t, ctx, "window.__noReload === true") {
		t.Fatal("the page reloaded to show the new mail")
	}
	if eval[bool](t, ctx, "!!state.pollTimer") {
		t.Error("the page fell back to polling; the feed should have brought the mail")
	}
	// The feed resumes where it left off: a mail sent while the page is
	// off the feed comes once it reconnects from its cursor (directly this
	// time, not through the shared worker).
	if !eval[bool](t, ctx, "!!state.worker") {
		t.Error("the page does not follow the feed through the shared worker")
	}
	eval[bool](t, ctx, "state.worker.port.close(); state.worker = null; state.direct = true; true")
	send(t, em.SMTPAddr(), "bob@example.org", "inbox@example.com", "Subject: while away\n\nhello\n")
	awayID := newestID(t, em)
	eval[bool](t, ctx, "connect(); true")
	step(t, ctx, "the mail sent while away", chromedp.WaitVisible(chromedp.CSS(`#rows tr[data-msg-id="`+awayID+`"]`)))
	if got := text(t, ctx, row); !strings.Contains(got, "Quarterly figures") || !strings.Contains(got, "inbound") || !strings.Contains(got, "250") {
		t.Errorf("row = %q, want the subject, the rule and the reply", got)
	}

	// The message view: the rule and action trace.
	step(t, ctx, "open the message", chromedp.Click(chromedp.CSS(row)), chromedp.WaitVisible(chromedp.CSS(`#pipeline [data-rule="inbound"]`)))
	trace := text(t, ctx, "#pipeline")
	for _, want := range []string{"127.0.0.1", "HELO", "X-Tag: inbound", "mail/" + id, "encrypted (SES envelope)", "plain/" + id,
		"arn:aws:sns:us-east-1:000000000000:inbound", "inbox@example.com"} {
		if !strings.Contains(trace, want) {
			t.Errorf("the trace lacks %q:\n%s", want, trace)
		}
	}
	// The rules that did not run, and why.
	step(t, ctx, "show rules not run", chromedp.Click(chromedp.ID("show-notrun")), chromedp.WaitVisible(chromedp.CSS(`[data-notrun="off"]`)))
	if got := text(t, ctx, `[data-notrun="off"]`); !strings.Contains(got, "disabled") {
		t.Errorf("rule off: %q, want disabled", got)
	}
	if got := text(t, ctx, `[data-notrun="other"]`); !strings.Contains(got, "no recipient matched") {
		t.Errorf("rule other: %q, want no recipient matched", got)
	}

	// The decrypted text.
	step(t, ctx, "text tab", chromedp.Click(chromedp.CSS(`[data-tab="Text"]`)), chromedp.WaitVisible(chromedp.ID("text-part")))
	if got := text(t, ctx, "#text-part"); !strings.Contains(got, "The plain text part, decrypted.") {
		t.Errorf("text tab = %q", got)
	}
	// The headers: SES's marked, and the AddHeaderAction's.
	step(t, ctx, "headers tab", chromedp.Click(chromedp.CSS(`[data-tab="Headers"]`)), chromedp.WaitVisible(chromedp.ID("headers")))
	if n := eval[int](t, ctx, `document.querySelectorAll("#headers tr.ses").length`); n < 4 {
		t.Errorf("%d headers marked as SES's, want at least 4", n)
	}
	if got := eval[string](t, ctx, `document.querySelector("#headers tr.added").textContent`); !strings.Contains(got, "X-Tag") {
		t.Errorf("added header = %q", got)
	}
	// The S3 metadata: two objects, the encrypted one with the seven
	// envelope entries and the encryption context.
	step(t, ctx, "S3 tab", chromedp.Click(chromedp.CSS(`[data-tab="S3 object"]`)), chromedp.WaitVisible(chromedp.ID("objects")))
	if n := eval[int](t, ctx, `document.querySelectorAll('#objects [data-object="0"] tr[data-meta]').length`); n != 7 {
		t.Errorf("%d metadata entries on the encrypted object, want 7", n)
	}
	s3text := text(t, ctx, "#objects")
	for _, want := range []string{"x-amz-meta-x-amz-matdesc", "x-amz-meta-x-amz-key-v2", "aws:ses:rule-name", "the 12-byte AES-GCM nonce", "s3://ses-archive/plain/" + id, "plain,"} {
		if !strings.Contains(s3text, want) {
			t.Errorf("the S3 tab lacks %q", want)
		}
	}
	// The event: the notification JSON.
	step(t, ctx, "events tab", chromedp.Click(chromedp.CSS(`[data-tab="Events"]`)), chromedp.WaitVisible(chromedp.ID("events")))
	if got := text(t, ctx, "#events"); !strings.Contains(got, `"notificationType": "Received"`) {
		t.Errorf("events tab = %q", got)
	}
	// Raw: the decrypted mail as stored.
	step(t, ctx, "raw tab", chromedp.Click(chromedp.CSS(`[data-tab="Raw"]`)), chromedp.WaitVisible(chromedp.ID("raw")))
	waitFor(t, ctx, "the raw mail", `document.getElementById("raw").textContent.includes("X-SES-RECEIPT")`)

	// Keyboard: Escape goes back, j moves, Enter opens.
	step(t, ctx, "escape", chromedp.KeyEvent("\x1b"), chromedp.WaitVisible(chromedp.CSS(row)))
	step(t, ctx, "j, enter", chromedp.KeyEvent("j"), chromedp.WaitVisible(chromedp.CSS(row+".sel")), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#pipeline [data-rule="inbound"]`)))

	// Delete one: the record and its objects go.
	step(t, ctx, "delete one", chromedp.Click(chromedp.ID("delete-one")), chromedp.WaitVisible(chromedp.ID("confirm-ok")),
		chromedp.Click(chromedp.ID("confirm-ok")), chromedp.WaitVisible(chromedp.CSS(`#rows tr[data-msg-id="`+awayID+`"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(row)))
	if _, ok := em.Journal.Get(id); ok {
		t.Error("the record survived Delete")
	}
	if r, err := http.Head(em.URL() + "/ses-inbound/mail/" + id); err != nil || r.StatusCode != 404 {
		t.Errorf("the stored object survived Delete: %v %v", r.StatusCode, err)
	}
	// Delete all, through the reset: the empty state again.
	step(t, ctx, "delete all", chromedp.Click(chromedp.ID("delete-all")), chromedp.WaitVisible(chromedp.ID("confirm-ok")),
		chromedp.Click(chromedp.ID("confirm-ok")), chromedp.WaitVisible(chromedp.ID("empty")))
	if len(em.Journal.List(0)) != 0 {
		t.Error("records survived Delete all")
	}
	if r, err := http.Head(em.URL() + "/ses-inbound/mail/" + awayID); err != nil || r.StatusCode != 404 {
		t.Errorf("a stored object survived Delete all: %v %v", r.StatusCode, err)
	}
}

func TestPageHostileHTML(t *testing.T) {
	var fetched atomic.Int32
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	}))
	defer remote.Close()
	em := startEmulator(t, "", "")
	ctx := newBrowser(t)
	step(t, ctx, "open the page", chromedp.Navigate(em.URL()+"/_sesinbound/"), chromedp.WaitVisible(chromedp.ID("empty")))

	hostile := `<p id="hello">Hello</p>` +
		`<script>parent.document.title="pwned"; top.pwnedByScript = 1; document.title = "pwned";</script>` +
		`<img src="x-missing.png" onerror="parent.document.title='pwned'; top.pwnedByHandler = 1">` +
		`<img src="` + remote.URL + `/tracker.gif">`
	send(t, em.SMTPAddr(), "mallory@example.org", "inbox@example.com", alternative("Hostile", "plain", hostile))
	id := newestID(t, em)
	step(t, ctx, "open it", chromedp.WaitVisible(chromedp.CSS(`tr[data-msg-id="`+id+`"]`)), chromedp.Click(chromedp.CSS(`tr[data-msg-id="`+id+`"]`)),
		chromedp.WaitVisible(chromedp.ID("mail-frame")), chromedp.WaitVisible(chromedp.ID("remote-notice")))
	if got := eval[string](t, ctx, `document.getElementById("mail-frame").getAttribute("sandbox")`); got != "" {
		t.Errorf("sandbox = %q, want empty (no allow-scripts, no allow-same-origin)", got)
	}
	time.Sleep(time.Second) // let the frame load and anything in it try to run
	if got := eval[string](t, ctx, "document.title"); got != "sesinbound" {
		t.Errorf("title = %q: the mail's script ran", got)
	}
	if eval[bool](t, ctx, `typeof window.pwnedByScript !== "undefined" || typeof window.pwnedByHandler !== "undefined"`) {
		t.Error("the mail's script or onerror handler set a global")
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the remote image was fetched %d times before it was asked for", n)
	}
	step(t, ctx, "load remote content", chromedp.Click(chromedp.ID("load-remote")))
	deadline := time.Now().Add(10 * time.Second)
	for fetched.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if fetched.Load() == 0 {
		t.Error("the remote image was not fetched once asked for")
	}
	if got := eval[string](t, ctx, "document.title"); got != "sesinbound" {
		t.Errorf("title after loading remote content = %q", got)
	}
}

func TestPageDarkMode(t *testing.T) {
	em := startEmulator(t, "", "")
	ctx := newBrowser(t)
	scheme := func(v string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
			return err
		})
	}
	bg := `getComputedStyle(document.body).backgroundColor`
	const light, dark = "rgb(255, 255, 255)", "rgb(21, 25, 30)"
	step(t, ctx, "open in a light system", scheme("light"), chromedp.Navigate(em.URL()+"/_sesinbound/"), chromedp.WaitVisible(chromedp.ID("empty")))
	if got := eval[string](t, ctx, bg); got != light {
		t.Errorf("light system: background %s, want %s", got, light)
	}
	step(t, ctx, "dark system", scheme("dark"))
	if got := eval[string](t, ctx, bg); got != dark {
		t.Errorf("dark system: background %s, want %s", got, dark)
	}
	step(t, ctx, "toggle", chromedp.Click(chromedp.ID("theme")))
	if got := eval[string](t, ctx, bg); got != light {
		t.Errorf("after the toggle: background %s, want %s", got, light)
	}
	// The choice is remembered.
	step(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("empty")))
	if got := eval[string](t, ctx, bg); got != light {
		t.Errorf("after a reload: background %s, want the remembered %s", got, light)
	}
	step(t, ctx, "toggle back", chromedp.Click(chromedp.ID("theme")))
	if got := eval[string](t, ctx, bg); got != dark {
		t.Errorf("toggled to dark: background %s, want %s", got, dark)
	}
}

func TestPageAdminToken(t *testing.T) {
	em := startEmulator(t, "", "s3cret")
	ctx := newBrowser(t)
	step(t, ctx, "open", chromedp.Navigate(em.URL()+"/_sesinbound/"), chromedp.WaitVisible(chromedp.ID("token-input")))
	send(t, em.SMTPAddr(), "a@example.org", "inbox@example.com", "Subject: behind a token\n\nhello\n")
	id := newestID(t, em)
	step(t, ctx, "unlock", chromedp.SendKeys(chromedp.ID("token-input"), "s3cret"), chromedp.Click(chromedp.ID("token-ok")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-msg-id="`+id+`"]`)))
}

func TestPageSearchAndPaging(t *testing.T) {
	em := startEmulator(t, pageRules, "")
	c, err := smtp.Dial(em.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		to := "inbox@example.com"
		if i%10 == 7 {
			to = "sales@example.net" // rule other
		}
		msg := fmt.Sprintf("Subject: note %02d\r\nFrom: s%d@example.org\r\n\r\nbody %d\r\n", i, i%3, i)
		if err := c.SendMail(fmt.Sprintf("s%d@example.org", i%3), []string{to}, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	}
	c.Quit()
	ctx := newBrowser(t)
	step(t, ctx, "open", chromedp.Navigate(em.URL()+"/_sesinbound/"), chromedp.WaitVisible(chromedp.CSS("#rows tr")))
	rows := `document.querySelectorAll("#rows tr").length`
	clearSearch := func() chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("search").value = ""`))
			return err
		})
	}
	if got := text(t, ctx, "#range"); got != "1–50 of 60" {
		t.Errorf("range = %q", got)
	}
	if got := text(t, ctx, "#rows tr:first-child .c-subject"); got != "note 59" {
		t.Errorf("first row %q, want the newest, note 59", got)
	}
	step(t, ctx, "older", chromedp.Click(chromedp.ID("next")))
	waitFor(t, ctx, "page 2", `document.getElementById("range").textContent === "51–60 of 60"`)
	if n := eval[int](t, ctx, rows); n != 10 {
		t.Errorf("%d rows on page 2, want 10", n)
	}
	step(t, ctx, "newer", chromedp.Click(chromedp.ID("prev")))
	waitFor(t, ctx, "page 1", `document.getElementById("range").textContent === "1–50 of 60"`)
	for _, tt := range []struct {
		q    string
		want int
	}{
		{"rule:other", 6},
		{"to:sales@example.net", 6},
		{"from:s1@example.org", 20},
		{"subject:\"note 0\"", 10},
		{"s2@example.org note", 20}, // plain words: the sender, and a word every subject has
	} {
		step(t, ctx, "search "+tt.q, clearSearch(), chromedp.SendKeys(chromedp.ID("search"), tt.q))
		waitForOr(t, ctx, `document.getElementById("search").value + " | " + document.getElementById("range").textContent`, fmt.Sprintf(`document.querySelectorAll("#rows tr").length === %d && document.getElementById("range").textContent.endsWith(" of %d")`, tt.want, tt.want))
	}
	// A mail arriving while a search is shown is fetched in if it matches.
	send(t, em.SMTPAddr(), "s1@example.org", "sales@example.net", "Subject: late\n\nlate\n")
	step(t, ctx, "search rule:other", clearSearch(), chromedp.SendKeys(chromedp.ID("search"), "rule:other"))
	waitFor(t, ctx, "the late mail", `document.querySelectorAll("#rows tr").length === 7`)
}
