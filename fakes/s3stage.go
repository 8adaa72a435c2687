package fakes

import (
	"crypto/md5"
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
//
// The flusher also computes the ETag (the MD5) of every object put without
// one, the pipeline's own in-process puts, once it has written the chunk
// holding its body (or, for a body written directly, from the file), and
// stores it in the index entry: off the put's path, yet before a listing
// would have to read the body back for it. A listing that finds an entry
// still without its ETag computes it as before (s3Object.etag).

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
	direct  []s3Hash   // bodies written directly whose ETag is still to compute
	// spares are written chunks' buffers, kept for the next chunks, at
	// most s3Spares of them: they survive garbage collections, as a
	// sync.Pool's would not (under load a cycle came every second, and
	// each one sent the next chunks back to the allocator, 1.3 MB each).
	spares [][]byte

	// index is where the flusher gives entries their ETag, under lock
	// (S3.mu).
	lock  sync.Locker
	index *s3Index
}

// s3Hash is an object whose ETag the flusher computes: the body of entry
// is bytes [at, at+size) of seg.
type s3Hash struct {
	entry    *s3Entry
	seg      *s3Segment
	at, size int64
}

// s3Chunk is a run of records for bytes [at, at+len(buf)) of seg.
type s3Chunk struct {
	seg    *s3Segment
	at     int64
	buf    []byte
	hashes []s3Hash // objects in buf whose ETag is still to compute
}

func newS3Stage(lock sync.Locker, index *s3Index) *s3Stage {
	st := &s3Stage{lock: lock, index: index}
	st.cond = sync.NewCond(&st.mu)
	return st
}

// s3ChunkCap is a chunk buffer's capacity: a chunk is handed over once it
// passes s3ChunkSize, so it holds at most one more record.
const s3ChunkCap = s3ChunkSize + s3StageMaxBody + 64<<10

// s3Spares is how many written chunks' buffers a stage keeps: a put can
// fill one while one is written and one more waits.
const s3Spares = 3

// stageRecord appends one record for seg at offset at, written by fill into
// the chunk, and returns its length. fill returns the entry the record
// publishes, if any: the flusher gives it its ETag if it has none yet. The
// caller holds the log's wmu, so records come in offset order.
func (st *s3Stage) stageRecord(seg *s3Segment, at int64, fill func(w io.Writer) (*s3Entry, error)) (int64, error) {
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
		var buf []byte
		if n := len(st.spares); n > 0 {
			buf, st.spares = st.spares[n-1], st.spares[:n-1]
		} else {
			buf = make([]byte, 0, s3ChunkCap)
		}
		st.cur = &s3Chunk{seg: seg, at: at, buf: buf[:0]}
	}
	c := st.cur
	before := len(c.buf)
	e, err := fill((*s3ChunkWriter)(c))
	if err != nil {
		c.buf = c.buf[:before]
		return 0, err
	}
	// e is not published yet: only this goroutine sees it.
	if e != nil && !e.hashed {
		c.hashes = append(c.hashes, s3Hash{entry: e, seg: seg, at: e.bodyAt(), size: e.size})
	}
	n := len(c.buf) - before
	st.waiting += n
	st.start()
	return int64(n), nil
}

// hashDirect has the flusher compute the ETag of e, whose body was written
// directly into seg, if it has none yet. e is not published yet.
func (st *s3Stage) hashDirect(e *s3Entry, seg *s3Segment) {
	if e == nil || e.hashed || !seg.acquire() {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.direct = append(st.direct, s3Hash{entry: e, seg: seg, at: e.bodyAt(), size: e.size})
	st.start()
}

// start starts a flusher unless one runs; the caller holds mu.
func (st *s3Stage) start() {
	if !st.running {
		st.running = true
		go st.flush()
	}
}

// hash computes the ETags of hs, from buf (bytes from at on of their
// segment) or, when buf is nil, from the segment, and stores them in the
// entries still without one. The caller holds neither mu nor the index's
// lock.
func (st *s3Stage) hash(hs []s3Hash, buf []byte, at int64) {
	if len(hs) == 0 {
		return
	}
	sums := make([][16]byte, len(hs))
	ok := make([]bool, len(hs))
	for i, h := range hs {
		if buf != nil {
			sums[i], ok[i] = md5.Sum(buf[h.at-at:h.at-at+h.size]), true
			continue
		}
		d := md5.New()
		bp := s3CopyBuffers.Get().(*[]byte)
		if _, err := io.CopyBuffer(d, io.NewSectionReader(h.seg, h.at, h.size), *bp); err == nil {
			d.Sum(sums[i][:0])
			ok[i] = true
		}
		s3CopyBuffers.Put(bp)
	}
	st.lock.Lock()
	for i, h := range hs {
		if !ok[i] {
			continue
		}
		// The entry may be published already, or not yet: the index then
		// takes the digest from the entry.
		if !h.entry.hashed {
			h.entry.md5, h.entry.hashed = sums[i], true
		}
		st.index.SetDigest(h.entry.key, h.seg, h.entry.at, sums[i], 0)
	}
	st.lock.Unlock()
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
		if len(st.queue) == 0 && len(st.direct) > 0 {
			direct := st.direct
			st.direct = nil
			st.mu.Unlock()
			st.hash(direct, nil, 0)
			for _, h := range direct {
				h.seg.release()
			}
			st.mu.Lock()
			continue
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
		st.hash(c.hashes, c.buf, c.at)
		st.mu.Lock()
		st.queue = st.queue[1:]
		st.waiting -= len(c.buf)
		if err != nil {
			if st.err == nil {
				st.err = err
			}
			st.failed = append(st.failed, c)
		} else {
			if len(st.spares) < s3Spares && cap(c.buf) == s3ChunkCap {
				st.spares = append(st.spares, c.buf[:0])
			}
			c.buf, c.hashes = nil, nil
		}
		st.cond.Broadcast()
	}
}

// drain waits until everything staged is written (or has failed to be).
func (st *s3Stage) drain() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.handOver()
	if len(st.queue) > 0 || len(st.direct) > 0 {
		st.start()
	}
	for st.running || len(st.queue) > 0 || len(st.direct) > 0 {
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
