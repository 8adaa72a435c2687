// Package backend connects sesinbound to the S3 and KMS it writes to, and
// makes sure what the rules name exists there.
//
// Config builds aws-sdk-go-v2 configuration the standard way (environment,
// shared profiles, AWS_ENDPOINT_URL and friends) with the adjustments local
// endpoints need: path-style S3, and placeholder credentials when none are
// configured, since emulators accept any. Bootstrap creates the buckets, KMS
// keys and aliases a rule set names, or reports them missing.
//
// It does not run rules or touch mail; that is package receipt.
package backend
