package smtpd

import "syscall"

// getRegion returns a mapping of size bytes, or nil if none can be had.
func (p *buffers) getRegion(size int) []byte {
	if r := p.regions.take(size); r != nil {
		return r
	}
	r, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	return r
}

// putRegion gives a region's pages back to the system and keeps the
// mapping for reuse.
func (p *buffers) putRegion(r []byte) {
	syscall.Madvise(r, syscall.MADV_DONTNEED)
	p.regions.put(r)
}
