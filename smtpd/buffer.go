package smtpd

import (
	"io"
	"sync"

	"github.com/sesinbound/sesinbound/receipt"
)

// A frameBuffer is where one message is read, after receipt.FrameHeadroom
// bytes of room for SES's headers and with receipt.FrameTailroom bytes
// spare after it for the GCM tag.
//
// Most messages fit a pooled heap buffer. One that grows past
// regionThreshold moves, once, to a region: an anonymous memory mapping
// as large as the biggest message allowed, whose pages cost memory only
// once written, and are given back to the system when the message is
// done. Growing a heap buffer instead would leave a trail of garbage
// several times the message's size for the collector, and eight 40 MB
// messages in flight would need well over a gigabyte.
type frameBuffer struct {
	pools      *buffers
	heap       *[]byte
	region     []byte
	maxMessage int // the largest message go-smtp lets through
}

const (
	// maxPooledBuffer keeps huge heap buffers out of the pool.
	maxPooledBuffer = 4 << 20
	// regionThreshold is the size past which a message moves to a region.
	regionThreshold = 1 << 20
)

// buffers are a Server's spare message buffers.
type buffers struct {
	// heap recycles heap buffers, so that receiving a message does not
	// allocate (and zero) a fresh one each time.
	heap sync.Pool
	// regions are the released regions. Regions are never unmapped. A
	// request body may still be read by an HTTP transport's writer after
	// the response has come (a backend that answers before it has read the
	// upload), and reading an unmapped page would crash the process;
	// reading a released one gives zeros. So released regions are kept for
	// the next large message: there are never more of them than large
	// messages once in flight at the same time.
	regions regionList
}

// regionList is a free list of regions.
type regionList struct {
	mu   sync.Mutex
	free [][]byte
}

// take removes and returns a free region of size bytes, or nil.
func (l *regionList) take(size int) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, r := range l.free {
		if len(r) == size {
			l.free = append(l.free[:i], l.free[i+1:]...)
			return r
		}
	}
	return nil
}

func (l *regionList) put(r []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.free = append(l.free, r)
}

func (p *buffers) newFrameBuffer(maxMessage int64) frameBuffer {
	heap, _ := p.heap.Get().(*[]byte)
	if heap == nil {
		b := make([]byte, 0, 32<<10)
		heap = &b
	}
	return frameBuffer{pools: p, heap: heap, maxMessage: int(maxMessage)}
}

// reserve is a region's size: the headroom, the largest message, the tag's
// room, and one free byte for the read that sees EOF.
func (b *frameBuffer) reserve() int {
	return receipt.FrameHeadroom + b.maxMessage + receipt.FrameTailroom + 1
}

// read reads a whole DATA section into the frame and returns it: the
// headroom, then the message. go-smtp's reader enforces the size limit and
// returns smtp.ErrDataTooLarge past it. When the client declared a SIZE,
// room for that much is made at once.
func (b *frameBuffer) read(r io.Reader, sizeHint int64) ([]byte, error) {
	buf := (*b.heap)[:receipt.FrameHeadroom]
	if sizeHint > 0 {
		// +1 so the final Read that sees EOF does not grow it.
		buf = b.grow(buf, len(buf)+int(min(sizeHint, int64(b.maxMessage)))+receipt.FrameTailroom+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = b.grow(buf, cap(buf)+1)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// grow returns buf, or a copy of it, with a capacity of at least need.
func (b *frameBuffer) grow(buf []byte, need int) []byte {
	if need <= cap(buf) {
		return buf
	}
	if b.region == nil && need > regionThreshold && need <= b.reserve() {
		if b.region = b.pools.getRegion(b.reserve()); b.region != nil {
			return append(b.region[:0], buf...)
		}
	}
	nb := make([]byte, len(buf), max(need, 2*cap(buf)))
	copy(nb, buf)
	return nb
}

// release gives the memory back once the message is done with.
func (b *frameBuffer) release(frame []byte) {
	if b.region != nil {
		// The frame is the region, or outgrew it: either way the pooled
		// heap buffer is as it was.
		b.pools.putRegion(b.region)
		b.region = nil
	} else if cap(frame) <= maxPooledBuffer {
		*b.heap = frame[:0]
	}
	if cap(*b.heap) <= maxPooledBuffer {
		b.pools.heap.Put(b.heap)
	}
	b.heap = nil
}
