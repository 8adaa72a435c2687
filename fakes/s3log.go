package fakes

import (
	"bufio"
	"bytes"
	"encoding/binary"
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
)

// With a data directory, each bucket is a directory holding bucket.json and
// an append-only log of its objects in numbered segment files
// (seg-00000001.log, ...). Every put and delete appends one record:
//
//	offset 0   "SESR"                       magic
//	offset 4   uint8                        format version, 1
//	offset 5   uint8                        kind: 1 put, 2 delete
//	offset 6   uint32, big-endian           m, the length of the metadata
//	offset 10  uint64, big-endian           n, the length of the body
//	offset 18  uint32, big-endian           CRC-32C of bytes 0-17 and the metadata
//	offset 22  m bytes                      s3Meta as JSON
//	offset 22+m  n bytes                    the body
//	then       uint32, big-endian           CRC-32C of the body
//
// One goroutine per bucket appends the records waiting, calls fdatasync
// once for all of them, applies them to the index in log order and only
// then acknowledges them: a put returns only once its object is on disk,
// and concurrent puts share one sync. Appending to one file costs a
// fraction of creating, syncing and renaming a file per object, which is
// what the first version of this store did.
//
// A crash can only tear records after the last completed sync, that is at
// the end of the last segment, and none of them was acknowledged; loading
// stops at the first bad record there and truncates the segment. Segments
// before the last were synced whole before the next one began, so only
// their headers are checked. Overwritten and deleted objects stay in the
// log: there is no compaction (an emulator's data dir is small and
// short-lived).

const (
	s3RecordMagic   = "SESR"
	s3RecordVersion = 1
	s3RecordPut     = 1
	s3RecordDelete  = 2
	// s3RecordReset empties the bucket: the index is cleared when it is
	// replayed. It is the first record of a segment that replaces every
	// segment before it (see reset).
	s3RecordReset   = 3
	s3RecordHeader  = 22
	s3SegmentPrefix = "seg-"
	s3SegmentSuffix = ".log"
	// s3SegmentSize is when a segment is closed and the next begun.
	s3SegmentSize = 64 << 20
	// s3SpoolInMemory is how much of a body a put holds in memory before
	// spooling the rest to a temporary file.
	s3SpoolInMemory = 4 << 20
	s3BucketRecord  = "bucket.json"
)

var s3CRC = crc32.MakeTable(crc32.Castagnoli)

// s3Log is one bucket's log.
type s3Log struct {
	dir string
	s   *S3
	b   *s3Bucket

	mu      sync.Mutex // guards queue and running
	queue   []*s3LogOp
	running bool

	// The writer's state: touched by one writer goroutine at a time, and
	// by close once none runs.
	seg     *os.File
	segNum  int
	segSize int64
}

// s3LogOp is a put or a delete waiting to be appended.
type s3LogOp struct {
	kind  byte
	meta  s3Meta
	body  *s3Spool
	done  chan error
	found *s3Object // for a put: the object as published

	metaLen int // set when the record is written
}

// put appends an object and returns it once it is durable and in the index.
func (l *s3Log) put(meta s3Meta, body *s3Spool) (*s3Object, error) {
	op := &s3LogOp{kind: s3RecordPut, meta: meta, body: body, done: make(chan error, 1)}
	if err := l.submit(op); err != nil {
		return nil, err
	}
	return op.found, nil
}

// delete appends a tombstone for key and returns once it is durable and the
// key is gone from the index.
func (l *s3Log) delete(key string) error {
	return l.submit(&s3LogOp{kind: s3RecordDelete, meta: s3Meta{Key: key}, done: make(chan error, 1)})
}

func (l *s3Log) submit(op *s3LogOp) error {
	l.mu.Lock()
	l.queue = append(l.queue, op)
	if !l.running {
		l.running = true
		go l.write()
	}
	l.mu.Unlock()
	return <-op.done
}

// write appends what is queued, in batches, until the queue is empty.
func (l *s3Log) write() {
	for {
		l.mu.Lock()
		batch := l.queue
		l.queue = nil
		if len(batch) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		// A reset is applied on its own, in its place in the queue.
		for len(batch) > 0 {
			i := slices.IndexFunc(batch, func(op *s3LogOp) bool { return op.kind == s3RecordReset })
			var err error
			switch i {
			case 0:
				err, i = l.reset(), 1
			case -1:
				err, i = l.commit(batch), len(batch)
			default:
				err = l.commit(batch[:i])
			}
			for _, op := range batch[:i] {
				op.done <- err
			}
			batch = batch[i:]
		}
	}
}

// emptyAll removes every object: see reset.
func (l *s3Log) emptyAll() error {
	return l.submit(&s3LogOp{kind: s3RecordReset, done: make(chan error, 1)})
}

// reset empties the bucket and gives its space back. A new segment holding
// only a reset record is written aside, synced and renamed into place after
// every existing segment; only then are the older segments removed. A crash
// before the rename leaves the bucket as it was; after it, the reset record
// clears whatever older segments remain when the log is replayed.
func (l *s3Log) reset() error {
	if err := l.closeSegment(); err != nil {
		return err
	}
	old := l.segNum
	next := l.segmentPath(old + 1)
	var rec bytes.Buffer
	w := bufio.NewWriter(&rec)
	if _, err := l.appendRecordAt(w, &s3LogOp{kind: s3RecordReset}, 0, ""); err != nil {
		return err
	}
	w.Flush()
	if err := writeFileAtomic(next, rec.Bytes(), 0o644); err != nil {
		return err
	}
	l.s.mu.Lock()
	live := l.s.buckets[l.b.name] == l.b
	if live {
		l.b.clear()
	}
	l.s.mu.Unlock()
	if !live {
		return s3NoSuchBucket(l.b.name)
	}
	// Readers holding an old segment open keep reading it; its space is
	// freed when they close it.
	if err := l.removeSegmentsBefore(old + 1); err != nil {
		return err
	}
	f, err := os.OpenFile(next, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Seek(int64(rec.Len()), io.SeekStart); err != nil {
		f.Close()
		return err
	}
	l.seg, l.segNum, l.segSize = f, old+1, int64(rec.Len())
	return nil
}

// removeSegmentsBefore deletes every segment numbered below n.
func (l *s3Log) removeSegmentsBefore(n int) error {
	nums, err := l.segments()
	if err != nil {
		return err
	}
	for _, m := range nums {
		if m < n {
			if err := os.Remove(l.segmentPath(m)); err != nil {
				return err
			}
		}
	}
	return syncDir(l.dir)
}

// commit appends a batch, syncs it and applies it to the index. On an
// error the segment is cut back to where the batch began, so that no
// half-written record sits before later ones.
func (l *s3Log) commit(batch []*s3LogOp) error {
	if err := l.openSegment(); err != nil {
		return err
	}
	start := l.segSize
	fail := func(err error) error {
		l.seg.Truncate(start)
		l.seg.Seek(start, io.SeekStart)
		l.segSize = start
		return err
	}
	w := bufio.NewWriterSize(l.seg, 64<<10)
	for _, op := range batch {
		o, err := l.appendRecord(w, op)
		if err != nil {
			return fail(err)
		}
		op.found = o
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := datasync(l.seg); err != nil {
		return fail(err)
	}
	l.s.mu.Lock()
	live := l.s.buckets[l.b.name] == l.b
	for _, op := range batch {
		switch {
		case !live:
		case op.kind == s3RecordPut:
			l.b.insert(op.found)
		default:
			l.b.remove(op.meta.Key)
		}
	}
	l.s.mu.Unlock()
	if !live {
		return s3NoSuchBucket(l.b.name)
	}
	if l.segSize >= s3SegmentSize {
		return l.closeSegment()
	}
	return nil
}

// appendRecord writes one record at the end of the segment and returns the
// object it publishes (nil for a delete).
func (l *s3Log) appendRecord(w *bufio.Writer, op *s3LogOp) (*s3Object, error) {
	o, err := l.appendRecordAt(w, op, l.segSize, l.seg.Name())
	if err != nil {
		return nil, err
	}
	l.segSize += s3RecordSize(op)
	return o, nil
}

// s3RecordSize is the length of op's record.
func s3RecordSize(op *s3LogOp) int64 {
	n := int64(s3RecordHeader + op.metaLen + 4)
	if op.body != nil {
		n += op.body.size
	}
	return n
}

// appendRecordAt writes op's record, for a segment named file at offset at.
func (l *s3Log) appendRecordAt(w *bufio.Writer, op *s3LogOp, at int64, file string) (*s3Object, error) {
	meta, err := json.Marshal(op.meta)
	if err != nil {
		return nil, err
	}
	var n int64
	if op.body != nil {
		n = op.body.size
	}
	hdr := make([]byte, 0, s3RecordHeader+len(meta))
	hdr = append(hdr, s3RecordMagic...)
	hdr = append(hdr, s3RecordVersion, op.kind)
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(len(meta)))
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	crc := crc32.Update(crc32.Checksum(hdr, s3CRC), s3CRC, meta)
	hdr = binary.BigEndian.AppendUint32(hdr, crc)
	hdr = append(hdr, meta...)
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	op.metaLen = len(meta)
	bodyAt := at + int64(len(hdr))
	h := crc32.New(s3CRC)
	if op.body != nil {
		if err := op.body.writeTo(io.MultiWriter(w, h)); err != nil {
			return nil, err
		}
	}
	if err := binary.Write(w, binary.BigEndian, h.Sum32()); err != nil {
		return nil, err
	}
	if op.kind != s3RecordPut {
		return nil, nil
	}
	return &s3Object{s3Meta: op.meta, file: file, offset: bodyAt}, nil
}

func (l *s3Log) segmentPath(n int) string {
	return filepath.Join(l.dir, fmt.Sprintf("%s%08d%s", s3SegmentPrefix, n, s3SegmentSuffix))
}

// openSegment opens the segment to append to, starting a new one (and
// making its directory entry durable) when there is none.
func (l *s3Log) openSegment() error {
	if l.seg != nil {
		return nil
	}
	path := l.segmentPath(l.segNum + 1)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	l.seg, l.segNum, l.segSize = f, l.segNum+1, 0
	return nil
}

func (l *s3Log) closeSegment() error {
	if l.seg == nil {
		return nil
	}
	err := l.seg.Close()
	l.seg = nil
	return err
}

// close releases the segment being written; every acknowledged record is
// already synced.
func (l *s3Log) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running {
		return nil // the writer owns the segment; it is synced when it stops
	}
	return l.closeSegment()
}

// load replays a bucket's segments into its index, truncating a torn tail
// of the last one.
func (l *s3Log) load() error {
	nums, err := l.segments()
	if err != nil {
		return err
	}
	for i, n := range nums {
		if err := l.replay(l.segmentPath(n), i == len(nums)-1); err != nil {
			return err
		}
		l.segNum = n
	}
	return nil
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

// replay applies one segment's records. In the last segment every record
// is checked whole and the file is cut at the first bad one.
func (l *s3Log) replay(path string, last bool) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var off int64
	for off < st.Size() {
		rec, next, err := s3ReadRecord(f, off, st.Size(), last)
		if err != nil {
			if !last {
				return fmt.Errorf("damaged segment %s at offset %d: %w", path, off, err)
			}
			// A torn tail: records after the last sync, never acknowledged.
			if err := f.Truncate(off); err != nil {
				return err
			}
			return f.Sync()
		}
		switch rec.kind {
		case s3RecordPut:
			l.b.insert(&s3Object{s3Meta: rec.meta, file: path, offset: rec.bodyAt})
		case s3RecordDelete:
			l.b.remove(rec.meta.Key)
		default:
			l.b.clear()
		}
		off = next
	}
	return nil
}

type s3Record struct {
	kind   byte
	meta   s3Meta
	bodyAt int64
}

// s3ReadRecord reads the record at off; with checkBody its body's CRC is
// verified too. It returns the offset of the next record.
func s3ReadRecord(f *os.File, off, size int64, checkBody bool) (s3Record, int64, error) {
	var hdr [s3RecordHeader]byte
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return s3Record{}, 0, errors.New("short record header")
	}
	if string(hdr[:4]) != s3RecordMagic || hdr[4] != s3RecordVersion || hdr[5] < s3RecordPut || hdr[5] > s3RecordReset {
		return s3Record{}, 0, errors.New("not a record")
	}
	m := int64(binary.BigEndian.Uint32(hdr[6:]))
	n := int64(binary.BigEndian.Uint64(hdr[10:]))
	if m > 1<<20 || n < 0 || off+s3RecordHeader+m+n+4 > size {
		return s3Record{}, 0, errors.New("record runs past the end of the segment")
	}
	meta := make([]byte, m)
	if _, err := f.ReadAt(meta, off+s3RecordHeader); err != nil {
		return s3Record{}, 0, err
	}
	if crc32.Update(crc32.Checksum(hdr[:18], s3CRC), s3CRC, meta) != binary.BigEndian.Uint32(hdr[18:]) {
		return s3Record{}, 0, errors.New("header checksum mismatch")
	}
	rec := s3Record{kind: hdr[5], bodyAt: off + s3RecordHeader + m}
	if err := json.Unmarshal(meta, &rec.meta); err != nil {
		return s3Record{}, 0, err
	}
	if checkBody {
		h := crc32.New(s3CRC)
		if _, err := io.Copy(h, io.NewSectionReader(f, rec.bodyAt, n)); err != nil {
			return s3Record{}, 0, err
		}
		var sum [4]byte
		if _, err := f.ReadAt(sum[:], rec.bodyAt+n); err != nil || binary.BigEndian.Uint32(sum[:]) != h.Sum32() {
			return s3Record{}, 0, errors.New("body checksum mismatch")
		}
	}
	return rec, rec.bodyAt + n + 4, nil
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
