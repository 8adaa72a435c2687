package fakes

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/smithy-go"
)

// FaultFunc decides, for each request a fake serves over HTTP, whether it
// fails on purpose: a non-nil error is answered instead of the operation,
// with the service's own error writer. op is the operation's API name
// (PutObject, CreateMultipartUpload, GenerateDataKey, ...) and ctx the
// request's context. An API error (smithy.APIError, as S3Error and
// KMSError return) is sent with its code and message; anything else as
// the service's internal error. A FaultFunc may be called concurrently.
type FaultFunc func(ctx context.Context, op string) error

// WithS3Faults makes every request the S3 serves over HTTP ask f first.
// Calls to its methods in-process are not affected: wrap the *S3 for those
// (as package faults does).
func WithS3Faults(f FaultFunc) S3Option { return func(c *s3Config) { c.faults = f } }

// WithKMSFaults makes every request the KMS serves over HTTP ask f first.
// Calls to its methods in-process are not affected.
func WithKMSFaults(f FaultFunc) KMSOption { return func(c *kmsConfig) { c.faults = f } }

// S3Error returns the error S3 answers with code: an API error with the
// code and message, that also reports (HTTPStatusCode) the status S3
// sends with the code, so that aws-sdk-go-v2's retry classification sees
// it as it would the service's answer.
func S3Error(code, message string) error {
	status := s3Status(code)
	return &statusError{err: &smithy.GenericAPIError{Code: code, Message: message, Fault: faultOf(status)}, status: status}
}

// KMSError is S3Error for KMS.
func KMSError(code, message string) error {
	fault := smithy.FaultClient
	if kmsServerCode(code) {
		fault = smithy.FaultServer
	}
	err := &smithy.GenericAPIError{Code: code, Message: message, Fault: fault}
	return &statusError{err: err, status: kmsStatus(err)}
}

// statusError is an API error with the HTTP status it came with, in the
// shape aws-sdk-go-v2's response errors have: HTTPStatusCode and Unwrap.
type statusError struct {
	err    error
	status int
}

func (e *statusError) Error() string       { return e.err.Error() }
func (e *statusError) Unwrap() error       { return e.err }
func (e *statusError) HTTPStatusCode() int { return e.status }

// faultOf is who is to blame for a status: the server for 5xx.
func faultOf(status int) smithy.ErrorFault {
	if status >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// s3Status is the HTTP status S3 answers an error code with
// (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html);
// codes it does not list get 400.
func s3Status(code string) int {
	switch code {
	case "NoSuchBucket", "NoSuchKey", "NoSuchUpload", "NoSuchVersion", "NotFound":
		return http.StatusNotFound
	case "BucketAlreadyExists", "BucketAlreadyOwnedByYou", "BucketNotEmpty", "OperationAborted":
		return http.StatusConflict
	case "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch",
		"RequestTimeTooSkewed", "InvalidObjectState":
		return http.StatusForbidden
	case "MethodNotAllowed":
		return http.StatusMethodNotAllowed
	case "MissingContentLength":
		return http.StatusLengthRequired
	case "NotModified":
		return http.StatusNotModified
	case "PreconditionFailed":
		return http.StatusPreconditionFailed
	case "InvalidRange":
		return http.StatusRequestedRangeNotSatisfiable
	case "InternalError":
		return http.StatusInternalServerError
	case "NotImplemented":
		return http.StatusNotImplemented
	case "ServiceUnavailable", "SlowDown":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// kmsServerCode reports whether KMS blames itself for an error code:
// those are sent as 500 (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html
// and each operation's Errors section).
func kmsServerCode(code string) bool {
	switch code {
	case "KMSInternalException", "DependencyTimeoutException", "KeyUnavailableException",
		"InternalFailure", "ServiceUnavailable":
		return true
	}
	return false
}

// kmsStatus is the HTTP status KMS answers an API error with: 412 for a
// dry run, 500 for its own faults, 400 for the rest.
func kmsStatus(ae smithy.APIError) int {
	switch {
	case ae.ErrorCode() == "DryRunOperationException":
		return http.StatusPreconditionFailed
	case ae.ErrorCode() == "ServiceUnavailable":
		return http.StatusServiceUnavailable
	case ae.ErrorFault() == smithy.FaultServer || kmsServerCode(ae.ErrorCode()):
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// httpStatus is the status an error already carries, if any.
func httpStatus(err error) (int, bool) {
	var hs interface{ HTTPStatusCode() int }
	if errors.As(err, &hs) && hs.HTTPStatusCode() != 0 {
		return hs.HTTPStatusCode(), true
	}
	return 0, false
}
