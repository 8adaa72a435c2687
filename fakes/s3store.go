package fakes

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go"
)

// This file holds the store behind both faces of S3, the in-process
// methods and the REST API: buckets, and objects as whole values that are
// published at once.

// createBucket creates a bucket. Re-creating a bucket succeeds in
// us-east-1, as S3 does there for legacy compatibility, and fails with
// BucketAlreadyOwnedByYou elsewhere.
func (s *S3) createBucket(name string) error {
	if !s3ValidBucketName(name) {
		return s3Err("InvalidBucketName", "The specified bucket is not valid: "+name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[name]; ok {
		if s.cfg.region == "us-east-1" {
			return nil
		}
		return s3Err("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	}
	created, dir := s.now(), ""
	if s.cfg.dataDir != "" {
		var err error
		if dir, err = s3CreateBucketDir(s.cfg.dataDir, name, created); err != nil {
			return s3Internal("create bucket", err)
		}
	}
	s.buckets[name] = s.newBucket(name, created, dir)
	return nil
}

// s3BucketInfo is a bucket as ListBuckets reports it.
type s3BucketInfo struct {
	name    string
	created time.Time
}

// listBuckets returns every bucket, by name.
func (s *S3) listBuckets() []s3BucketInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]s3BucketInfo, 0, len(s.buckets))
	for _, name := range slices.Sorted(maps.Keys(s.buckets)) {
		out = append(out, s3BucketInfo{name, s.buckets[name].created})
	}
	return out
}

// bucket returns the named bucket.
func (s *S3) bucket(name string) (*s3Bucket, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.buckets[name]
	if !ok {
		return nil, s3NoSuchBucket(name)
	}
	return b, nil
}

// deleteBucket removes an empty bucket, and the multipart uploads in
// progress into it.
func (s *S3) deleteBucket(name string) error {
	s.mu.Lock()
	b, ok := s.buckets[name]
	if !ok {
		s.mu.Unlock()
		return s3NoSuchBucket(name)
	}
	if b.index.Len() > 0 {
		s.mu.Unlock()
		return s3Err("BucketNotEmpty", "The bucket you tried to delete is not empty")
	}
	if b.dir != "" {
		if err := s3RemoveBucketDir(s.cfg.dataDir, b.dir); err != nil {
			s.mu.Unlock()
			return s3Internal("delete bucket", err)
		}
	}
	delete(s.buckets, name)
	var dropped []*s3Upload
	for id, u := range s.uploads {
		if u.bucket == b {
			dropped = append(dropped, u)
			delete(s.uploads, id)
		}
	}
	s.mu.Unlock()
	b.log.close()
	for _, u := range dropped {
		u.discard()
	}
	return nil
}

// s3Put is an object to store.
type s3Put struct {
	bucket string
	meta   s3Meta // the key, content headers and user metadata
	body   io.Reader
	size   int64      // the exact length of body; -1 when unknown
	sums   *s3Digests // the checksums that came with body; nil for none
	etag   string     // "" for the MD5 of the body; multipart sets its own
	limit  int64      // the largest body allowed; 0 for s3MaxPutSize
	// modified, when set, is kept as the object's LastModified: a change
	// of tags rewrites an object without modifying it.
	modified time.Time
}

// s3CheckMeta applies S3's limits on a key and on user metadata.
func s3CheckMeta(m *s3Meta) error {
	if m.Key == "" {
		return s3Err("InvalidArgument", "The object key must not be empty.")
	}
	if len(m.Key) > s3MaxKeyLen {
		return s3Err("KeyTooLongError", "Your key is too long")
	}
	size := 0
	for k, v := range m.Metadata {
		size += len(k) + len(v)
	}
	if size > s3MaxMetadataSize {
		return s3Err("MetadataTooLarge", fmt.Sprintf("Your metadata headers exceed the maximum allowed metadata size: %d bytes of user metadata, the limit is %d", size, s3MaxMetadataSize))
	}
	return nil
}

// putObject stores an object. The body goes to memory or to a temporary
// file while its MD5 and checksums are computed; only once it is complete
// and verified is the object published, in one step, replacing any object
// with the same key. A failed put leaves the bucket as it was.
func (s *S3) putObject(p s3Put) (*s3Object, error) {
	if err := s3CheckMeta(&p.meta); err != nil {
		return nil, err
	}
	limit := cmp.Or(p.limit, s3MaxPutSize)
	if p.size > limit {
		return nil, s3TooLarge()
	}
	b, err := s.bucket(p.bucket)
	if err != nil {
		return nil, err
	}
	sums := p.sums
	if sums == nil {
		sums = s3NewDigests()
	}
	meta := p.meta
	meta.LastModified = s.now()
	if !p.modified.IsZero() {
		meta.LastModified = p.modified
	}
	// The body is spooled, then appended to the bucket's log, which
	// publishes it (with a data directory, once it is on disk).
	spool := s3Borrow(p, limit, sums)
	if spool == nil {
		// A body that streams through gets its CRC64NVME on the way, as
		// S3 keeps one for every object; a borrowed in-process body gets
		// it when a reader asks (s3Object.checksums).
		sums.track("crc64nvme")
		spool = newS3Spool(b.dir, p.size)
		defer spool.discard()
		if _, err := s3CopyBody(spool, p.body, p.size, limit, sums); err != nil {
			return nil, err
		}
		meta.Checksums = maps.Clone(meta.Checksums) // a copy keeps its source's
		for header, v := range sums.full() {
			if meta.Checksums == nil {
				meta.Checksums = map[string]string{}
			}
			meta.Checksums[header] = v
		}
	}
	meta.Size = spool.size
	meta.ETag = cmp.Or(p.etag, sums.etag())
	e, err := b.log.put(meta, spool)
	if err != nil {
		if isAPICode(err, "NoSuchBucket") {
			return nil, err
		}
		return nil, s3Internal("put object", err)
	}
	return &s3Object{s3Meta: meta, seg: e.seg, offset: e.bodyAt()}, nil
}

// s3CopyBuffers recycles copy buffers: every PutObject needs one, and a
// fresh 32 KB buffer per call costs more than the copy of a small object.
var s3CopyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// s3CopyBody copies an upload's body to w through sums, checking its length
// (exactly size bytes unless size is -1, and at most limit) and then its
// checksums. It returns the number of bytes copied.
func s3CopyBody(w io.Writer, body io.Reader, size, limit int64, sums *s3Digests) (int64, error) {
	if size > limit {
		return 0, s3TooLarge()
	}
	src := s3BodyReader{body}
	dst := io.MultiWriter(w, sums)
	bp := s3CopyBuffers.Get().(*[]byte)
	defer s3CopyBuffers.Put(bp)
	var n int64
	var err error
	if size >= 0 {
		n, err = io.CopyBuffer(dst, io.LimitReader(src, size), *bp)
		if err == nil && n < size {
			err = io.EOF // as io.CopyN reports a short body
		}
	} else {
		n, err = io.CopyBuffer(dst, io.LimitReader(src, limit+1), *bp)
	}
	if err != nil {
		return n, s3CopyError(err)
	}
	if n > limit {
		return n, s3TooLarge()
	}
	// Read on to the end: an aws-chunked body's trailer, which may carry its
	// checksum, comes after the data.
	extra, err := io.Copy(io.Discard, src)
	if err != nil {
		return n, s3CopyError(err)
	}
	if extra > 0 {
		return n, s3Err("IncompleteBody", fmt.Sprintf("The request body is longer than the %d bytes declared.", size))
	}
	return n, sums.verify()
}

func s3TooLarge() error {
	return s3Err("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
}

// s3CopyError classifies an error from copying a body: s3BodyReader makes
// every read error an API error, so any other error is the store's.
func s3CopyError(err error) error {
	var ae smithy.APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case err == io.EOF:
		// io.CopyN ran out of body before size bytes.
		return s3Err("IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	}
	return s3Internal("store object", err)
}

// s3BodyReader reads a request body, reporting its failures (a client gone
// mid-upload, a malformed aws-chunked frame) as API errors.
type s3BodyReader struct{ r io.Reader }

func (b s3BodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			err = s3Err("IncompleteBody", "read the request body: "+err.Error())
		}
	}
	return n, err
}

// s3Handle is an object opened for reading: its metadata and a reference
// on the segment holding exactly the bytes published with that metadata,
// whatever writes, deletes and compactions happen meanwhile.
type s3Handle struct {
	*s3Object
	release func() // releases the segment once, if the handle holds it
}

// openObject finds an object and reads its metadata; if withBody, the
// handle keeps its body readable until it is closed (or its section is).
func (s *S3) openObject(bucket, key string, withBody bool) (s3Handle, error) {
	s.mu.RLock()
	b, ok := s.buckets[bucket]
	if !ok {
		s.mu.RUnlock()
		return s3Handle{}, s3NoSuchBucket(bucket)
	}
	e, ok := b.index.Get(key)
	if !ok {
		s.mu.RUnlock()
		return s3Handle{}, s3NoSuchKey()
	}
	// A segment leaves the index only under the write lock, and is
	// released after, so it is still open here.
	seg, at, etag := e.seg, e.at, e.etag()
	if !seg.acquire() {
		s.mu.RUnlock()
		return s3Handle{}, s3Internal("open object", errors.New("segment closed"))
	}
	s.mu.RUnlock()
	meta, err := e.readMetaAt(seg, at)
	if err != nil {
		seg.release()
		return s3Handle{}, s3Internal("open object", err)
	}
	if etag != "" {
		meta.ETag = etag
	}
	o := &s3Object{s3Meta: meta, seg: seg, offset: at + s3RecordHeader + int64(e.metaLen)}
	o.remember = func(etag string) { s.rememberETag(b, key, seg, at, etag) }
	if !withBody {
		// The ETag may still need the body: keep it until then.
		o.etag()
		seg.release()
		return s3Handle{o, func() {}}, nil
	}
	return s3Handle{o, sync.OnceFunc(seg.release)}, nil
}

// rememberETag keeps an ETag computed on first use in the index, if the
// object there is still the one it was computed for.
func (s *S3) rememberETag(b *s3Bucket, key string, seg *s3Segment, at int64, etag string) {
	if s.cfg.etagHook != nil {
		s.cfg.etagHook()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sum, parts, ok := s3ParseETag(etag); ok {
		b.index.SetDigest(key, seg, at, sum, parts)
	}
}

// section returns bytes [r.start, r.end) of the body. Closing it releases
// the handle.
func (h s3Handle) section(r s3Range) io.ReadCloser {
	return &s3Section{io.NewSectionReader(h.seg, h.offset+r.start, r.end-r.start), h.release}
}

// s3Section is an object's body being read.
type s3Section struct {
	*io.SectionReader
	release func()
}

func (r *s3Section) Close() error {
	r.release()
	return nil
}

// close releases a handle not taken with section.
func (h s3Handle) close() { h.release() }

// checksums returns the object's full-object checksums by header name,
// computing CRC64NVME from the body when the object was stored without it
// (an in-process put, or a record older than checksums). The handle must
// hold the body; it stays held.
func (h s3Handle) checksums() (map[string]string, error) {
	out := maps.Clone(h.Checksums)
	if out == nil {
		out = map[string]string{}
	}
	const crc = "x-amz-checksum-crc64nvme"
	if out[crc] == "" {
		sum := s3NewHash("crc64nvme")
		if _, err := io.Copy(sum, io.NewSectionReader(h.seg.f, h.offset, h.Size)); err != nil {
			return nil, err
		}
		out[crc] = base64.StdEncoding.EncodeToString(sum.Sum(nil))
	}
	return out, nil
}

// deleteObject removes an object. Removing a missing key succeeds, as in
// S3.
func (s *S3) deleteObject(bucket, key string) error {
	s.mu.RLock()
	b, ok := s.buckets[bucket]
	if !ok {
		s.mu.RUnlock()
		return s3NoSuchBucket(bucket)
	}
	ok = b.index.Has(key)
	s.mu.RUnlock()
	if !ok {
		return nil
	}
	if err := b.log.delete(key); err != nil && !isAPICode(err, "NoSuchBucket") {
		return s3Internal("delete object", err)
	}
	return nil
}

// deleteObjects removes keys, as deleteObject does each; the tombstones
// share one sync. It returns an error for each key.
func (s *S3) deleteObjects(bucket string, keys []string) ([]error, error) {
	b, err := s.bucket(bucket)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	var present []string
	var at []int
	for i, k := range keys {
		if b.index.Has(k) {
			present = append(present, k)
			at = append(at, i)
		}
	}
	s.mu.RUnlock()
	errs := make([]error, len(keys))
	for j, err := range b.log.deleteMany(present) {
		if err != nil && !isAPICode(err, "NoSuchBucket") {
			errs[at[j]] = s3Internal("delete object", err)
		}
	}
	return errs, nil
}

// s3Range is the part of an object a GET returns: bytes [start, end).
type s3Range struct {
	start, end int64
	partial    bool // a Range was honoured: answer 206 with Content-Range
}

// contentRange is the Content-Range header of a partial response.
func (r s3Range) contentRange(size int64) string {
	return fmt.Sprintf("bytes %d-%d/%d", r.start, r.end-1, size)
}

// s3ParseRange resolves a Range header against an object's size. It
// accepts bytes=a-b, bytes=a- and the suffix form bytes=-n (the last n
// bytes). Like S3, it serves the whole object for a header it cannot parse
// or one with several ranges, and fails with InvalidRange for a range that
// starts past the end.
func s3ParseRange(header string, size int64) (s3Range, error) {
	whole := s3Range{0, size, false}
	spec, ok := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return whole, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return whole, nil
	}
	unsatisfiable := s3Err("InvalidRange", "The requested range is not satisfiable")
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return whole, nil
		}
		if n == 0 || size == 0 {
			return whole, unsatisfiable
		}
		return s3Range{max(size-n, 0), size, true}, nil
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return whole, nil
	}
	end := size
	if last != "" {
		b, err := strconv.ParseInt(last, 10, 64)
		if err != nil || b < a {
			return whole, nil
		}
		end = min(b+1, size)
	}
	if a >= size {
		return whole, unsatisfiable
	}
	return s3Range{a, end, true}, nil
}

// s3ListQuery asks for a page of a bucket listing.
type s3ListQuery struct {
	prefix, delimiter string
	after             string // list what sorts after this key or common prefix
	maxKeys           int
}

// s3Page is a page of a bucket listing.
type s3Page struct {
	objects   []*s3Object
	prefixes  []string // common prefixes, each ending with the delimiter
	truncated bool
	last      string // the last key or common prefix on the page
}

// list returns up to maxKeys keys and common prefixes, in byte order, that
// start with prefix and sort after after. Keys that share a common prefix
// are rolled up into it; a common prefix that sorts at or before after is
// not repeated, which is how a page continues the one that ended with it.
func (s *S3) list(bucket string, q s3ListQuery) (s3Page, error) {
	s.mu.RLock()
	b, ok := s.buckets[bucket]
	if !ok {
		s.mu.RUnlock()
		return s3Page{}, s3NoSuchBucket(bucket)
	}
	var page s3Page
	if q.maxKeys <= 0 {
		s.mu.RUnlock()
		return page, nil
	}
	// Walk the index from the first key that can be listed. Keys rolled
	// up into a common prefix are skipped by seeking past the prefix, so
	// a page costs its own keys and a logarithmic seek, whatever the size
	// of the bucket.
	from := max(q.prefix, q.after)
	if q.delimiter != "" && strings.HasPrefix(q.after, q.prefix) {
		// A page that ended with a common prefix continues after every key
		// rolled up into it.
		rest := q.after[len(q.prefix):]
		if j := strings.Index(rest, q.delimiter); j >= 0 && j+len(q.delimiter) == len(rest) {
			if next, ok := s3PrefixEnd(q.after); ok {
				from = max(from, next)
			}
		}
	}
	type lazy struct {
		o        *s3Object
		seg      *s3Segment
		at       int64
		bodyAt   int64
		acquired bool
	}
	var pending []lazy
	for {
		restart := ""
		b.index.Ascend(from, func(e *s3Entry) bool {
			k := e.key
			if !strings.HasPrefix(k, q.prefix) {
				return false
			}
			if k <= q.after {
				return true
			}
			entry, common := k, false
			if q.delimiter != "" {
				if j := strings.Index(k[len(q.prefix):], q.delimiter); j >= 0 {
					entry, common = k[:len(q.prefix)+j+len(q.delimiter)], true
					if entry <= q.after || entry == page.last {
						return true
					}
				}
			}
			if len(page.objects)+len(page.prefixes) == q.maxKeys {
				page.truncated = true
				return false
			}
			page.last = entry
			if common {
				page.prefixes = append(page.prefixes, entry)
				if next, ok := s3PrefixEnd(entry); ok {
					restart = next
					return false
				}
				return true
			}
			o := &s3Object{s3Meta: s3Meta{Key: k, Size: e.size, ETag: e.etag(), LastModified: time.UnixMilli(e.modified).UTC()}}
			page.objects = append(page.objects, o)
			if o.ETag == "" {
				pending = append(pending, lazy{o: o, seg: e.seg, at: e.at, bodyAt: e.bodyAt(), acquired: e.seg.acquire()})
			}
			return true
		})
		if restart == "" {
			break
		}
		from = restart
	}
	s.mu.RUnlock()
	// ETags still to compute are computed outside the lock, and kept.
	for _, p := range pending {
		if !p.acquired {
			continue
		}
		p.o.seg, p.o.offset = p.seg, p.bodyAt
		p.o.remember = func(etag string) { s.rememberETag(b, p.o.Key, p.seg, p.at, etag) }
		p.o.ETag = p.o.etag()
		p.seg.release()
	}
	return page, nil
}

// s3PrefixEnd returns the least string greater than every string starting
// with prefix, or false when there is none (prefix is all 0xff bytes).
func s3PrefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// isAPICode reports whether err is an S3 error with code.
func isAPICode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
