package fakes

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Multipart upload, which the aws CLI uses for files over 8 MB, kept
// simple: parts are held in memory, or with a data directory in temporary
// files in the bucket's directory, until the upload is completed into an
// ordinary object or aborted. Uploads in progress do not survive a restart
// (their part files are removed as leftovers), and ListParts and
// ListMultipartUploads are not implemented.

const (
	s3MaxPartNumber = 10000
	// s3MinPartSize is the smallest a part other than the last may be.
	s3MinPartSize = 5 << 20
	// s3MaxMultipartSize is the largest object a multipart upload makes.
	s3MaxMultipartSize = 5 << 40
)

// s3Upload is a multipart upload in progress. Its parts map is guarded by
// S3.mu; once the upload is removed from S3.uploads, whoever removed it
// owns it.
type s3Upload struct {
	id     string
	bucket *s3Bucket
	meta   s3Meta // given at creation
	parts  map[int]*s3Part
}

// s3Part is an uploaded part.
type s3Part struct {
	size int64
	etag string
	data []byte // in memory mode
	file string // with a data directory
}

// discard removes the upload's part files.
func (u *s3Upload) discard() {
	for _, p := range u.parts {
		p.discard()
	}
}

func (p *s3Part) discard() {
	if p != nil && p.file != "" {
		os.Remove(p.file)
	}
}

func (p *s3Part) open() (io.ReadCloser, error) {
	if p.file == "" {
		return io.NopCloser(bytes.NewReader(p.data)), nil
	}
	return os.Open(p.file)
}

// upload finds an upload in progress.
func (s *S3) upload(bucket, key, id string) (*s3Upload, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.uploadLocked(bucket, key, id)
}

func (s *S3) uploadLocked(bucket, key, id string) (*s3Upload, error) {
	u, ok := s.uploads[id]
	if !ok || u.bucket.name != bucket || u.meta.Key != key {
		return nil, s3Err("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	}
	return u, nil
}

func (s *S3) httpCreateUpload(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	meta := s3MetaFromHeaders(r.Header, key)
	if err := s3CheckMeta(&meta); err != nil {
		return err
	}
	s.mu.Lock()
	b, ok := s.buckets[bucket]
	if !ok {
		s.mu.Unlock()
		return s3NoSuchBucket(bucket)
	}
	u := &s3Upload{id: s3RandomText(s.rand), bucket: b, meta: meta, parts: map[int]*s3Part{}}
	s.uploads[u.id] = u
	s.mu.Unlock()
	for _, name := range []string{"x-amz-checksum-algorithm", "x-amz-checksum-type"} {
		if v := r.Header.Get(name); v != "" {
			w.Header().Set(name, v)
		}
	}
	s3WriteXML(w, http.StatusOK, "InitiateMultipartUploadResult", struct {
		Bucket   string `xml:"Bucket"`
		Key      string `xml:"Key"`
		UploadID string `xml:"UploadId"`
	}{Bucket: bucket, Key: key, UploadID: u.id})
	return nil
}

func (s *S3) httpUploadPart(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) error {
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > s3MaxPartNumber {
		return s3Err("InvalidArgument", fmt.Sprintf("Part number must be an integer between 1 and %d, inclusive", s3MaxPartNumber))
	}
	u, err := s.upload(bucket, key, q.Get("uploadId"))
	if err != nil {
		return err
	}
	body, size, sums, err := s3RequestBody(r)
	if err != nil {
		return err
	}
	part, err := s3StorePart(u.bucket.dir, body, size, sums)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.uploads[u.id] != u {
		s.mu.Unlock()
		part.discard()
		return s3Err("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	}
	old := u.parts[n]
	u.parts[n] = part
	s.mu.Unlock()
	old.discard()
	w.Header().Set("ETag", part.etag)
	for name, v := range sums.checksums() {
		w.Header().Set(name, v)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// s3StorePart reads a part into memory, or into a temporary file in dir.
func s3StorePart(dir string, body io.Reader, size int64, sums *s3Digests) (*s3Part, error) {
	if dir == "" {
		var buf bytes.Buffer
		n, err := s3CopyBody(&buf, body, size, s3MaxPutSize, sums)
		if err != nil {
			return nil, err
		}
		return &s3Part{size: n, etag: sums.etag(), data: buf.Bytes()}, nil
	}
	f, err := os.CreateTemp(dir, tempPrefix+"part-*")
	if err != nil {
		return nil, s3Internal("upload part", err)
	}
	part := &s3Part{file: f.Name()}
	n, err := s3CopyBody(f, body, size, s3MaxPutSize, sums)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = s3Internal("upload part", cerr)
	}
	if err != nil {
		part.discard()
		return nil, err
	}
	part.size, part.etag = n, sums.etag()
	return part, nil
}

func (s *S3) httpCompleteUpload(w http.ResponseWriter, r *http.Request, bucket, key, id string) error {
	data, err := s3ReadSmallBody(r)
	if err != nil {
		return err
	}
	var req struct {
		Parts []s3CompletedPart `xml:"Part"`
	}
	if err := xml.Unmarshal(data, &req); err != nil || len(req.Parts) == 0 {
		return s3Err("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	s.mu.Lock()
	u, err := s.uploadLocked(bucket, key, id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	// Check everything before taking the upload, so that a client can
	// retry a refused completion.
	parts, err := s3CompletedParts(u, req.Parts)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	delete(s.uploads, id)
	s.mu.Unlock()
	defer u.discard()

	// S3's ETag for a multipart object: the MD5 of the parts' MD5s, and
	// the number of parts.
	var total int64
	etags := md5.New()
	for _, p := range parts {
		total += p.size
		raw, _ := hex.DecodeString(strings.Trim(p.etag, `"`))
		etags.Write(raw)
	}
	etag := fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(etags.Sum(nil)), len(parts))
	body := &s3PartsReader{parts: parts}
	defer body.Close()
	o, err := s.putObject(s3Put{bucket: bucket, meta: u.meta, body: body, size: total, etag: etag, limit: s3MaxMultipartSize})
	if err != nil {
		return err
	}
	s3WriteXML(w, http.StatusOK, "CompleteMultipartUploadResult", struct {
		Location string `xml:"Location"`
		Bucket   string `xml:"Bucket"`
		Key      string `xml:"Key"`
		ETag     string `xml:"ETag"`
	}{Location: "/" + bucket + "/" + key, Bucket: bucket, Key: key, ETag: o.etag()})
	return nil
}

// s3CompletedPart names a part in a CompleteMultipartUpload request.
type s3CompletedPart struct {
	PartNumber int    `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
}

// s3CompletedParts checks the parts a completion names against those
// uploaded, as S3 does, and returns them; the caller holds S3.mu.
func s3CompletedParts(u *s3Upload, named []s3CompletedPart) ([]*s3Part, error) {
	for i := 1; i < len(named); i++ {
		if named[i].PartNumber <= named[i-1].PartNumber {
			return nil, s3Err("InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
		}
	}
	parts := make([]*s3Part, len(named))
	for i, p := range named {
		part, ok := u.parts[p.PartNumber]
		if !ok || strings.Trim(p.ETag, `"`) != strings.Trim(part.etag, `"`) {
			return nil, s3Err("InvalidPart", fmt.Sprintf("Part %d could not be found, or its ETag does not match: upload it again.", p.PartNumber))
		}
		parts[i] = part
	}
	for i, part := range parts[:len(parts)-1] {
		if part.size < s3MinPartSize {
			return nil, s3Err("EntityTooSmall", fmt.Sprintf("Part %d is smaller than the minimum allowed size of 5 MB.", named[i].PartNumber))
		}
	}
	return parts, nil
}

// s3PartsReader reads parts one after the other, opening each in turn.
type s3PartsReader struct {
	parts []*s3Part
	cur   io.ReadCloser
}

func (p *s3PartsReader) Read(b []byte) (int, error) {
	for {
		if p.cur == nil {
			if len(p.parts) == 0 {
				return 0, io.EOF
			}
			rc, err := p.parts[0].open()
			if err != nil {
				return 0, s3Internal("read part", err)
			}
			p.parts, p.cur = p.parts[1:], rc
		}
		n, err := p.cur.Read(b)
		if err == io.EOF {
			p.cur.Close()
			p.cur = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (p *s3PartsReader) Close() error {
	if p.cur != nil {
		return p.cur.Close()
	}
	return nil
}

// abortUpload discards an upload in progress and its parts.
func (s *S3) abortUpload(bucket, key, id string) error {
	s.mu.Lock()
	u, err := s.uploadLocked(bucket, key, id)
	if err == nil {
		delete(s.uploads, id)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	u.discard()
	return nil
}
