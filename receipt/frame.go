package receipt

import "fmt"

// Room a Frame should leave around the message: SES's headers take about
// 1.5 KB, and the GCM tag 16 bytes.
const (
	FrameHeadroom = 4096
	FrameTailroom = 16
)

// copyHeadroom is the free room left before a rule's content when it is a
// copy, for the headers of AddHeaderActions.
const copyHeadroom = 512

// A Frame owns the buffer that a message is stored from: free room, the
// content, and spare capacity after it. SES's headers are prepended in
// the room before the content, AddHeaderAction's headers go in it too,
// and the last action that reads the content encrypts it where it lies,
// the GCM tag going in the spare capacity (FrameTailroom). So a large
// message is written once, by the SMTP server, and never copied.
//
// Content may be read (Bytes, Header) until it is consumed (Consume), once,
// by the action that overwrites it. After that every method but Consumed
// panics: a use after Consume would read ciphertext as mail or encrypt it
// twice, and that is a bug to find in a test, never to store.
//
// A Frame is not safe for concurrent use.
type Frame struct {
	buf      []byte // buf[off:] is the content; buf[:off] and buf[len:cap] are free
	off      int
	hdr      int // the content's header block is content[:hdr]; -1 until known
	consumed bool
}

// NewFrame returns a frame whose content is buf[headroom:], with
// buf[:headroom] and buf's spare capacity as free room.
func NewFrame(buf []byte, headroom int) *Frame {
	return &Frame{buf: buf, off: headroom, hdr: -1}
}

func (f *Frame) check(op string) {
	if f.consumed {
		panic(fmt.Sprintf("receipt: Frame.%s after Consume: the content has been overwritten", op))
	}
}

// Bytes returns the content. Its capacity ends with it, so appending to it
// never writes in the frame's spare room. It panics after Consume.
func (f *Frame) Bytes() []byte {
	f.check("Bytes")
	return f.buf[f.off:len(f.buf):len(f.buf)]
}

// Header returns the content's header block (each line with its line
// ending), up to the blank line. It panics after Consume.
func (f *Frame) Header() []byte {
	f.check("Header")
	if f.hdr < 0 {
		f.hdr = HeaderEnd(f.buf[f.off:])
	}
	return f.buf[f.off : f.off+f.hdr : f.off+f.hdr]
}

// Consume hands the content over to be overwritten: it returns the content
// and dst, an empty slice at the same place with all the frame's spare
// capacity, for an in-place cipher.AEAD.Seal(dst, iv, content, nil). It
// panics when called twice; after it, Bytes and Header panic too.
func (f *Frame) Consume() (content, dst []byte) {
	f.check("Consume")
	f.consumed = true
	return f.buf[f.off:len(f.buf):len(f.buf)], f.buf[f.off:f.off]
}

// Room returns the free room before the content and after it.
func (f *Frame) Room() (before, after int) {
	return f.off, cap(f.buf) - len(f.buf)
}

// Consumed reports whether Consume has been called.
func (f *Frame) Consumed() bool { return f.consumed }

// holds reports whether data is the frame's whole content, with the tag's
// room after it: not so when control headers were stripped into a copy.
func (f *Frame) holds(data []byte) bool {
	c := f.buf[f.off:]
	return !f.consumed && len(data) > 0 && len(c) == len(data) && &c[0] == &data[0] &&
		cap(f.buf)-len(f.buf) >= FrameTailroom
}

// prepend puts b before the content, in the free room, and reports
// whether it fit. b becomes part of the header block.
func (f *Frame) prepend(b []byte, hdr int) bool {
	f.check("prepend")
	if len(b) > f.off {
		return false
	}
	f.off -= len(b)
	copy(f.buf[f.off:], b)
	f.hdr = len(b) + hdr
	return true
}

// insertHeader puts field (with its line ending) at the end of the header
// block, before the blank line. The header block moves into the free room
// before it; when that is too small the content moves to a new buffer
// with room on both sides, so the tag's room is never used up.
func (f *Frame) insertHeader(field []byte) {
	hdr := f.Header()
	n := len(field)
	if n > f.off {
		content := f.buf[f.off:]
		nb := make([]byte, copyHeadroom+n, copyHeadroom+n+len(content)+FrameTailroom)
		f.buf, f.off = append(nb, content...), copyHeadroom+n
	}
	start := f.off - n
	copy(f.buf[start:], hdr)
	copy(f.buf[start+len(hdr):], field)
	f.off, f.hdr = start, len(hdr)+n
}
