package receipt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"

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
		{"HTTP 429", status(429), true},
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
