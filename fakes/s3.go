package fakes

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is an embedded Amazon S3 holding buckets and objects in memory, or on
// disk with WithS3DataDir. Its methods have the signatures of *s3.Client,
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

	// copyBuffers recycles copy buffers: every PutObject needs one, and a
	// fresh 32 KB buffer per call costs more than the copy of a small
	// object.
	copyBuffers sync.Pool
}

type s3Config struct {
	dataDir string
	now     func() time.Time
	region  string
	buckets []string
	faults  FaultFunc
	rand    io.Reader
}

// S3Option configures an S3.
type S3Option func(*s3Config)

// WithS3DataDir keeps buckets and objects under dir, where they survive a
// restart; "" (the default) keeps them in memory only.
func WithS3DataDir(dir string) S3Option { return func(c *s3Config) { c.dataDir = dir } }

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
	dir     string // where its objects are; "" in memory mode
	log     *s3Log // its log, with a data directory
	objects map[string]*s3Object
	keys    []string // the keys of objects, for listing (see sortedKeys)
	sorted  bool     // keys is in byte order
	stale   int      // deleted keys still in keys
}

// s3Meta is what S3 knows about an object besides its bytes. With a data
// directory it is stored, as JSON, at the head of the object's file.
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
}

// s3Object is a published object. It is never modified: a new write
// publishes a new s3Object, so readers need no lock once they hold one.
type s3Object struct {
	s3Meta
	data   []byte // the body, in memory mode
	file   string // the log segment holding it, with a data directory
	offset int64  // where the body starts in file

	// An object stored in-process without a Content-MD5 gets its ETag
	// (the MD5 of its bytes) when it is first asked for: sesinbound stores
	// every message this way and hardly any is read back, so hashing at
	// write time was a fifth of the pipeline's cost.
	etagOnce sync.Once
	lazyETag string
}

// etag returns the object's ETag, computing it on first use when the put
// left it out.
func (o *s3Object) etag() string {
	if o.ETag != "" {
		return o.ETag
	}
	o.etagOnce.Do(func() {
		h := md5.New()
		if o.file == "" {
			h.Write(o.data)
		} else if f, err := os.Open(o.file); err == nil {
			io.Copy(h, io.NewSectionReader(f, o.offset, o.Size))
			f.Close()
		}
		o.lazyETag = `"` + hex.EncodeToString(h.Sum(nil)) + `"`
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
	s.copyBuffers.New = func() any { b := make([]byte, 32<<10); return &b }
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
	s.mu.Lock()
	uploads := s.uploads
	s.uploads = map[string]*s3Upload{}
	var logs []*s3Log
	for _, b := range s.buckets {
		if b.log != nil {
			logs = append(logs, b.log)
		}
	}
	s.mu.Unlock()
	for _, u := range uploads {
		u.discard()
	}
	var err error
	for _, l := range logs {
		err = errors.Join(err, l.close())
	}
	return err
}

// newBucket makes a bucket; with dir it keeps its objects in a log there.
func (s *S3) newBucket(name string, created time.Time, dir string) *s3Bucket {
	b := &s3Bucket{name: name, created: created, dir: dir, objects: map[string]*s3Object{}}
	if dir != "" {
		b.log = &s3Log{dir: dir, s: s, b: b}
	}
	return b
}

// now is the time to stamp on a bucket or object: S3 keeps milliseconds.
func (s *S3) now() time.Time { return s.cfg.now().UTC().Truncate(time.Millisecond) }

// insert adds or replaces o in the bucket's index; the caller holds s.mu
// for writing. Keys are sorted when a listing needs them, not on every
// insert: a busy bucket would otherwise move half its key list per put.
func (b *s3Bucket) insert(o *s3Object) {
	if _, ok := b.objects[o.Key]; !ok {
		if n := len(b.keys); b.sorted && n > 0 && b.keys[n-1] >= o.Key {
			b.sorted = false
		}
		b.keys = append(b.keys, o.Key)
	}
	b.objects[o.Key] = o
}

// remove drops key from the bucket's index; the caller holds s.mu for
// writing.
func (b *s3Bucket) remove(key string) {
	if _, ok := b.objects[key]; ok {
		delete(b.objects, key)
		b.stale++
	}
}

// sortedKeys returns the bucket's keys in byte order; the caller holds s.mu
// for writing, as the list may be rebuilt.
func (b *s3Bucket) sortedKeys() []string {
	if b.stale > 0 {
		b.keys = slices.DeleteFunc(b.keys, func(k string) bool { _, ok := b.objects[k]; return !ok })
		b.stale = 0
	}
	if !b.sorted {
		slices.Sort(b.keys)
		// A key deleted and put again sits in the list twice.
		b.keys = slices.Compact(b.keys)
		b.sorted = true
	}
	return b.keys
}

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
