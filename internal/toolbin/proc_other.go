//go:build !linux

package toolbin

import "syscall"

// DieWithParent has no portable equivalent outside Linux; servers there rely
// on their starter's cleanups alone.
func DieWithParent() *syscall.SysProcAttr { return nil }
