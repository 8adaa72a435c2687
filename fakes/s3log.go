package fakes

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesinbound/sesinbound/internal/groupcommit"
)

// Every bucket keeps its objects in an append-only log of numbered segment
// files. With a data directory the segments are seg-00000001.log, ... in
// the bucket's directory, next to bucket.json, and they are the bucket's
// durable state. In memory mode they are temporary files, unlinked as soon
// as they are created, so that the kernel reclaims them when the process
// ends however it ends; their pages live in the page cache, not in the
// process's memory, and are never synced. Only the index of the objects
// (s3index.go), which holds no pointer per object, is kept in memory.
// Every put appends one record (and with a data directory every delete
// too):
//
//	offset 0   "SESR"                       magic
//	offset 4   uint8                        format version, 1
//	offset 5   uint8                        kind: 1 put, 2 delete, 3 reset
//	offset 6   uint32, big-endian           m, the length of the metadata
//	offset 10  uint64, big-endian           n, the length of the body
//	offset 18  uint32, big-endian           CRC-32C of bytes 0-17 and the metadata
//	offset 22  m bytes                      s3Meta as JSON
//	offset 22+m  n bytes                    the body
//	then       uint32, big-endian           CRC-32C of the body
//
// The metadata is JSON so that a new attribute of an object (a checksum, a
// tag set) is one more field of s3Meta: older records simply lack it.
//
// With a data directory one goroutine per bucket appends the records
// waiting, calls fdatasync once for all of them, applies them to the index
// in log order and only then acknowledges them: a put returns only once its
// object is on disk, and concurrent puts share one sync. In memory mode a
// put appends its record and publishes it at once.
//
// A crash can only tear records after the last completed sync, that is at
// the end of the last segment, and none of them was acknowledged; loading
// stops at the first bad record there and truncates the segment. Segments
// before the last were synced whole before the next one began, so only
// their headers are checked.
//
// Space is reclaimed by compaction: once the log holds more than twice
// what is live (plus one segment's worth), the live records are copied, in
// key order, into a new segment that begins with a reset record; it is
// written aside, synced and renamed into place after every other segment,
// and only then are the older segments removed. A reset record tells
// loading to forget everything before it, so a crash at any step leaves
// either the old segments, whole, or the new one, whole: never a torn
// state. Reset is the same with nothing live.

const (
	s3RecordMagic   = "SESR"
	s3RecordVersion = 1
	s3RecordPut     = 1
	s3RecordDelete  = 2
	// s3RecordReset empties the bucket: the index is cleared when it is
	// replayed. It is only ever the first record of a segment that
	// replaces every segment before it.
	s3RecordReset   = 3
	s3RecordHeader  = 22
	s3SegmentPrefix = "seg-"
	s3SegmentSuffix = ".log"
	// s3SegmentSize is when a segment is closed and the next begun.
	s3SegmentSize = 64 << 20
	// s3CompactSlack is how much garbage beyond the live bytes the log
	// may hold before it is compacted.
	s3CompactSlack = s3SegmentSize
	// s3SpoolInMemory is how much of a body a put holds in memory before
	// spooling the rest to a temporary file.
	s3SpoolInMemory = 4 << 20
	s3BucketRecord  = "bucket.json"
	// s3MetaPeek is how much is read after a record's header in one go
	// when the index is rebuilt: most metadata fits.
	s3MetaPeek = 2 << 10
)

var s3CRC = crc32.MakeTable(crc32.Castagnoli)

// s3Entry is an object in a bucket's index, as the index hands it out
// (see s3index.go): where its record is and what a listing shows, nothing
// more (the rest of its metadata is read from the record when it is
// opened).
type s3Entry struct {
	key string
	seg *s3Segment
	s3Loc
	hashed bool // false while the ETag is to be computed on first use
}

// recordSize is the length of the entry's record.
func (e *s3Loc) recordSize() int64 {
	return s3RecordHeader + int64(e.metaLen) + e.size + 4
}

func (e *s3Loc) bodyAt() int64 { return e.at + s3RecordHeader + int64(e.metaLen) }

// etag is the ETag, or "" when it is still to be computed.
func (e *s3Entry) etag() string {
	if !e.hashed {
		return ""
	}
	if e.parts > 0 {
		return `"` + hex.EncodeToString(e.md5[:]) + "-" + strconv.FormatUint(uint64(e.parts), 10) + `"`
	}
	return `"` + hex.EncodeToString(e.md5[:]) + `"`
}

// setETag stores a quoted ETag, "hex" or "hex-N"; one of any other shape
// is left to be computed.
func (e *s3Entry) setETag(etag string) {
	if sum, parts, ok := s3ParseETag(etag); ok {
		e.md5, e.parts, e.hashed = sum, parts, true
	}
}

// s3ParseETag reads a quoted ETag, "hex" or "hex-N", as its digest and
// part count (0 for "hex"); it fails on any other shape.
func s3ParseETag(etag string) ([16]byte, uint32, bool) {
	var sum [16]byte
	v := strings.Trim(etag, `"`)
	digits, parts, multi := strings.Cut(v, "-")
	n := uint64(0)
	if multi {
		var err error
		if n, err = strconv.ParseUint(parts, 10, 32); err != nil || n == 0 {
			return sum, 0, false
		}
	}
	if len(digits) != 32 {
		return sum, 0, false
	}
	if _, err := hex.Decode(sum[:], []byte(digits)); err != nil {
		return sum, 0, false
	}
	return sum, uint32(n), true
}

// s3Segment is one segment file, open for as long as the log or a reader
// uses it: the log holds one reference from its creation until compaction
// retires it, and each open object one more.
type s3Segment struct {
	num  int
	path string // "" once unlinked (always, in memory mode)
	f    *os.File
	refs atomic.Int64
	size int64 // bytes written; touched by the log's writer only

	stage *s3Stage // in memory mode, where records wait to be written
}

// acquire takes a reference, and fails once the segment is closed.
func (g *s3Segment) acquire() bool {
	for {
		n := g.refs.Load()
		if n <= 0 {
			return false
		}
		if g.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (g *s3Segment) release() {
	if g.refs.Add(-1) == 0 {
		g.f.Close()
	}
}

// s3Log is one bucket's log.
type s3Log struct {
	dir     string // the bucket's directory, with a data directory
	spill   string // in memory mode, where segment files are created
	durable bool
	s       *S3
	b       *s3Bucket

	// queue shares each fdatasync among the writes waiting for it, with a
	// data directory.
	queue groupcommit.Queue[*s3LogOp]

	// wmu is held by whoever writes: the writer goroutine with a data
	// directory, each put in memory mode, compaction, reset and close.
	wmu    sync.Mutex
	seg    *s3Segment   // the segment appended to; nil between segments
	segNum int          // the number of the last segment
	segs   []*s3Segment // the segments in use, oldest first
	total  int64        // bytes in segs
	w      *bufio.Writer

	live int64 // bytes of the records in the index; guarded by S3.mu

	stage *s3Stage // in memory mode
	// hasher computes in the background the ETags of objects put without
	// one, with a data directory (in memory mode stage does).
	hasher *s3Stage
}

// s3LogOp is a put, a delete or a reset waiting to be appended.
type s3LogOp struct {
	kind  byte
	meta  s3Meta
	body  *s3Spool
	entry *s3Entry // for a put: the object as published
}

// put appends an object and returns its entry once it is durable (with a
// data directory) and in the index.
func (l *s3Log) put(meta s3Meta, body *s3Spool) (*s3Entry, error) {
	op := &s3LogOp{kind: s3RecordPut, meta: meta, body: body}
	if err := l.submit(op); err != nil {
		return nil, err
	}
	return op.entry, nil
}

// delete removes key; with a data directory it appends a tombstone and
// returns once that is durable.
func (l *s3Log) delete(key string) error {
	return l.submit(&s3LogOp{kind: s3RecordDelete, meta: s3Meta{Key: key}})
}

// emptyAll removes every object and gives the space back: see reset.
func (l *s3Log) emptyAll() error {
	return l.submit(&s3LogOp{kind: s3RecordReset})
}

// deleteMany removes keys; with a data directory every tombstone is queued
// at once, so they share a sync.
func (l *s3Log) deleteMany(keys []string) []error {
	errs := make([]error, len(keys))
	if !l.durable {
		for i, k := range keys {
			errs[i] = l.delete(k)
		}
		return errs
	}
	// Queued from as many goroutines, they wait together, so the group
	// commit takes them in one or two batches.
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.queue.Do(&s3LogOp{kind: s3RecordDelete, meta: s3Meta{Key: k}})
		}()
	}
	wg.Wait()
	return errs
}

func (l *s3Log) submit(op *s3LogOp) error {
	if !l.durable {
		// Nothing to sync, so nothing to share: apply at once.
		l.wmu.Lock()
		defer l.wmu.Unlock()
		if op.kind == s3RecordReset {
			return l.reset()
		}
		return l.commit([]*s3LogOp{op})
	}
	return l.queue.Do(op)
}

// commitQueued appends a batch the queue gathered (see groupcommit).
func (l *s3Log) commitQueued(batch []*s3LogOp, errs []error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	// A reset is applied on its own, in its place in the queue.
	for start := 0; start < len(batch); {
		rest := batch[start:]
		i := slices.IndexFunc(rest, func(op *s3LogOp) bool { return op.kind == s3RecordReset })
		var err error
		switch i {
		case 0:
			err, i = l.reset(), 1
		case -1:
			err, i = l.commit(rest), len(rest)
		default:
			err = l.commit(rest[:i])
		}
		for j := range i {
			errs[start+j] = err
		}
		start += i
	}
}

// commit appends a batch, syncs it and applies it to the index; the caller
// holds wmu. On an error the segment is cut back to where the batch began,
// so that no half-written record sits before later ones.
func (l *s3Log) commit(batch []*s3LogOp) error {
	if err := l.openSegment(); err != nil {
		return err
	}
	seg := l.seg
	start := seg.size
	fail := func(err error) error {
		seg.f.Truncate(start)
		seg.f.Seek(start, io.SeekStart)
		seg.size = start
		return err
	}
	if l.durable {
		l.w.Reset(seg.f)
		for _, op := range batch {
			e, err := l.appendRecord(l.w, op, seg)
			if err != nil {
				return fail(err)
			}
			op.entry = e
		}
		if err := l.w.Flush(); err != nil {
			return fail(err)
		}
		// The entries are not published yet, as hashDirect needs.
		for _, op := range batch {
			l.hasher.hashDirect(op.entry, seg)
		}
	} else {
		for _, op := range batch {
			if op.kind == s3RecordDelete {
				continue // nothing to replay in memory mode
			}
			if err := l.stageOrWrite(op, seg); err != nil {
				seg.size = start
				return err
			}
		}
	}
	if l.durable {
		if err := datasync(seg.f); err != nil {
			return fail(err)
		}
	}
	l.total += seg.size - start
	l.s.mu.Lock()
	live := l.s.buckets[l.b.name] == l.b
	for _, op := range batch {
		switch {
		case !live:
		case op.kind == s3RecordPut:
			l.insert(op.entry)
		default:
			l.remove(op.meta.Key)
		}
	}
	compact := l.total > 2*l.live+l.compactSlack()
	l.s.mu.Unlock()
	if !live {
		return s3NoSuchBucket(l.b.name)
	}
	if seg.size >= s3SegmentSize {
		l.seg = nil
	}
	if compact {
		// The batch is acknowledged whatever compaction does: it failing
		// leaves the log as it was, only larger.
		l.compact(false)
	}
	return nil
}

func (l *s3Log) compactSlack() int64 {
	if l.s.cfg.compactSlack > 0 {
		return l.s.cfg.compactSlack
	}
	return s3CompactSlack
}

// insert publishes e, replacing any object with its key; the caller holds
// S3.mu for writing.
func (l *s3Log) insert(e *s3Entry) {
	if old, ok := l.b.index.Put(e); ok {
		l.live -= old.recordSize()
	}
	l.live += e.recordSize()
}

// remove drops key from the index; the caller holds S3.mu for writing.
func (l *s3Log) remove(key string) {
	if old, ok := l.b.index.Delete(key); ok {
		l.live -= old.recordSize()
	}
}

// stageOrWrite appends a memory-mode record: a small one through the
// stage, a large one straight into the file.
func (l *s3Log) stageOrWrite(op *s3LogOp, seg *s3Segment) error {
	at := seg.size
	if op.body != nil && op.body.size > s3StageMaxBody {
		l.w.Reset(&s3OffsetWriter{f: seg.f, off: at})
		e, err := l.appendRecord(l.w, op, seg)
		if err == nil {
			err = l.w.Flush()
		}
		if err != nil {
			return err
		}
		op.entry = e
		l.stage.hashDirect(e, seg)
		return nil
	}
	_, err := l.stage.stageRecord(seg, at, func(w io.Writer) (*s3Entry, error) {
		e, err := l.appendRecord(w, op, seg)
		op.entry = e
		return e, err
	})
	return err
}

// s3OffsetWriter writes to f from off on.
type s3OffsetWriter struct {
	f   *os.File
	off int64
}

func (w *s3OffsetWriter) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	return n, err
}

// appendRecord writes op's record at the end of seg (through w) and returns
// the entry it publishes (nil for a delete or a reset).
func (l *s3Log) appendRecord(w io.Writer, op *s3LogOp, seg *s3Segment) (*s3Entry, error) {
	meta, err := json.Marshal(op.meta)
	if err != nil {
		return nil, err
	}
	var n int64
	if op.body != nil {
		n = op.body.size
	}
	var hdr [s3RecordHeader]byte
	copy(hdr[:], s3RecordMagic)
	hdr[4], hdr[5] = s3RecordVersion, op.kind
	binary.BigEndian.PutUint32(hdr[6:], uint32(len(meta)))
	binary.BigEndian.PutUint64(hdr[10:], uint64(n))
	binary.BigEndian.PutUint32(hdr[18:], crc32.Update(crc32.Checksum(hdr[:18], s3CRC), s3CRC, meta))
	if _, err := w.Write(hdr[:]); err != nil {
		return nil, err
	}
	if _, err := w.Write(meta); err != nil {
		return nil, err
	}
	// In memory mode nothing is ever replayed, so the body's CRC is left
	// at zero rather than computed.
	var sum [4]byte
	if op.body != nil && !l.durable {
		if err := op.body.writeTo(w); err != nil {
			return nil, err
		}
	} else if op.body != nil {
		h := crc32.New(s3CRC)
		if err := op.body.writeTo(io.MultiWriter(w, h)); err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint32(sum[:], h.Sum32())
	} else {
		binary.BigEndian.PutUint32(sum[:], crc32.Checksum(nil, s3CRC))
	}
	if _, err := w.Write(sum[:]); err != nil {
		return nil, err
	}
	at := seg.size
	seg.size += s3RecordHeader + int64(len(meta)) + n + 4
	if op.kind != s3RecordPut {
		return nil, nil
	}
	return s3NewEntry(&op.meta, seg, at, len(meta)), nil
}

func s3NewEntry(m *s3Meta, seg *s3Segment, at int64, metaLen int) *s3Entry {
	e := &s3Entry{key: m.Key, seg: seg, s3Loc: s3Loc{size: m.Size, modified: m.LastModified.UnixMilli(), at: at, metaLen: uint32(metaLen)}}
	e.setETag(m.ETag)
	return e
}

func (l *s3Log) segmentPath(n int) string {
	return filepath.Join(l.dir, fmt.Sprintf("%s%08d%s", s3SegmentPrefix, n, s3SegmentSuffix))
}

// newSegmentFile creates the file of segment n: in the bucket's directory,
// or in memory mode an unlinked temporary file.
func (l *s3Log) newSegmentFile(n int) (*s3Segment, error) {
	if !l.durable {
		f, err := os.CreateTemp(l.spill, "sesinbound-s3-*")
		if err != nil {
			return nil, err
		}
		g := &s3Segment{num: n, f: f, stage: l.stage}
		if os.Remove(f.Name()) != nil {
			g.path = f.Name() // a system that cannot unlink an open file: removed when released
		}
		g.refs.Store(1)
		return g, nil
	}
	path := l.segmentPath(n)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		return nil, err
	}
	g := &s3Segment{num: n, path: path, f: f}
	g.refs.Store(1)
	return g, nil
}

// openSegment starts a new segment when there is none to append to.
func (l *s3Log) openSegment() error {
	if l.w == nil {
		l.w = bufio.NewWriterSize(nil, 64<<10)
	}
	if l.seg != nil {
		return nil
	}
	g, err := l.newSegmentFile(l.segNum + 1)
	if err != nil {
		return err
	}
	l.seg, l.segNum = g, g.num
	l.segs = append(l.segs, g)
	return nil
}

// compact rewrites the live records into one new segment, which replaces
// every segment before it (see the top of this file); the caller holds
// wmu. With reset, nothing is live: the log is emptied.
func (l *s3Log) compact(reset bool) error {
	if l.stage != nil {
		// The old segments are read, then released, whole.
		l.stage.drain()
	}
	if l.hasher != nil {
		// Digests still to compute are of records about to move.
		l.hasher.drain()
	}
	hook := l.s.cfg.compactHook
	if hook == nil {
		hook = func(string) {}
	}
	n := l.segNum + 1
	var f *os.File
	var err error
	if l.durable {
		f, err = os.CreateTemp(l.dir, tempPrefix+"compact-*")
	} else {
		f, err = os.CreateTemp(l.spill, "sesinbound-s3-*")
	}
	if err != nil {
		return err
	}
	tmp := f.Name()
	g := &s3Segment{num: n, f: f, stage: l.stage}
	g.refs.Store(1)
	abandon := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if !l.durable {
		if os.Remove(tmp) != nil {
			g.path = tmp
		}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := l.appendRecord(w, &s3LogOp{kind: s3RecordReset}, g); err != nil {
		return abandon(err)
	}
	resetSize := g.size
	// The index does not change meanwhile: every put and delete of this
	// bucket holds wmu. Records are copied in key order, a page of
	// entries at a time, so that other buckets are not held up.
	type rec struct {
		seg      *s3Segment
		at, size int64
	}
	after := "" // no key is empty
	for !reset {
		var page []rec
		last := ""
		l.s.mu.RLock()
		l.b.index.Ascend(after, func(e *s3Entry) bool {
			if e.key == after {
				return true
			}
			page = append(page, rec{e.seg, e.at, e.recordSize()})
			last = e.key
			return len(page) < 4096
		})
		l.s.mu.RUnlock()
		for _, r := range page {
			if _, err := io.Copy(w, io.NewSectionReader(r.seg, r.at, r.size)); err != nil {
				return abandon(err)
			}
			g.size += r.size
		}
		if len(page) < 4096 {
			break
		}
		after = last
	}
	if err := w.Flush(); err != nil {
		return abandon(err)
	}
	hook("copied")
	if l.durable {
		if err := f.Sync(); err != nil {
			return abandon(err)
		}
		g.path = l.segmentPath(n)
		if err := os.Rename(tmp, g.path); err != nil {
			return abandon(err)
		}
		if err := syncDir(l.dir); err != nil {
			// The rename may or may not be durable, so the old segments
			// stay; the new one, whole either way, goes again.
			os.Remove(g.path)
			return abandon(err)
		}
	}
	hook("renamed")
	// Point the index at the new segment: the same records, in key order.
	l.s.mu.Lock()
	if reset {
		l.b.index.Clear()
		l.live = 0
	}
	l.b.index.Relocate(g, resetSize)
	old := l.segs
	l.segs = []*s3Segment{g}
	l.seg, l.segNum, l.total = g, n, g.size
	l.s.mu.Unlock()
	// Readers holding an old segment keep reading it; its space is freed
	// when the last of them is done.
	var rmErr error
	for _, o := range old {
		if o.path != "" {
			if err := os.Remove(o.path); err != nil {
				rmErr = errors.Join(rmErr, err)
			}
			hook("removed")
		}
		o.release()
	}
	if l.durable {
		rmErr = errors.Join(rmErr, syncDir(l.dir))
	}
	// The writer appends after the copied records.
	if _, err := f.Seek(g.size, io.SeekStart); err != nil {
		l.seg = nil
	}
	return rmErr
}

// reset empties the bucket and gives its space back; the caller holds
// wmu.
func (l *s3Log) reset() error {
	l.s.mu.RLock()
	live := l.s.buckets[l.b.name] == l.b
	l.s.mu.RUnlock()
	if !live {
		return s3NoSuchBucket(l.b.name)
	}
	return l.compact(true)
}

// close releases the log's segments; with a data directory every
// acknowledged record is already synced. Readers still holding a segment
// keep it open until they are done.
func (l *s3Log) close() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.stage != nil {
		l.stage.drain()
	}
	if l.hasher != nil {
		l.hasher.drain()
	}
	for _, g := range l.segs {
		if !l.durable && g.path != "" {
			os.Remove(g.path)
		}
		g.release()
	}
	l.segs, l.seg = nil, nil
	return nil
}

// load replays a bucket's segments into its index, truncating a torn tail
// of the last one. Segments before the last that begins with a reset
// record are what a compaction left behind: they are removed unread.
func (l *s3Log) load() error {
	nums, err := l.segments()
	if err != nil {
		return err
	}
	from := 0
	for i := len(nums) - 1; i > 0; i-- {
		if s3StartsWithReset(l.segmentPath(nums[i])) {
			from = i
			break
		}
	}
	for _, n := range nums[:from] {
		if err := os.Remove(l.segmentPath(n)); err != nil {
			return err
		}
	}
	if from > 0 {
		if err := syncDir(l.dir); err != nil {
			return err
		}
	}
	nums = nums[from:]
	l.w = bufio.NewWriterSize(nil, 64<<10)
	for i, n := range nums {
		g, err := l.replay(n, i == len(nums)-1)
		if err != nil {
			return err
		}
		l.segs = append(l.segs, g)
		l.total += g.size
		l.segNum = n
		if i == len(nums)-1 && g.size < s3SegmentSize {
			if _, err := g.f.Seek(g.size, io.SeekStart); err != nil {
				return err
			}
			l.seg = g
		}
	}
	return nil
}

// s3StartsWithReset reports whether a segment's first record is a reset.
func s3StartsWithReset(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var hdr [s3RecordHeader]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return false
	}
	return string(hdr[:4]) == s3RecordMagic && hdr[5] == s3RecordReset
}

// segments returns the numbers of the bucket's segments, in order.
func (l *s3Log) segments() ([]int, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	var nums []int
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, s3SegmentPrefix) || !strings.HasSuffix(name, s3SegmentSuffix) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, s3SegmentPrefix), s3SegmentSuffix))
		if err != nil {
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums, nil
}

// replay opens segment n and applies its records. In the last segment
// every record is checked whole and the file is cut at the first bad one.
func (l *s3Log) replay(n int, last bool) (*s3Segment, error) {
	path := l.segmentPath(n)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	g := &s3Segment{num: n, path: path, f: f}
	g.refs.Store(1)
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	rd := newS3Reader(f, st.Size())
	var off int64
	for off < st.Size() {
		rec, next, err := rd.next(off, last)
		if err != nil {
			if !last {
				f.Close()
				return nil, fmt.Errorf("damaged segment %s at offset %d: %w", path, off, err)
			}
			// A torn tail: records after the last sync, never acknowledged.
			if err := f.Truncate(off); err != nil {
				f.Close()
				return nil, err
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return nil, err
			}
			break
		}
		switch rec.kind {
		case s3RecordPut:
			l.insert(s3NewEntry(&rec.meta, g, off, rec.metaLen))
		case s3RecordDelete:
			l.remove(rec.meta.Key)
		default:
			l.b.index.Clear()
			l.live = 0
		}
		off = next
	}
	g.size = off
	return g, nil
}

type s3Record struct {
	kind    byte
	meta    s3Meta
	metaLen int
}

// s3Reader reads a segment's records in order through a window, so that
// small records cost one read for many, and a large one a read of its
// head only.
type s3Reader struct {
	f          *os.File
	size       int64 // of the segment
	buf        []byte
	winOff     int64 // where buf[:winLen] was read from
	winLen     int
	copyBuf    []byte
	lastRecord int64 // the size of the previous record, to size the next read
}

func newS3Reader(f *os.File, size int64) *s3Reader {
	return &s3Reader{f: f, size: size, buf: make([]byte, 64<<10), winOff: -1}
}

// window returns n bytes at off, or fewer at the end of the segment.
func (r *s3Reader) window(off int64, n int) ([]byte, error) {
	if r.winOff >= 0 && off >= r.winOff && off+int64(n) <= r.winOff+int64(r.winLen) {
		return r.buf[off-r.winOff : off-r.winOff+int64(n)], nil
	}
	want := max(n, s3RecordHeader+s3MetaPeek)
	if r.lastRecord < 8<<10 {
		want = max(n, len(r.buf)) // small records: read many at once
	}
	if want > len(r.buf) {
		r.buf = make([]byte, want)
	}
	got, err := r.f.ReadAt(r.buf[:want], off)
	r.winOff, r.winLen = off, got
	if got < n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return r.buf[:got], err
	}
	return r.buf[:n], nil
}

// next reads the record at off; with checkBody its body's CRC is verified
// too. Only the fields of the metadata that the index keeps are decoded.
// It returns the offset of the next record.
func (r *s3Reader) next(off int64, checkBody bool) (s3Record, int64, error) {
	if off+s3RecordHeader > r.size {
		return s3Record{}, 0, errors.New("short record header")
	}
	hdr, err := r.window(off, s3RecordHeader)
	if err != nil {
		return s3Record{}, 0, errors.New("short record header")
	}
	if string(hdr[:4]) != s3RecordMagic || hdr[4] != s3RecordVersion || hdr[5] < s3RecordPut || hdr[5] > s3RecordReset {
		return s3Record{}, 0, errors.New("not a record")
	}
	kind := hdr[5]
	m := int64(binary.BigEndian.Uint32(hdr[6:]))
	n := int64(binary.BigEndian.Uint64(hdr[10:]))
	want := binary.BigEndian.Uint32(hdr[18:])
	if m > 1<<20 || n < 0 || off+s3RecordHeader+m+n+4 > r.size {
		return s3Record{}, 0, errors.New("record runs past the end of the segment")
	}
	r.lastRecord = s3RecordHeader + m + n + 4
	head, err := r.window(off, int(s3RecordHeader+m))
	if err != nil {
		return s3Record{}, 0, err
	}
	meta := head[s3RecordHeader:]
	if crc32.Update(crc32.Checksum(head[:18], s3CRC), s3CRC, meta) != want {
		return s3Record{}, 0, errors.New("header checksum mismatch")
	}
	rec := s3Record{kind: kind, metaLen: int(m)}
	if rec.meta, err = s3DecodeIndexMeta(meta); err != nil {
		return s3Record{}, 0, err
	}
	if kind == s3RecordPut && rec.meta.Size != n {
		return s3Record{}, 0, errors.New("record's size disagrees with its metadata")
	}
	bodyAt := off + s3RecordHeader + m
	if checkBody {
		if r.copyBuf == nil {
			r.copyBuf = make([]byte, 64<<10)
		}
		h := crc32.New(s3CRC)
		if _, err := io.CopyBuffer(h, io.NewSectionReader(r.f, bodyAt, n), r.copyBuf); err != nil {
			return s3Record{}, 0, err
		}
		var sum [4]byte
		if _, err := r.f.ReadAt(sum[:], bodyAt+n); err != nil || binary.BigEndian.Uint32(sum[:]) != h.Sum32() {
			return s3Record{}, 0, errors.New("body checksum mismatch")
		}
	}
	return rec, bodyAt + n + 4, nil
}

// s3IndexMeta is the part of s3Meta the index keeps.
type s3IndexMeta struct {
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag"`
	LastModified time.Time `json:"lastModified"`
}

// s3DecodeIndexMeta decodes the fields of a record's metadata that the
// index keeps. Rebuilding the index of a large bucket is mostly this, so
// it reads the members the store writes first (key, size, etag,
// lastModified) itself, and stops there, never scanning the user metadata;
// anything it does not expect goes to encoding/json.
func s3DecodeIndexMeta(b []byte) (s3Meta, error) {
	if m, ok := s3FastIndexMeta(b); ok {
		return m, nil
	}
	var im s3IndexMeta
	if err := json.Unmarshal(b, &im); err != nil {
		return s3Meta{}, err
	}
	return s3Meta{Key: im.Key, Size: im.Size, ETag: im.ETag, LastModified: im.LastModified}, nil
}

func s3FastIndexMeta(b []byte) (s3Meta, bool) {
	var m s3Meta
	rest, ok := bytes.CutPrefix(b, []byte(`{"key":`))
	if !ok {
		return m, false
	}
	if m.Key, rest, ok = s3JSONString(rest); !ok {
		return m, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"size":`)); !ok {
		return m, false
	}
	i := 0
	for i < len(rest) && '0' <= rest[i] && rest[i] <= '9' {
		i++
	}
	size, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil {
		return m, false
	}
	m.Size, rest = size, rest[i:]
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"etag":`)); !ok {
		return m, false
	}
	if m.ETag, rest, ok = s3JSONString(rest); !ok {
		return m, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"lastModified":`)); !ok {
		return m, false
	}
	var t string
	if t, rest, ok = s3JSONString(rest); !ok {
		return m, false
	}
	if err := m.LastModified.UnmarshalText([]byte(t)); err != nil {
		return m, false
	}
	return m, len(rest) > 0 && (rest[0] == ',' || rest[0] == '}')
}

// s3JSONString reads a JSON string at the start of b: without escapes
// directly, with them through encoding/json.
func s3JSONString(b []byte) (string, []byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", b, false
	}
	escaped := false
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			if !escaped {
				return string(b[1:i]), b[i+1:], true
			}
			var s string
			if err := json.Unmarshal(b[:i+1], &s); err != nil {
				return "", b, false
			}
			return s, b[i+1:], true
		}
	}
	return "", b, false
}

// readMetaAt reads an entry's whole metadata from its record, in g at
// at (read under the lock with g).
func (e *s3Entry) readMetaAt(g *s3Segment, at int64) (s3Meta, error) {
	buf := make([]byte, e.metaLen)
	if _, err := g.ReadAt(buf, at+s3RecordHeader); err != nil {
		return s3Meta{}, err
	}
	var m s3Meta
	if err := json.Unmarshal(buf, &m); err != nil {
		return s3Meta{}, err
	}
	return m, nil
}

// s3Spool holds a body on its way to the log: in memory up to
// s3SpoolInMemory, then in a temporary file, so a slow upload never holds
// the log's writer.
type s3Spool struct {
	dir      string
	mem      bytes.Buffer
	file     *os.File
	borrowed *bytes.Reader // see s3Borrow
	size     int64
}

// s3Borrow returns a spool that writes the body from where it lies, when
// an in-process put hands over a body already whole in memory, of the
// length declared and with no checksum to verify: the sesinbound pipeline's
// own puts. Copying it first would cost a copy for a small body and a
// temporary file for a large one. PutObject waits for the log, so the
// body outlives its use. Otherwise s3Borrow returns nil.
func s3Borrow(p s3Put, limit int64, sums *s3Digests) *s3Spool {
	br, ok := p.body.(*bytes.Reader)
	if !ok || len(sums.hashes) > 0 || int64(br.Len()) > limit || (p.size >= 0 && p.size != int64(br.Len())) {
		return nil
	}
	return &s3Spool{borrowed: br, size: int64(br.Len())}
}

func newS3Spool(dir string, sizeHint int64) *s3Spool {
	s := &s3Spool{dir: dir}
	if sizeHint > 0 && sizeHint <= s3SpoolInMemory {
		s.mem.Grow(int(sizeHint))
	}
	return s
}

func (s *s3Spool) Write(p []byte) (int, error) {
	s.size += int64(len(p))
	if s.file == nil && s.mem.Len()+len(p) <= s3SpoolInMemory {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, tempPrefix+"spool-*")
		if err != nil {
			return 0, err
		}
		s.file = f
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			return 0, err
		}
		s.mem = bytes.Buffer{}
	}
	return s.file.Write(p)
}

func (s *s3Spool) writeTo(w io.Writer) error {
	if s.borrowed != nil {
		_, err := s.borrowed.WriteTo(w)
		return err
	}
	if s.file == nil {
		_, err := w.Write(s.mem.Bytes())
		return err
	}
	_, err := io.Copy(w, io.NewSectionReader(s.file, 0, s.size))
	return err
}

func (s *s3Spool) discard() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}
