package receipt

import "errors"

// The kinds of failure smtpd turns into replies. Anything else that Deliver
// returns is temporary: the sender should try again later.
var (
	// ErrNoMatchingRule: no enabled rule covers the recipient (550 5.1.1).
	ErrNoMatchingRule = errors.New("no enabled receipt rule matches the recipient")
	// ErrTLSRequired: a rule covering the recipient has TlsPolicy Require
	// and the client did not start TLS.
	ErrTLSRequired = errors.New("the receipt rule requires TLS")
	// ErrBlocked: an IP address filter blocks the client.
	ErrBlocked = errors.New("blocked by an IP address filter")
	// ErrRejected: the message is refused for good (5xx).
	ErrRejected = errors.New("message rejected")
)
