// Package e2e holds end-to-end tests only: they build the sesinbound binary,
// run it on random loopback ports, send mail to it with go-smtp's client as
// an MTA would, read the stored objects back over HTTP with the AWS SDKs, and
// decrypt them with the official S3 Encryption Clients.
//
// Everything here runs under plain `go test ./...` without Docker.
package e2e
