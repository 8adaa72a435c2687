package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// startPagesRow adds the row "memory only, with N pages open": a second
// memory-only sesinbound with N headless Chromium tabs on its web page,
// each following the live feed, run in the same rounds as the memory-only
// row so the two compare within one run.
func (rep *report) startPagesRow(lb *lab, rules string) error {
	n := rep.opts.pages
	bin := chromiumPath()
	if bin == "" {
		rep.notes = append(rep.notes, "-pages: no Chromium found (CHROME_BIN, chromium): the row with pages open was not run")
		return nil
	}
	t, err := lb.startSesinbound("sesinbound-pages", sesinboundOpts{rules: rules, bucket: "bench"})
	if err != nil {
		return err
	}
	url := "http://" + t.aws + "/_sesinbound/"
	stop, err := openPages(bin, url, n, lb.work)
	if err != nil {
		return fmt.Errorf("open %d pages: %v", n, err)
	}
	lb.cleanups = append(lb.cleanups, stop)
	t.name = fmt.Sprintf("sesinbound, embedded, memory only, %d pages open", n)
	rep.rows = append(rep.rows, &row{key: "memory-pages", name: t.name, smtp: t.smtp, reset: t.reset, proc: t.proc})
	return nil
}

func chromiumPath() string {
	if p := os.Getenv("CHROME_BIN"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chromiumAllocator returns an allocator for headless Chromium bin with a
// fresh profile in a temporary folder under work.
func chromiumAllocator(bin, work string) (context.Context, context.CancelFunc, error) {
	dir, err := os.MkdirTemp(work, "chromium-")
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir))
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	return ctx, cancel, nil
}

// openPages opens n tabs of one headless Chromium on url and waits until
// each shows the page.
func openPages(bin, url string, n int, work string) (stop func(), err error) {
	allocCtx, cancelAlloc, err := chromiumAllocator(bin, work)
	if err != nil {
		return nil, err
	}
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	stop = func() { cancelBrowser(); cancelAlloc() }
	if err := chromedp.Do(browser); err != nil {
		stop()
		return nil, err
	}
	for i := range n {
		// Each tab is left open and unobserved, as a person's tabs are: once
		// it is live, the DevTools session is detached. An attached session
		// has the Network domain enabled and auto-attaches to the shared
		// worker, so Chromium would report every record of the feed to
		// this process, once for every tab: the harness's cost, not the
		// page's.
		//
		// And they are tabs of one window, as in a person's browser: the
		// newest is the one shown, the others are in the background.
		// Headless Chromium gives each tab a window of its own by
		// default, and every window draws: twenty of them on about:blank
		// take more than a core, whatever the page.
		tab, detach := chromedp.NewContext(browser, chromedp.WithDetachOnCancel(), chromedp.WithNewWindow(false)) // closed with the browser
		// The first call makes the tab: made under a deadline, the tab
		// stops answering once that context ends.
		if err := chromedp.Do(tab); err != nil {
			stop()
			return nil, fmt.Errorf("tab %d: %v", i+1, err)
		}
		ctx, cancel := context.WithTimeout(tab, 30*time.Second)
		err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.ID("rows")))
		if err == nil {
			// Each tab follows the live feed (through the shared worker).
			_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("live").classList.contains("on")`))
		}
		cancel()
		detach()
		if err != nil {
			stop()
			return nil, fmt.Errorf("tab %d: %v", i+1, err)
		}
	}
	progress("%d pages open on %s, unobserved", n, url)
	return stop, nil
}

// measurePageLoad fills a memory-only sesinbound's record with 10,000
// messages (its limit) and times the web page in headless Chromium, from
// the start of navigation to the first list drawn (the page's own
// performance mark "sesinbound:list"), over several fresh loads.
func (rep *report) measurePageLoad(lb *lab, rules string) error {
	bin := chromiumPath()
	if bin == "" {
		rep.notes = append(rep.notes, "page-load: no Chromium found (CHROME_BIN, chromium): not measured")
		return nil
	}
	records, loads := 10000, 10
	if rep.opts.quick {
		records, loads = 200, 2
	}
	t, err := lb.startSesinbound("sesinbound-page-load", sesinboundOpts{rules: rules, bucket: "bench"})
	if err != nil {
		return err
	}
	progress("page load: recording %d messages", records)
	if res := drive(t.smtp, message(2000), records, 8); res.OK != records {
		return fmt.Errorf("page load: %d of %d messages accepted: %s", res.OK, records, res.FirstErr)
	}
	return rep.timeLoads(bin, "http://"+t.aws+"/_sesinbound/", loads, records, lb.work)
}

func (rep *report) timeLoads(bin, url string, loads, records int, work string) error {
	allocCtx, cancelAlloc, err := chromiumAllocator(bin, work)
	if err != nil {
		return err
	}
	defer cancelAlloc()
	browser, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(browser); err != nil {
		return err
	}
	for i := range loads + 1 {
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#rows tr")))
		var msec float64
		if err == nil {
			msec, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.getEntriesByName("sesinbound:list")[0].startTime`))
		}
		cancel()
		if err != nil {
			return fmt.Errorf("page load %d: %v", i+1, err)
		}
		if i > 0 { // the first load warms the browser's caches, as a user's second visit
			rep.pageLoads = append(rep.pageLoads, time.Duration(msec*float64(time.Millisecond)))
		}
	}
	rep.pageRecords = records
	return nil
}

func (rep *report) pageMarkdown(b *strings.Builder) {
	if len(rep.pageLoads) == 0 {
		return
	}
	s := slices.Clone(rep.pageLoads)
	slices.Sort(s)
	fmt.Fprintf(b, "\n## The web page\n\nWith %d messages recorded, from the start of navigation to the first page of the list drawn (headless Chromium, %d loads after one to warm up): median %s, slowest %s.\n",
		rep.pageRecords, len(s), ms(median(s)), ms(s[len(s)-1]))
}
