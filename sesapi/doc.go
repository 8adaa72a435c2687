// Package sesapi serves the SES receipt-configuration API over the live
// configuration: SES v1 (API version 2010-12-01, the query protocol: a
// form-encoded POST /, XML replies) for the receipt rule sets, rules, IP
// filters and identities, and the SES v2 REST-JSON identity operations
// under /v2/email/identities. It knows HTTP and SES's shapes, not SMTP:
// every change builds a new receipt.RuleSet and hands it to Config.Apply,
// which swaps it into the pipeline.
//
// Semantics follow AWS where it is known (see the README, "Configure with
// the SES API"): a rule created without After goes to the front, deletes are
// idempotent except for the active set, a clone is not active, SES's limits
// (40 rule sets, 200 rules per set, 10 actions per rule, 100 filters) give
// LimitExceeded, defaults are filled in on the server, and verification
// succeeds at once.
package sesapi
