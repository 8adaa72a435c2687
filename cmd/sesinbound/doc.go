// Command sesinbound emulates Amazon SES email receiving on a laptop or in
// CI: it accepts mail over SMTP, runs it through SES receipt rules, encrypts
// it with a KMS data key exactly as SES does, and stores it in S3.
//
// Usage:
//
//	sesinbound [serve] [flags]         run the emulator (the default)
//	sesinbound decrypt s3://BUCKET/KEY print a stored message, decrypted
//	sesinbound version                 print the version
//
// Run "sesinbound --help" for the flags and their environment variables.
//
// By default S3 and KMS are embedded and served, with the emulator's own
// /_sesinbound/ paths, on one HTTP endpoint (127.0.0.1:4566).
package main
