// Package sesinboundtest runs sesinbound for tests: [Start] runs the whole
// emulator (SMTP, the embedded S3 and KMS, the rules, the record) inside
// the test's process on free loopback ports, and [Connect] gives the same
// API against a sesinbound already running (a container, a CI service,
// another process).
//
// A test sends mail over real SMTP ([Client.Send], or any client at
// [Client.SMTPAddr]), waits on the server's long poll until the message is
// processed ([Client.WaitFor]: every rule and action run, every event
// emitted, the SMTP reply known), then asserts on the record ([Message])
// and the stored objects, read back through the official S3 Encryption
// Client ([Message.Decrypted]). [Client.AWSConfig] gives the code under
// test an aws.Config for the same S3, KMS and endpoint.
//
// Several servers may run in one process, in parallel tests: nothing is
// shared between them and the package keeps no state of its own. The
// sub-package container runs the sesinbound image through testcontainers-go
// with the same [Client].
//
// It does not mock anything: mail goes through the real SMTP server, the
// real pipeline and the real S3 and KMS wire protocols.
package sesinboundtest
