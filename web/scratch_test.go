package web_test

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestScratchShots(t *testing.T) {
	em := startEmulator(t, demoRules, "")
	ctx := newBrowser(t)
	send(t, em.SMTPAddr(), "a@example.org", "support@example.com", alternative("Hello", "text body", "<p>hi</p>"))
	id := newestID(t, em)
	step(t, ctx, "config", chromedp.EmulateViewport(1280, 1100), chromedp.Navigate(em.URL()+"/_sesinbound/#/config"), chromedp.WaitVisible(chromedp.ID("findings")))
	b, _ := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	os.WriteFile("/tmp/shot-config.png", b, 0o644)
	eval[string](t, ctx, `localStorage.setItem("sesinbound-theme","dark"); location.hash="#/m/`+id+`"; ""`)
	step(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("pipeline")), chromedp.Click(chromedp.CSS(`[data-tab="S3 object"]`)), chromedp.Sleep(300*time.Millisecond))
	b, _ = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	os.WriteFile("/tmp/shot-dark.png", b, 0o644)
	step(t, ctx, "events", chromedp.Click(chromedp.CSS(`[data-tab="Events"]`)), chromedp.Sleep(200*time.Millisecond))
	b, _ = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	os.WriteFile("/tmp/shot-events.png", b, 0o644)
	eval[string](t, ctx, `location.hash="#/m/`+id+`"; ""`)
	step(t, ctx, "phone msg", chromedp.EmulateViewport(375, 740), chromedp.Sleep(300*time.Millisecond))
	b, _ = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	os.WriteFile("/tmp/shot-phone-msg.png", b, 0o644)
}
