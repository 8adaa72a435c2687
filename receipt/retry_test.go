package receipt

import (
	"context"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestRetryable(t *testing.T) {
	refused := &url.Error{Op: "Put", URL: "http://127.0.0.1:9/b/k", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	// How aws-sdk-go-v2 wraps a connection refused: a response error with
	// status 0 around the send error.
	sdkRefused := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &retry.MaxAttemptsError{Attempt: 1,
		Err: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 0}}, Err: &smithyhttp.RequestSendError{Err: refused}}}}
	status := func(code int) error {
		return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("x")}
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused, as the SDK wraps it", sdkRefused, true},
		{"throttling", &smithy.GenericAPIError{Code: "ThrottlingException"}, true},
		{"slow down", fmt.Errorf("put: %w", &smithy.GenericAPIError{Code: "SlowDown"}), true},
		{"HTTP 503", status(503), true},
		// The SDK retries 429 only with a throttling code, as above.
		{"HTTP 429 alone", status(429), false},
		{"HTTP 500", status(500), true},
		{"HTTP 400", status(400), false},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDenied"}, false},
		{"no such bucket", &smithy.GenericAPIError{Code: "NoSuchBucket"}, false},
		{"disabled key", &smithy.GenericAPIError{Code: "DisabledException"}, false},
		{"deadline", context.DeadlineExceeded, false},
		{"canceled", context.Canceled, false},
	} {
		if got := Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRetryWaits runs the retry loop with an injected sleep and a fixed
// Rand: the waits are the same every run, double up to Max, stay within
// their bound, and the loop ends when the deadline does, with no real
// sleeping.
func TestRetryWaits(t *testing.T) {
	run := func() []time.Duration {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var waits []time.Duration
		p := &Processor{
			// One call at a time: the reader needs no lock here.
			Rand: mathrand.NewChaCha8([32]byte{7}),
			Retry: RetryPolicy{Base: 10 * time.Millisecond, Max: 40 * time.Millisecond,
				Sleep: func(ctx context.Context, d time.Duration) error {
					waits = append(waits, d)
					if len(waits) == 6 {
						cancel() // the message's deadline
					}
					return ctx.Err()
				}},
		}
		calls := 0
		err := p.retry(ctx, func() error { calls++; return &smithy.GenericAPIError{Code: "SlowDown"} })
		if err == nil || calls != 6 {
			t.Fatalf("retry = %v after %d calls, want the last error after 6", err, calls)
		}
		return waits
	}
	first := run()
	bounds := []time.Duration{10, 20, 40, 40, 40, 40}
	for i, w := range first {
		if w <= 0 || w > bounds[i]*time.Millisecond {
			t.Errorf("wait %d = %v, want in (0, %v]", i, w, bounds[i]*time.Millisecond)
		}
	}
	if again := run(); !slices.Equal(first, again) {
		t.Fatalf("waits differ with the same Rand: %v then %v", first, again)
	}

	// A permanent error is not retried at all.
	p := &Processor{Retry: RetryPolicy{Base: time.Millisecond, Sleep: func(context.Context, time.Duration) error {
		t.Fatal("slept before a permanent error")
		return nil
	}}}
	if err := p.retry(t.Context(), func() error { return &smithy.GenericAPIError{Code: "AccessDenied"} }); err == nil {
		t.Fatal("retry swallowed AccessDenied")
	}
}
