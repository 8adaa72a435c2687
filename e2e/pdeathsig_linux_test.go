package e2e

import "syscall"

// dieWithParent asks the kernel to SIGKILL the server when the test binary
// dies without running its cleanups (go test -timeout, a crash, SIGKILL), so
// no server outlives its test.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
