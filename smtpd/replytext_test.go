package smtpd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/receipt"
)

// TestReplyText pins the whole reply line for each kind of error, not only
// its code: a slow backend and a slow client both get 451, in different
// words, and the words are what an MTA logs. e2e/replies_test.go checks
// the same lines on the wire.
func TestReplyText(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"backend deadline", fmt.Errorf("put object: %w", context.DeadlineExceeded), "451 4.3.0 Temporary failure, please try again later"},
		{"backend outage", errors.New("dial tcp 127.0.0.1:9: connection refused"), "451 4.3.0 Temporary failure, please try again later"},
		{"client too slow", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "451 4.4.2 Timeout waiting for data"},
		{"no matching rule", fmt.Errorf("rcpt: %w", receipt.ErrNoMatchingRule), "550 5.1.1 Requested action not taken: mailbox unavailable"},
		{"TLS required", fmt.Errorf("rcpt: %w", receipt.ErrTLSRequired), "530 5.7.0 Must issue a STARTTLS command first"},
		{"blocked", fmt.Errorf("client: %w", receipt.ErrBlocked), "554 5.7.1 Access denied"},
		{"too large", fmt.Errorf("read: %w", smtp.ErrDataTooLarge), "552 5.3.4 Maximum message size exceeded"},
		{"header too large", fmt.Errorf("%w: 2000 fields", errHeaderTooLarge), "552 5.3.4 Message header too large"},
		{"line too long", fmt.Errorf("read: %w", smtp.ErrTooLongLine), "500 5.6.0 Line too long"},
	} {
		if got := replyLine(reply(tt.err)); got != tt.want+"\r\n" {
			t.Errorf("%s: reply line %q, want %q", tt.name, got, tt.want)
		}
	}
	if got, want := replyLine(replyTooBusy), "421 4.7.0 Too many connections, try again later\r\n"; got != want {
		t.Errorf("too busy: %q, want %q", got, want)
	}
}
