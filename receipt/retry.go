package receipt

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// RetryPolicy bounds how Deliver retries an S3 or KMS call that failed for
// a reason that may pass (throttling, 5xx, timeouts, a refused
// connection): exponential backoff from Base up to Max, with jitter, until
// the message's deadline. Configuration errors are not retried.
type RetryPolicy struct {
	Base, Max time.Duration
}

// DefaultRetry is the policy a Processor uses unless told otherwise.
var DefaultRetry = RetryPolicy{Base: 50 * time.Millisecond, Max: 2 * time.Second}

// retryableCodes are AWS error codes that mean "try again".
var retryableCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestLimitExceeded": true,
	"TooManyRequestsException": true, "SlowDown": true, "RequestThrottled": true, "RequestThrottledException": true,
	"InternalError": true, "InternalFailure": true, "ServiceUnavailable": true, "RequestTimeout": true,
	"RequestTimeoutException": true, "KMSInternalException": true, "DependencyTimeoutException": true,
	"KeyUnavailableException": true, "IncompleteBody": true,
}

// configCodes are AWS error codes that mean the setup is wrong: retrying
// will not help, a person has to act.
var configCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "NoSuchBucket": true, "NotFoundException": true,
	"DisabledException": true, "KMSInvalidStateException": true, "InvalidKeyUsageException": true,
	"IncorrectKeyException": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
	"UnrecognizedClientException": true, "InvalidBucketName": true, "AllAccessDisabled": true,
	"NotAuthorizedException": true, "KeyUnavailable": true,
}

// Retryable reports whether err is worth another try.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if retryableCodes[ae.ErrorCode()] {
			return true
		}
		if configCodes[ae.ErrorCode()] {
			return false
		}
	}
	// The SDK reports a failure to send as a response error with status 0;
	// only a real status decides here, the network error below the rest.
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		s := re.HTTPStatusCode()
		return s >= 500 || s == 429
	}
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// IsConfigError reports whether err says the backend is set up wrongly (a
// missing bucket or key, a disabled key, denied access).
func IsConfigError(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && configCodes[ae.ErrorCode()]
}

// retry calls f until it succeeds, fails for good, or ctx ends.
func (p *Processor) retry(ctx context.Context, f func() error) error {
	policy := p.Retry
	if policy.Base <= 0 {
		policy = DefaultRetry
	}
	delay := policy.Base
	for {
		err := f()
		if err == nil || !Retryable(err) {
			return err
		}
		// Full jitter: concurrent senders do not retry in step.
		wait := time.Duration(rand.Int64N(int64(delay)) + 1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(delay*2, policy.Max)
	}
}
