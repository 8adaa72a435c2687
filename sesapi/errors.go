package sesapi

import (
	"fmt"
	"net/http"
)

// SES v1 error codes, as they are on the wire: no Exception suffix.
const (
	CodeAlreadyExists          = "AlreadyExists"
	CodeRuleSetDoesNotExist    = "RuleSetDoesNotExist"
	CodeRuleDoesNotExist       = "RuleDoesNotExist"
	CodeCannotDelete           = "CannotDelete"
	CodeInvalidS3Configuration = "InvalidS3Configuration"
	CodeInvalidSnsTopic        = "InvalidSnsTopic"
	CodeInvalidLambdaFunction  = "InvalidLambdaFunction"
	CodeLimitExceeded          = "LimitExceeded"
	CodeValidationError        = "ValidationError"
	CodeInvalidParameterValue  = "InvalidParameterValue"
	CodeMalformedInput         = "MalformedInput"
	CodeInvalidAction          = "InvalidAction"
	CodeMissingAction          = "MissingAction"
	CodeSignatureDoesNotMatch  = "SignatureDoesNotMatch"
	CodeInternalFailure        = "InternalFailure"
)

// Error is an SES error reply. Member names the exception's modeled member
// (Name, Bucket, Topic or FunctionArn) and Value its value.
type Error struct {
	Status  int
	Code    string
	Message string
	Member  string
	Value   string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

func withMember(e *Error, member, value string) *Error {
	e.Member, e.Value = member, value
	return e
}

func errAlreadyExists(kind, name string) *Error {
	return withMember(errorf(CodeAlreadyExists, "%s already exists: %s", kind, name), "Name", name)
}

func errNoRuleSet(name string) *Error {
	return withMember(errorf(CodeRuleSetDoesNotExist, "Rule set does not exist: %s", name), "Name", name)
}

func errNoRule(name string) *Error {
	return withMember(errorf(CodeRuleDoesNotExist, "Rule does not exist: %s", name), "Name", name)
}

func errRequired(member string) *Error {
	return errorf(CodeValidationError, "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}
