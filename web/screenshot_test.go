package web_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const demoRules = `
Rules:
  - Name: support
    Enabled: true
    ScanEnabled: true
    Recipients: [support@example.com]
    Actions:
      - AddHeaderAction: {HeaderName: X-Queue, HeaderValue: support}
      - S3Action: {BucketName: ses-inbound, ObjectKeyPrefix: support, KmsKeyArn: "arn:aws:kms:us-east-1:000000000000:alias/aws/ses", TopicArn: "arn:aws:sns:us-east-1:000000000000:support-mail"}
      - LambdaAction: {FunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:triage", InvocationType: Event}
      - StopAction: {Scope: RuleSet}
  - Name: archive
    Enabled: true
    Recipients: [example.com]
    Actions:
      - S3Action: {BucketName: ses-archive, ObjectKeyPrefix: archive}
  - Name: legacy-forward
    Recipients: [example.com]
    Actions:
      - S3Action: {BucketName: ses-archive}
`

// TestScreenshots draws the list and a message view, and checks that the
// page fits a 375 px wide phone. With -update it rewrites the screenshots
// in docs/ that the README shows:
//
//	go test ./web -run Screenshots -update
func TestScreenshots(t *testing.T) {
	em := startEmulator(t, demoRules, "")
	ctx := newBrowser(t)
	mails := []struct{ from, to, subject, text, html string }{
		{"billing@vendor.example", "accounts@example.com", "Invoice 2026-118 is ready", "Your invoice is attached.", ""},
		{"noreply@github.example", "dev@example.com", "[sesinbound] CI passed on main", "All checks have passed.", "<h3>All checks have passed</h3><p>12 successful checks.</p>"},
		{"promo@bulk.example", "support@example.com", "You have WON a prize", "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X", ""},
		{"carol@partner.example", "sales@example.com", "Re: pricing for the Q1 renewal", "Thanks, that works for us.", ""},
		{"dave@customer.example", "support@example.com", "Can't reset my password", "Hi, the reset link in your mail expired before I could use it.",
			`<div style="font-family:Georgia,serif;max-width:560px"><h2 style="color:#1d4ed8">Password reset</h2><p>Hi,</p><p>The reset link in your mail expired before I could use it. Could you send a new one?</p><p style="color:#666">— Dave</p></div>`},
	}
	for _, m := range mails {
		body := "Subject: " + m.subject + "\nFrom: " + m.from + "\nTo: " + m.to + "\n\n" + m.text + "\n"
		if m.html != "" {
			body = alternative(m.subject, m.text, m.html)
			body = "From: " + m.from + "\n" + body[len("From: Alice <alice@example.org>\n"):]
		}
		send(t, em.SMTPAddr(), m.from, m.to, body)
	}
	id := newestID(t, em)

	shoot := func(name string, action chromedp.Action[[]byte]) {
		t.Helper()
		if !*update {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, action)
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	step(t, ctx, "list", chromedp.EmulateViewport(1280, 480), chromedp.Navigate(em.URL()+"/_sesinbound/"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-msg-id="`+id+`"]`)))
	shoot("page-list.png", chromedp.CaptureScreenshot())

	step(t, ctx, "message", chromedp.EmulateViewport(1280, 1000), chromedp.Click(chromedp.CSS(`tr[data-msg-id="`+id+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pipeline [data-rule="support"]`)), chromedp.Click(chromedp.ID("show-notrun")),
		chromedp.WaitVisible(chromedp.ID("mail-frame")), chromedp.Sleep(300*time.Millisecond))
	shoot("page-message.png", chromedp.CaptureScreenshot())

	// A phone: nothing wider than the screen, in the list and the message.
	step(t, ctx, "phone", chromedp.EmulateViewport(375, 740), chromedp.Navigate(em.URL()+"/_sesinbound/"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-msg-id="`+id+`"]`)))
	for _, view := range []string{"#/", "#/m/" + id} {
		eval[string](t, ctx, `location.hash = "`+view+`"`)
		step(t, ctx, "phone "+view, chromedp.WaitVisible(chromedp.CSS(`#view-`+map[bool]string{true: "list", false: "message"}[view == "#/"]+` :is(tr[data-msg-id="`+id+`"], #pipeline)`)),
			chromedp.Sleep(300*time.Millisecond))
		if w := eval[int](t, ctx, "document.documentElement.scrollWidth"); w > 375 {
			t.Errorf("at 375 px, %s is %d px wide", view, w)
		}
		if view == "#/" {
			shoot("page-phone.png", chromedp.CaptureScreenshot())
		}
	}
}
