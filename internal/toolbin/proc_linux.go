package toolbin

import "syscall"

// DieWithParent asks the kernel to SIGKILL a server when the process that
// started it dies without cleaning up (go test -timeout, a crash, SIGKILL),
// so that no server outlives its test or benchmark.
func DieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
