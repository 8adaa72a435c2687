// Package emulator assembles a whole sesinbound from a Config: the embedded
// or external S3 and KMS, the rules, the pipeline, the record, the SMTP
// listener and the AWS endpoint. cmd/sesinbound parses flags into a Config
// and calls Start; tests (and the sesinboundtest package) do the same in
// their own process.
package emulator
