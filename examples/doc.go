// Package examples holds runnable examples of using sesinbound from other
// languages, and the Go tests that run them against an in-process server.
package examples
