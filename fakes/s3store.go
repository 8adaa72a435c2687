package fakes

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
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
	if len(b.objects) > 0 {
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
	if b.log != nil {
		// With a data directory the body is spooled, then appended to the
		// bucket's log, which publishes it once it is on disk.
		spool := s3Borrow(p, limit, sums)
		if spool == nil {
			spool = newS3Spool(b.dir, p.size)
			defer spool.discard()
			if _, err := s.copyBody(spool, p.body, p.size, limit, sums); err != nil {
				return nil, err
			}
		}
		meta.Size = spool.size
		meta.ETag = cmp.Or(p.etag, sums.etag())
		o, err := b.log.put(meta, spool)
		if err != nil {
			if isAPICode(err, "NoSuchBucket") {
				return nil, err
			}
			return nil, s3Internal("put object", err)
		}
		return o, nil
	}
	sink := &s3MemorySink{}
	if p.size > 0 && p.size <= limit {
		sink.Grow(int(p.size)) // one allocation, no regrowth
	}
	n, err := s.copyBody(sink, p.body, p.size, limit, sums)
	if err != nil {
		return nil, err
	}
	meta.Size = n
	meta.ETag = cmp.Or(p.etag, sums.etag())
	o := &s3Object{s3Meta: meta, data: sink.Bytes()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[b.name] != b {
		return nil, s3NoSuchBucket(b.name)
	}
	b.insert(o)
	return o, nil
}

// s3MemorySink holds a body in memory.
type s3MemorySink struct{ bytes.Buffer }

// s3CopyBody copies an upload's body to w through sums, checking its length
// (exactly size bytes unless size is -1, and at most limit) and then its
// checksums. It returns the number of bytes copied.
func (s *S3) copyBody(w io.Writer, body io.Reader, size, limit int64, sums *s3Digests) (int64, error) {
	if size > limit {
		return 0, s3TooLarge()
	}
	src := s3BodyReader{body}
	dst := io.MultiWriter(w, sums)
	bp := s.copyBuffers.Get().(*[]byte)
	defer s.copyBuffers.Put(bp)
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

// s3Handle is an object opened for reading: its metadata and, when opened
// with its body, a descriptor on exactly the bytes published with that
// metadata, whatever writes and deletes happen meanwhile.
type s3Handle struct {
	*s3Object
	f *os.File
}

// openObject finds an object and, if withBody, opens its body.
func (s *S3) openObject(bucket, key string, withBody bool) (s3Handle, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.buckets[bucket]
	if !ok {
		return s3Handle{}, s3NoSuchBucket(bucket)
	}
	o, ok := b.objects[key]
	if !ok {
		return s3Handle{}, s3NoSuchKey()
	}
	h := s3Handle{s3Object: o}
	if withBody && o.file != "" {
		// Open under the lock: a put of the same key renames its file
		// over this one under the write lock, and an open descriptor
		// keeps reading the bytes it was opened on.
		f, err := os.Open(o.file)
		if err != nil {
			return s3Handle{}, s3Internal("open object", err)
		}
		h.f = f
	}
	return h, nil
}

// section returns bytes [r.start, r.end) of the body. Closing it releases
// the handle.
func (h s3Handle) section(r s3Range) io.ReadCloser {
	if h.f == nil {
		return io.NopCloser(bytes.NewReader(h.data[r.start:r.end]))
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(h.f, h.offset+r.start, r.end-r.start), h.f}
}

// close releases a handle whose body was not taken with section.
func (h s3Handle) close() {
	if h.f != nil {
		h.f.Close()
	}
}

// deleteObject removes an object. Removing a missing key succeeds, as in
// S3.
func (s *S3) deleteObject(bucket, key string) error {
	s.mu.Lock()
	b, ok := s.buckets[bucket]
	if !ok {
		s.mu.Unlock()
		return s3NoSuchBucket(bucket)
	}
	if _, ok := b.objects[key]; !ok {
		s.mu.Unlock()
		return nil
	}
	if b.log == nil {
		b.remove(key)
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if err := b.log.delete(key); err != nil && !isAPICode(err, "NoSuchBucket") {
		return s3Internal("delete object", err)
	}
	return nil
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
	s.mu.Lock() // sortedKeys may sort
	defer s.mu.Unlock()
	b, ok := s.buckets[bucket]
	if !ok {
		return s3Page{}, s3NoSuchBucket(bucket)
	}
	var page s3Page
	if q.maxKeys <= 0 {
		return page, nil
	}
	keys := b.sortedKeys()
	i, _ := slices.BinarySearch(keys, max(q.prefix, q.after))
	for ; i < len(keys); i++ {
		k := keys[i]
		if !strings.HasPrefix(k, q.prefix) {
			break
		}
		if k <= q.after {
			continue
		}
		entry, common := k, false
		if q.delimiter != "" {
			if j := strings.Index(k[len(q.prefix):], q.delimiter); j >= 0 {
				entry, common = k[:len(q.prefix)+j+len(q.delimiter)], true
				if entry <= q.after || entry == page.last {
					continue
				}
			}
		}
		if len(page.objects)+len(page.prefixes) == q.maxKeys {
			page.truncated = true
			break
		}
		if common {
			page.prefixes = append(page.prefixes, entry)
		} else {
			page.objects = append(page.objects, b.objects[k])
		}
		page.last = entry
	}
	return page, nil
}

// isAPICode reports whether err is an S3 error with code.
func isAPICode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
