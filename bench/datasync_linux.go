package main

import (
	"os"
	"syscall"
)

// datasync makes what was written to f durable, as sesinbound's log does.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
