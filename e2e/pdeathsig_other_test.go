//go:build !linux

package e2e

import "syscall"

// dieWithParent has no portable equivalent outside Linux; servers there rely
// on the tests' cleanups alone.
func dieWithParent() *syscall.SysProcAttr { return nil }
