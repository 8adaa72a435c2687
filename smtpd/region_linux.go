package smtpd

import "syscall"

// getRegion returns a mapping of size bytes, or nil if none can be had.
func getRegion(size int) []byte {
	regions.Lock()
	for i, r := range regions.free {
		if len(r) == size {
			regions.free = append(regions.free[:i], regions.free[i+1:]...)
			regions.Unlock()
			return r
		}
	}
	regions.Unlock()
	r, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	return r
}

// putRegion gives a region's pages back to the system and keeps the
// mapping for reuse.
func putRegion(r []byte) {
	syscall.Madvise(r, syscall.MADV_DONTNEED)
	regions.Lock()
	regions.free = append(regions.free, r)
	regions.Unlock()
}
