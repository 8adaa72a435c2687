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

func TestReply(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want int // 0: success (nil)
	}{
		{"success", nil, 0},
		{"no matching rule", fmt.Errorf("rcpt x: %w", receipt.ErrNoMatchingRule), 550},
		{"rejected", fmt.Errorf("deliver: %w", receipt.ErrRejected), 554},
		{"too large, wrapped", fmt.Errorf("read: %w", smtp.ErrDataTooLarge), 552},
		{"line too long", fmt.Errorf("read: %w", smtp.ErrTooLongLine), 500},
		{"deadline", fmt.Errorf("put object: %w", context.DeadlineExceeded), 451},
		{"backend outage", errors.New("dial tcp 127.0.0.1:9: connection refused"), 451},
		{"client too slow", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, 451},
		{"header too large", fmt.Errorf("%w: 2000 fields", errHeaderTooLarge), 552},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := reply(tt.err)
			if tt.want == 0 {
				if got != nil {
					t.Fatalf("reply(nil) = %#v, want nil", got)
				}
				return
			}
			se, ok := got.(*smtp.SMTPError) // go-smtp asserts the type; errors.As would hide a wrap
			if !ok {
				t.Fatalf("reply(%v) = %T, want *smtp.SMTPError", tt.err, got)
			}
			if se.Code != tt.want {
				t.Fatalf("reply(%v).Code = %d, want %d", tt.err, se.Code, tt.want)
			}
			if se.Code/100 == 4 && se != replyTryLater && se != replyTimeout {
				t.Fatalf("a temporary reply leaks text: %q", se.Message)
			}
		})
	}
}
