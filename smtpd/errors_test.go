package smtpd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/smithy-go"
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

// syncBuffer is a log destination that tests can read while the server
// writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A failed delivery is logged once, by refuse, and a backend set up wrongly
// is logged as an error that says so.
func TestFailureLoggedOnce(t *testing.T) {
	for _, tt := range []struct {
		name, level, text string
		err               error
	}{
		{"outage", "WARN", "message not accepted", fmt.Errorf("s3 action: put object b/k: %w", errors.New("connection refused"))},
		{"configuration", "ERROR", "backend configuration problem", fmt.Errorf("s3 action: put object b/k: %w", &smithy.GenericAPIError{Code: "NoSuchBucket"})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			recv := &stubReceiver{err: tt.err}
			srv := NewServer(t.Context(), recv, slog.New(slog.NewTextHandler(&logs, nil)))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			c := dial(t, ln.Addr().String())
			if err := send(t, c, nil, []byte("Subject: x\r\n\r\nx\r\n")); smtpCode(err) != 451 {
				t.Fatalf("SendMail = %v, want 451", err)
			}
			var lines []string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "put object b/k") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || !strings.Contains(lines[0], "level="+tt.level) || !strings.Contains(lines[0], tt.text) || !strings.Contains(lines[0], "code=451") {
				t.Fatalf("log lines about the failure:\n%s\nwant one at %s saying %q", strings.Join(lines, "\n"), tt.level, tt.text)
			}
		})
	}
}
