// Package toolbin builds the real servers the tests and the benchmark run
// (local-kms, versitygw, MinIO, Mailpit) from the Go module proxy, and keeps
// the binaries between runs.
//
// Each tool is pinned by its own module, e2e/tools/<name>, holding a single
// tool directive: one module per tool, because a shared module would unify
// their dependencies and MinIO would no longer compile.
//
// It only builds and finds binaries; starting, waiting for and stopping the
// servers is the callers' (e2e and bench) business. Nothing in the product
// imports it.
package toolbin
