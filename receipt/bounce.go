package receipt

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Bounce is a DSN a BounceAction asked for. It is sent after the SMTP
// conversation ends, from the null sender to the original envelope sender.
type Bounce struct {
	Rule          string   `json:"rule"`
	Sender        string   `json:"sender"` // the DSN's From, the action's Sender
	To            string   `json:"to"`     // the original envelope sender
	Recipients    []string `json:"recipients"`
	SMTPReplyCode string   `json:"smtpReplyCode"`
	StatusCode    string   `json:"statusCode,omitempty"`
	Message       string   `json:"message"`
	Status        string   `json:"status"`             // pending, sent, recorded, skipped or failed
	Delivery      string   `json:"delivery,omitempty"` // where it went, e.g. the relay
	Error         string   `json:"error,omitempty"`
	DSN           string   `json:"dsn"` // the whole DSN as sent
}

// Bounce statuses.
const (
	BouncePending  = "pending"
	BounceSent     = "sent"
	BounceRecorded = "recorded"
	BounceSkipped  = "skipped"
	BounceFailed   = "failed"
)

// bounceTimeout bounds one DSN delivery to the relay.
const bounceTimeout = 30 * time.Second

func (p *Processor) sendBounce(ctx context.Context, b *Bounce) {
	switch {
	case b.To == "":
		// RFC 5321 §6.1: never bounce a message from the null sender.
		b.Status, b.Error = BounceSkipped, "the message has the null sender <>"
		return
	case p.Bouncer == nil:
		b.Status, b.Delivery = BounceRecorded, DeliveryRecorded
		return
	}
	ctx, cancel := context.WithTimeout(ctx, bounceTimeout)
	defer cancel()
	delivery, err := p.Bouncer.Bounce(ctx, b.To, []byte(b.DSN))
	b.Delivery = delivery
	if err != nil {
		b.Status, b.Error = BounceFailed, err.Error()
		p.logger().LogAttrs(ctx, slog.LevelWarn, "bounce not delivered", slog.String("rule", b.Rule),
			slog.String("rcpt", b.To), slog.Any("err", err))
		return
	}
	b.Status = BounceSent
}

// buildDSN writes an RFC 3464 delivery status notification for the
// recipients a BounceAction's rule matched, with the action's reply code,
// status and message, and hdr, the header block of the message as stored.
func (d *delivery) buildDSN(a *BounceAction, rcpts []string, hdr []byte) []byte {
	status := a.StatusCode
	if status == "" {
		status = defaultStatus(a.SmtpReplyCode)
	}
	now := d.p.now().UTC()
	var rnd [12]byte
	if _, err := io.ReadFull(d.p.rand(), rnd[:]); err != nil {
		// Only an injected reader can fail; the message's ID is unique too.
		copy(rnd[:], d.res.MessageID)
	}
	boundary := "sesinbound-" + hex.EncodeToString(rnd[:])
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("From: %s", a.Sender)
	w("To: %s", d.res.From)
	w("Subject: Delivery Status Notification (Failure)")
	w("Date: %s", now.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	w("Message-ID: <%s@%s>", hex.EncodeToString(rnd[:]), d.p.hostname)
	w("Auto-Submitted: auto-replied")
	w("MIME-Version: 1.0")
	w(`Content-Type: multipart/report; report-type=delivery-status; boundary="%s"`, boundary)
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("")
	w("An error occurred while trying to deliver the mail to the following recipients:")
	for _, rc := range rcpts {
		w("%s", rc)
	}
	w("")
	w("%s", a.Message)
	w("")
	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("")
	w("Reporting-MTA: dns; %s", d.p.hostname)
	w("X-SES-Message-ID: %s", d.res.MessageID)
	w("Arrival-Date: %s", d.res.Received.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	for _, rc := range rcpts {
		w("")
		w("Final-Recipient: rfc822; %s", rc)
		w("Action: failed")
		w("Status: %s", status)
		w("Diagnostic-Code: smtp; %s %s %s", a.SmtpReplyCode, status, oneLine(a.Message))
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("")
	b.Write(hdr)
	if len(hdr) > 0 && !bytes.HasSuffix(hdr, []byte("\n")) {
		b.WriteString("\r\n")
	}
	w("")
	w("--%s--", boundary)
	return b.Bytes()
}

// defaultStatus derives an enhanced status code from a reply code.
func defaultStatus(code string) string {
	if strings.HasPrefix(code, "4") {
		return "4.0.0"
	}
	return "5.0.0"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
