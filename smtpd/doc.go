// Package smtpd is the SMTP face of sesinbound: an adapter from
// github.com/emersion/go-smtp to a Receiver (in practice *receipt.Processor).
//
// It speaks SMTP as close to inbound-smtp.<region>.amazonaws.com as go-smtp
// allows (SES's banner and host name, 550 5.1.1 for a recipient no rule
// covers), reads each message and hands it over once DATA ends. Every error
// becomes an SMTP reply in one place, errors.go: 250 only after the Receiver
// has stored the message, 451 for anything the sender should retry, 5xx only
// for permanent refusals, and never internal text. That is also where a
// failure is logged, once.
//
// It knows nothing of S3, KMS or the AWS SDK.
//
// References: RFC 5321 (SMTP), RFC 3463 (enhanced status codes).
package smtpd
