package fakes

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is an embedded Amazon S3 holding buckets and objects for the life of
// the process (their bodies in unlinked temporary files, only an index in
// memory), or durably on disk with WithS3DataDir. Its methods have the signatures of *s3.Client,
// so it stands in for one without an adapter, and ServeHTTP serves the S3
// REST API. An S3 is safe for concurrent use.
type S3 struct {
	cfg s3Config

	// mu guards buckets, every bucket's index and uploads. Bodies are
	// copied outside it; only the steps that publish, open or remove an
	// object file hold it, so the index and the disk always agree on which
	// write won.
	mu      sync.RWMutex
	buckets map[string]*s3Bucket
	uploads map[string]*s3Upload // multipart uploads in progress, by id
	rand    io.Reader            // cfg.rand, serialized
}

type s3Config struct {
	dataDir string
	spill   string // where memory mode's segment files go; "" for os.TempDir
	// For tests: compaction's garbage allowance, and a hook called at each
	// step of a compaction (see s3Log.compact).
	compactSlack int64
	compactHook  func(step string)
	now          func() time.Time
	region       string
	buckets      []string
	faults       FaultFunc
	rand         io.Reader

	// For tests: called each time an ETag left to compute on first use
	// is computed by reading the body back (see rememberETag).
	etagHook func()
}

// S3Option configures an S3.
type S3Option func(*s3Config)

// WithS3DataDir keeps buckets and objects under dir, where they survive a
// restart; "" (the default) keeps them for the life of the process only
// (see WithS3TempDir).
func WithS3DataDir(dir string) S3Option { return func(c *s3Config) { c.dataDir = dir } }

// WithS3TempDir sets where an S3 without a data directory keeps object
// bodies: files there that are unlinked as soon as they are created, so
// that they use the page cache rather than the process's memory and vanish
// when the process ends. The default is os.TempDir().
func WithS3TempDir(dir string) S3Option { return func(c *s3Config) { c.spill = dir } }

// WithS3Clock sets the clock that dates buckets and objects.
func WithS3Clock(now func() time.Time) S3Option { return func(c *s3Config) { c.now = now } }

// WithBuckets names buckets that exist from the start; those already in
// the data directory are kept as they are.
func WithBuckets(names ...string) S3Option {
	return func(c *s3Config) { c.buckets = append(c.buckets, names...) }
}

// WithS3Rand sets the source of request IDs and upload IDs; the default is
// crypto/rand. Reads are serialized, so r need not be safe for concurrent
// use.
func WithS3Rand(r io.Reader) S3Option { return func(c *s3Config) { c.rand = r } }

// WithS3Region sets the region the S3 is in (us-east-1 by default). It
// decides what re-creating a bucket you own does: us-east-1 succeeds, for
// legacy compatibility, and every other region fails with
// BucketAlreadyOwnedByYou.
func WithS3Region(region string) S3Option { return func(c *s3Config) { c.region = region } }

// s3Bucket is a bucket and the index of its objects.
type s3Bucket struct {
	name    string
	created time.Time
	dir     string // its directory, with a data directory; "" in memory mode
	log     *s3Log // where its objects are
	index   *s3Index
}

// s3Meta is what S3 knows about an object besides its bytes. It is stored,
// as JSON, in the object's record in the log (s3log.go).
type s3Meta struct {
	Key                string            `json:"key"`
	Size               int64             `json:"size"`
	ETag               string            `json:"etag"` // quoted, as on the wire
	LastModified       time.Time         `json:"lastModified"`
	ContentType        string            `json:"contentType,omitempty"`
	ContentEncoding    string            `json:"contentEncoding,omitempty"`
	ContentDisposition string            `json:"contentDisposition,omitempty"`
	ContentLanguage    string            `json:"contentLanguage,omitempty"`
	CacheControl       string            `json:"cacheControl,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"` // user metadata, keys lower-case
	// Checksums are the object's full-object checksums by header name
	// (x-amz-checksum-crc32, ...), base64 as on the wire: those the client
	// sent, verified, and CRC64NVME for a body that streamed in. Records
	// written before they existed have none; a missing CRC64NVME is
	// computed when a reader asks for checksums.
	Checksums map[string]string `json:"checksums,omitempty"`
	// Tags is the object's tag set (PutObjectTagging, x-amz-tagging).
	Tags map[string]string `json:"tags,omitempty"`
}

// s3Object is a published object as a caller sees it: its metadata, and
// where its body is. It is never modified: a new write publishes a new
// object, so readers need no lock once they hold one.
type s3Object struct {
	s3Meta
	seg    *s3Segment // the segment holding it: see openObject for its lifetime
	offset int64      // where the body starts in seg

	// An object stored in-process without a Content-MD5 gets its ETag
	// (the MD5 of its bytes) when it is first asked for: sesinbound stores
	// every message this way and hardly any is read back, so hashing at
	// write time was a fifth of the pipeline's cost. The ETag computed is
	// kept in the index through remember.
	etagOnce sync.Once
	lazyETag string
	remember func(etag string)
}

// etag returns the object's ETag, computing it on first use when the put
// left it out.
func (o *s3Object) etag() string {
	if o.ETag != "" {
		return o.ETag
	}
	o.etagOnce.Do(func() {
		if o.seg == nil || !o.seg.acquire() {
			return
		}
		defer o.seg.release()
		h := md5.New()
		bp := s3CopyBuffers.Get().(*[]byte)
		defer s3CopyBuffers.Put(bp)
		if _, err := io.CopyBuffer(h, io.NewSectionReader(o.seg, o.offset, o.Size), *bp); err != nil {
			return
		}
		o.lazyETag = `"` + hex.EncodeToString(h.Sum(nil)) + `"`
		if o.remember != nil {
			o.remember(o.lazyETag)
		}
	})
	return o.lazyETag
}

const (
	// s3MaxKeyLen is the longest object key S3 accepts, in bytes.
	s3MaxKeyLen = 1024
	// s3MaxMetadataSize is S3's limit on user metadata: the sum of the
	// lengths of keys (without x-amz-meta-) and values.
	s3MaxMetadataSize = 2 << 10
	// s3MaxPutSize is the largest object a single PUT may upload.
	s3MaxPutSize = 5 << 30
	// s3DefaultContentType is what S3 reports for an object uploaded
	// without a Content-Type.
	s3DefaultContentType = "binary/octet-stream"
	// s3OwnerID is the canonical user ID the fake reports as every
	// bucket's and object's owner.
	s3OwnerID          = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
	s3OwnerDisplayName = "sesinbound"
)

// NewS3 returns an S3. With a data directory it loads the buckets and
// objects there, and fails if the directory cannot be read or holds a
// damaged object file.
func NewS3(opts ...S3Option) (*S3, error) {
	s := &S3{
		cfg:     s3Config{now: time.Now, region: "us-east-1", rand: rand.Reader},
		buckets: map[string]*s3Bucket{},
		uploads: map[string]*s3Upload{},
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.rand = &lockedReader{r: s.cfg.rand}
	if s.cfg.dataDir != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	for _, name := range s.cfg.buckets {
		if _, ok := s.buckets[name]; ok {
			continue
		}
		if err := s.createBucket(name); err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return s, nil
}

// Close discards the multipart uploads in progress. Every acknowledged
// write is already on disk, so there is nothing to flush.
func (s *S3) Close() error {
	var err error
	for _, l := range s.dropUploads() {
		err = errors.Join(err, l.close())
	}
	return err
}

// dropUploads discards the multipart uploads in progress and returns every
// bucket's log.
func (s *S3) dropUploads() []*s3Log {
	s.mu.Lock()
	uploads := s.uploads
	s.uploads = map[string]*s3Upload{}
	var logs []*s3Log
	for _, b := range s.buckets {
		logs = append(logs, b.log)
	}
	s.mu.Unlock()
	for _, u := range uploads {
		u.discard()
	}
	return logs
}

// Reset empties the S3: it deletes every object in every bucket and
// discards the multipart uploads in progress, and keeps the buckets. With a
// data directory it gives the space back: each bucket's log is replaced by
// an empty one, in a way that a crash midway leaves either the objects as
// they were or none (see s3Log.reset). Writes that race with Reset land
// either before it, and are deleted, or after it, and are kept.
func (s *S3) Reset(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	for _, l := range s.dropUploads() {
		if e := l.emptyAll(); e != nil && !isAPICode(e, "NoSuchBucket") {
			err = errors.Join(err, fmt.Errorf("reset bucket %s: %w", l.b.name, e))
		}
	}
	return err
}

// newBucket makes a bucket; with dir it keeps its objects in a log there,
// and otherwise in temporary files.
func (s *S3) newBucket(name string, created time.Time, dir string) *s3Bucket {
	b := &s3Bucket{name: name, created: created, dir: dir, index: newS3Index()}
	b.log = &s3Log{dir: dir, spill: s.cfg.spill, durable: dir != "", s: s, b: b}
	b.log.queue.Commit = b.log.commitQueued
	if dir == "" {
		b.log.stage = newS3Stage(&s.mu, b.index)
	} else {
		b.log.hasher = newS3Stage(&s.mu, b.index)
	}
	return b
}

// now is the time to stamp on a bucket or object: S3 keeps milliseconds.
func (s *S3) now() time.Time { return s.cfg.now().UTC().Truncate(time.Millisecond) }

// contentType is the Content-Type S3 reports for o.
func (o *s3Object) contentType() string {
	if o.ContentType == "" {
		return s3DefaultContentType
	}
	return o.ContentType
}

// s3ValidBucketName reports whether name follows S3's rules for new
// buckets: 3 to 63 lower-case letters, digits, dots and hyphens, starting
// and ending with a letter or digit, no two adjacent dots, and not shaped
// like an IP address.
func s3ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 || strings.Contains(name, "..") {
		return false
	}
	digitsAndDots := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && (c != '-' && c != '.' || i == 0 || i == len(name)-1) {
			return false
		}
		if c != '.' && (c < '0' || c > '9') {
			digitsAndDots = false
		}
	}
	return !(digitsAndDots && strings.Count(name, ".") == 3)
}

// s3Err is an error as the store reports it: a GenericAPIError carrying the
// code S3 sends on the wire. s3SDKError turns it into what the SDK client
// would return for an operation; s3Status gives its HTTP status.
func s3Err(code, message string) error {
	return &smithy.GenericAPIError{Code: code, Message: message}
}

// s3Internal reports a failure of the fake itself, such as a full disk.
func s3Internal(op string, err error) error {
	return &smithy.GenericAPIError{Code: "InternalError", Message: op + ": " + err.Error(), Fault: smithy.FaultServer}
}

func s3NoSuchBucket(name string) error {
	return s3Err("NoSuchBucket", "The specified bucket does not exist: "+name)
}

func s3NoSuchKey() error { return s3Err("NoSuchKey", "The specified key does not exist.") }

// s3SDKError turns a store error into the error aws-sdk-go-v2 returns for
// op when S3 answers with it, so that errors.As, ErrorCode and the SDK's
// retry classification treat the fake and the real service alike: a
// modelled error type where the SDK has one for that operation, a
// *smithy.GenericAPIError otherwise, and for HEAD requests, whose
// responses have no body, only what the status tells; each carries the
// HTTP status S3 sends with the code (HTTPStatusCode, as the SDK's
// response errors do).
func s3SDKError(op string, err error) error {
	ae, ok := err.(*smithy.GenericAPIError)
	if !ok {
		return err
	}
	status := s3Status(ae.Code)
	return &statusError{err: s3Modelled(op, ae, status), status: status}
}

func s3Modelled(op string, ae *smithy.GenericAPIError, status int) error {
	msg := aws.String(ae.Message)
	switch op {
	case "HeadBucket", "HeadObject":
		if status == http.StatusNotFound {
			return &s3types.NotFound{}
		}
		text := http.StatusText(status)
		return &smithy.GenericAPIError{Code: strings.ReplaceAll(text, " ", ""), Message: text, Fault: faultOf(status)}
	case "GetObject":
		switch ae.Code {
		case "NoSuchKey":
			return &s3types.NoSuchKey{Message: msg}
		case "InvalidObjectState":
			return &s3types.InvalidObjectState{Message: msg}
		}
	case "ListObjects", "ListObjectsV2":
		if ae.Code == "NoSuchBucket" {
			return &s3types.NoSuchBucket{Message: msg}
		}
	case "CreateBucket":
		switch ae.Code {
		case "BucketAlreadyOwnedByYou":
			return &s3types.BucketAlreadyOwnedByYou{Message: msg}
		case "BucketAlreadyExists":
			return &s3types.BucketAlreadyExists{Message: msg}
		}
	case "PutObject":
		if ae.Code == "InvalidRequest" {
			return &s3types.InvalidRequest{Message: msg}
		}
	}
	return &smithy.GenericAPIError{Code: ae.Code, Message: ae.Message, Fault: faultOf(status)}
}
