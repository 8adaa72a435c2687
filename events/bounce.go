package events

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/receipt"
)

// Relay sends DSNs through an SMTP relay (Mailpit, for example); it
// implements receipt.Bouncer.
type Relay struct {
	Addr string // host:port
	// Helo is the name given in EHLO; "" means localhost.
	Helo string
}

var _ receipt.Bouncer = (*Relay)(nil)

// Bounce sends dsn from the null sender, as RFC 5321 §4.5.5 requires of
// delivery status notifications, to one recipient.
func (r *Relay) Bounce(ctx context.Context, to string, dsn []byte) (string, error) {
	where := "smtp://" + r.Addr
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return where, fmt.Errorf("relay %s: %w", r.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(time.Minute))
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	helo := r.Helo
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return where, fmt.Errorf("relay %s: %w", r.Addr, err)
	}
	if err := c.SendMail("", []string{to}, bytes.NewReader(dsn)); err != nil {
		return where, fmt.Errorf("relay %s: %w", r.Addr, err)
	}
	c.Quit()
	return where, nil
}
