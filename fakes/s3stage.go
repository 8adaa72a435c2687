package fakes

import (
	"io"
	"sync"
)

// In memory mode a put does not wait for the write into the temporary
// file: its record is appended to a staging chunk in memory, and a flusher
// goroutine writes chunks out, each as one write, while later puts fill
// the next. A write into the page cache can stall (the kernel throttles
// writers of dirty pages, and every write updates the file's times through
// the filesystem's journal, which another process's fsync can hold); a
// staged put does not stall with it. Staging is bounded: past
// s3StageLimit bytes waiting, puts wait for the flusher. Until a chunk is
// written, reads of its records are served from it.

const (
	// s3ChunkSize is when a staging chunk is handed to the flusher.
	s3ChunkSize = 1 << 20
	// s3StageLimit bounds the bytes staged and not yet written.
	s3StageLimit = 8 << 20
	// s3StageMaxBody is the largest body staged; larger ones are written
	// directly.
	s3StageMaxBody = 256 << 10
)

// s3Stage is a memory-mode log's staging.
type s3Stage struct {
	mu      sync.Mutex
	cond    *sync.Cond
	cur     *s3Chunk   // being filled
	queue   []*s3Chunk // handed to the flusher, oldest first; queue[0] is being written
	waiting int        // bytes in cur and queue
	running bool       // a flusher runs
	failed  []*s3Chunk // chunks that could not be written: kept, so their records stay readable
	err     error      // the first write error; puts fail from then on
}

// s3Chunk is a run of records for bytes [at, at+len(buf)) of seg.
type s3Chunk struct {
	seg *s3Segment
	at  int64
	buf []byte
}

func newS3Stage() *s3Stage {
	st := &s3Stage{}
	st.cond = sync.NewCond(&st.mu)
	return st
}

// s3ChunkBuffers recycles chunk buffers.
var s3ChunkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, s3ChunkSize+s3StageMaxBody+64<<10); return &b }}

// stageRecord appends one record for seg at offset at, written by fill into
// the chunk, and returns its length. The caller holds the log's wmu, so
// records come in offset order.
func (st *s3Stage) stageRecord(seg *s3Segment, at int64, fill func(w io.Writer) error) (int64, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.err != nil {
		return 0, st.err
	}
	for st.waiting > s3StageLimit {
		st.cond.Wait()
	}
	if c := st.cur; c != nil && (c.seg != seg || c.at+int64(len(c.buf)) != at || len(c.buf) >= s3ChunkSize) {
		st.handOver()
	}
	if st.cur == nil {
		bp := s3ChunkBuffers.Get().(*[]byte)
		st.cur = &s3Chunk{seg: seg, at: at, buf: (*bp)[:0]}
	}
	c := st.cur
	before := len(c.buf)
	if err := fill((*s3ChunkWriter)(c)); err != nil {
		c.buf = c.buf[:before]
		return 0, err
	}
	n := len(c.buf) - before
	st.waiting += n
	if !st.running {
		st.running = true
		go st.flush()
	}
	return int64(n), nil
}

// s3ChunkWriter appends to a chunk.
type s3ChunkWriter s3Chunk

func (w *s3ChunkWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// handOver queues the chunk being filled; the caller holds mu.
func (st *s3Stage) handOver() {
	if st.cur != nil && len(st.cur.buf) > 0 {
		st.queue = append(st.queue, st.cur)
	}
	st.cur = nil
}

// flush writes chunks until there is nothing staged; the one being filled
// is taken whenever the queue is empty, so chunks grow while one is
// written.
func (st *s3Stage) flush() {
	st.mu.Lock()
	for {
		if len(st.queue) == 0 {
			st.handOver()
		}
		if len(st.queue) == 0 {
			st.running = false
			st.cond.Broadcast()
			st.mu.Unlock()
			return
		}
		c := st.queue[0]
		st.mu.Unlock()
		_, err := c.seg.f.WriteAt(c.buf, c.at)
		st.mu.Lock()
		st.queue = st.queue[1:]
		st.waiting -= len(c.buf)
		if err != nil {
			if st.err == nil {
				st.err = err
			}
			st.failed = append(st.failed, c)
		} else {
			buf := c.buf[:0]
			s3ChunkBuffers.Put(&buf)
		}
		st.cond.Broadcast()
	}
}

// drain waits until everything staged is written (or has failed to be).
func (st *s3Stage) drain() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.handOver()
	if len(st.queue) > 0 && !st.running {
		st.running = true
		go st.flush()
	}
	for st.running || len(st.queue) > 0 {
		st.cond.Wait()
	}
}

// readAt copies what of [off, off+len(p)) of seg is staged, from its start,
// and reports how much; 0 when off is not staged.
func (st *s3Stage) readAt(seg *s3Segment, p []byte, off int64) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	find := func(cs []*s3Chunk) int {
		for _, c := range cs {
			if c.seg == seg && c.at <= off && off < c.at+int64(len(c.buf)) {
				return copy(p, c.buf[off-c.at:])
			}
		}
		return 0
	}
	if st.cur != nil {
		if n := find([]*s3Chunk{st.cur}); n > 0 {
			return n
		}
	}
	if n := find(st.queue); n > 0 {
		return n
	}
	return find(st.failed)
}

// ReadAt reads the segment's bytes, staged or written: a segment is what
// readers read through.
func (g *s3Segment) ReadAt(p []byte, off int64) (int, error) {
	if g.stage != nil {
		if n := g.stage.readAt(g, p, off); n > 0 {
			if n == len(p) {
				return n, nil
			}
			m, err := g.ReadAt(p[n:], off+int64(n))
			return n + m, err
		}
	}
	return g.f.ReadAt(p, off)
}
