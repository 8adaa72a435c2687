package fakes

import (
	"os"
	"syscall"
)

// datasync makes what was written to f durable: its data, and the size
// that finds it, without the timestamps fsync would also write.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
