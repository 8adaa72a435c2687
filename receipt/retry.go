package receipt

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// RetryPolicy bounds how Deliver retries an S3 or KMS call that failed for
// a reason that may pass (what aws-sdk-go-v2 itself retries: throttling,
// 500/502/503/504, timeouts, refused or reset connections): exponential
// backoff from Base up to Max, with full jitter drawn from the Processor's
// Rand, until the message's deadline. Configuration errors are not
// retried.
type RetryPolicy struct {
	// Base is the longest first wait, Max the longest of any; a zero Base
	// means DefaultRetry's, a Max below Base means Base.
	Base, Max time.Duration
	// Sleep waits for d, or until ctx ends, when it returns ctx.Err(); nil
	// means a real timer. Tests pass one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetry returns the policy a Processor uses unless told otherwise.
func DefaultRetry() RetryPolicy {
	return RetryPolicy{Base: 50 * time.Millisecond, Max: 2 * time.Second}
}

// configCode reports whether an AWS error code means the setup is wrong:
// retrying will not help, a person has to act. It decides the log line,
// not the retry, which the SDK's classification does.
func configCode(code string) bool {
	switch code {
	case "AccessDenied", "AccessDeniedException", "NoSuchBucket", "NotFoundException",
		"DisabledException", "KMSInvalidStateException", "InvalidKeyUsageException",
		"IncorrectKeyException", "InvalidAccessKeyId", "SignatureDoesNotMatch",
		"UnrecognizedClientException", "InvalidBucketName", "AllAccessDisabled",
		"NotAuthorizedException", "KeyUnavailable":
		return true
	}
	return false
}

// Retryable reports whether err is worth another try: whether
// aws-sdk-go-v2's default classification (retry.DefaultRetryables) would
// retry it. The end of the message's own context is never retried.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// IsConfigError reports whether err says the backend is set up wrongly (a
// missing bucket or key, a disabled key, denied access).
func IsConfigError(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && configCode(ae.ErrorCode())
}

// retry calls f until it succeeds, fails for good, or ctx ends.
func (p *Processor) retry(ctx context.Context, f func() error) error {
	policy := p.Retry
	if policy.Base <= 0 {
		d := DefaultRetry()
		policy.Base, policy.Max = d.Base, d.Max
	}
	policy.Max = max(policy.Max, policy.Base)
	sleep := policy.Sleep
	if sleep == nil {
		sleep = sleepTimer
	}
	delay := policy.Base
	for {
		err := f()
		if err == nil || !Retryable(err) {
			return err
		}
		// Full jitter: concurrent senders do not retry in step.
		if sleep(ctx, jitter(p.rand(), delay)) != nil {
			return err
		}
		delay = min(delay*2, policy.Max)
	}
}

// jitter returns a duration in (0, d] drawn from r; d itself if r fails.
func jitter(r io.Reader, d time.Duration) time.Duration {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return d
	}
	return time.Duration(binary.BigEndian.Uint64(b[:])%uint64(d)) + 1
}

// sleepTimer waits for d on a real timer, or until ctx ends.
func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
