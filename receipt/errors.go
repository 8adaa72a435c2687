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
)

// SES never refuses a message for good once its recipients are accepted:
// it stores it or asks the sender to try again. So there is no permanent
// kind for Deliver's errors.
