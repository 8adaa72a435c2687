// Package receipt is the SES receiving pipeline: receipt rule sets (loaded
// from a file in the SES API's own shape and validated against SES's limits),
// recipient matching, message IDs, the trace headers SES prepends, and
// Processor, the one place that runs a received message through the rules
// and their actions in order.
//
// Each action kind (S3Action, SNSAction, ...) implements one unexported
// interface: its defaults, its validation, whether it reads the message,
// the resources it names and what it does. Validation reports structured
// Problems whose kind is the SES API's error code, so the rules file and an
// API share it. A Frame owns the buffer a message is stored from, so that
// SES's headers are prepended and the message encrypted where it lies.
//
// It talks to S3 through ObjectStore and to KMS through *encrypt.Sealer,
// both satisfied by the aws-sdk-go-v2 clients and by package fakes. It knows
// nothing of SMTP: package smtpd turns its errors into replies.
//
// References:
//   - https://docs.aws.amazon.com/ses/latest/dg/receiving-email-concepts.html
//   - https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html
package receipt
