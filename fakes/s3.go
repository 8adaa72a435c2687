package fakes

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is an in-process Amazon S3 holding buckets and objects in memory, or
// on disk with WithS3DataDir. Its methods have the signatures of
// *s3.Client; ServeHTTP speaks the S3 REST API, path-style.
type S3 struct {
	cfg s3Config

	mu      sync.RWMutex
	buckets map[string]*s3Bucket
	uploads map[string]*s3Upload // multipart uploads in progress, by upload id
}

type s3Config struct {
	dataDir string
	now     func() time.Time
	buckets []string
	region  string
}

// S3Option configures an S3.
type S3Option func(*s3Config)

// WithS3DataDir keeps buckets and objects under dir; "" keeps them in
// memory only.
func WithS3DataDir(dir string) S3Option { return func(c *s3Config) { c.dataDir = dir } }

// WithS3Clock sets the clock for creation and modification times.
func WithS3Clock(now func() time.Time) S3Option { return func(c *s3Config) { c.now = now } }

// WithBuckets creates buckets at startup (existing ones are kept).
func WithBuckets(names ...string) S3Option {
	return func(c *s3Config) { c.buckets = append(c.buckets, names...) }
}

// WithS3Region sets the region buckets report (GetBucketLocation).
func WithS3Region(region string) S3Option { return func(c *s3Config) { c.region = region } }

type s3Bucket struct {
	name    string
	created time.Time
	dir     string // "" in memory mode
	objects map[string]*s3Object
}

// s3Object is an object's metadata and, in memory mode, its bytes.
type s3Object struct {
	Key                string            `json:"key"`
	Size               int64             `json:"size"`
	ETag               string            `json:"etag"` // quoted, as on the wire
	LastModified       time.Time         `json:"lastModified"`
	ContentType        string            `json:"contentType,omitempty"`
	ContentEncoding    string            `json:"contentEncoding,omitempty"`
	ContentDisposition string            `json:"contentDisposition,omitempty"`
	ContentLanguage    string            `json:"contentLanguage,omitempty"`
	CacheControl       string            `json:"cacheControl,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`

	data   []byte // memory mode
	file   string // disk mode: the object file
	offset int64  // disk mode: where the body starts in file
}

// maxMetadataBytes is AWS's limit on user-defined metadata: the sum of the
// UTF-8 lengths of keys and values.
const maxMetadataBytes = 2048

// maxKeyBytes is the longest object key S3 accepts.
const maxKeyBytes = 1024

// NewS3 returns an S3, loading buckets and objects from the data directory
// if one is set.
func NewS3(opts ...S3Option) (*S3, error) {
	s := &S3{
		cfg:     s3Config{now: time.Now, region: "us-east-1"},
		buckets: map[string]*s3Bucket{},
		uploads: map[string]*s3Upload{},
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	if s.cfg.dataDir != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	for _, b := range s.cfg.buckets {
		if _, err := s.createBucket(b); err != nil && !isAPICode(err, "BucketAlreadyOwnedByYou") {
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return s, nil
}

// Close releases the S3. Every acknowledged write is already on disk.
func (s *S3) Close() error { return nil }

func (s *S3) now() time.Time { return s.cfg.now().UTC().Truncate(time.Millisecond) }

func isAPICode(err error, code string) bool {
	ae, ok := err.(smithy.APIError)
	return ok && ae.ErrorCode() == code
}

func s3Error(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultClient}
}

func noSuchBucket(b string) error {
	return &s3types.NoSuchBucket{Message: aws.String("The specified bucket does not exist: " + b)}
}

func (s *S3) bucket(name string) (*s3Bucket, error) {
	b, ok := s.buckets[name]
	if !ok {
		return nil, noSuchBucket(name)
	}
	return b, nil
}

func (s *S3) createBucket(name string) (*s3Bucket, error) {
	if !validBucketName(name) {
		return nil, s3Error("InvalidBucketName", "The specified bucket is not valid: "+name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[name]; ok {
		return nil, &s3types.BucketAlreadyOwnedByYou{Message: aws.String("Your previous request to create the named bucket succeeded and you already own it.")}
	}
	b := &s3Bucket{name: name, created: s.now(), objects: map[string]*s3Object{}}
	if s.cfg.dataDir != "" {
		dir, err := createBucketDir(s.cfg.dataDir, name, b.created)
		if err != nil {
			return nil, &smithy.GenericAPIError{Code: "InternalError", Message: err.Error(), Fault: smithy.FaultServer}
		}
		b.dir = dir
	}
	s.buckets[name] = b
	return b, nil
}

func validBucketName(b string) bool {
	if len(b) < 3 || len(b) > 63 || strings.Contains(b, "..") {
		return false
	}
	for i, c := range b {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' && c != '.' || i == 0 || i == len(b)-1) {
			return false
		}
	}
	return true
}

// CreateBucket creates a bucket. As in us-east-1, creating a bucket you
// already own fails with BucketAlreadyOwnedByYou in-process; over HTTP the
// us-east-1 answer (200) is given.
func (s *S3) CreateBucket(ctx context.Context, in *s3.CreateBucketInput, _ ...func(*s3.Options)) (*s3.CreateBucketOutput, error) {
	if _, err := s.createBucket(aws.ToString(in.Bucket)); err != nil {
		return nil, err
	}
	return &s3.CreateBucketOutput{Location: aws.String("/" + aws.ToString(in.Bucket))}, nil
}

// HeadBucket reports whether a bucket exists, with the NotFound error the
// SDK gives for a HEAD miss.
func (s *S3) HeadBucket(ctx context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.buckets[aws.ToString(in.Bucket)]; !ok {
		return nil, &s3types.NotFound{Message: aws.String("Not Found")}
	}
	return &s3.HeadBucketOutput{BucketRegion: aws.String(s.cfg.region)}, nil
}

// DeleteBucket removes an empty bucket.
func (s *S3) DeleteBucket(ctx context.Context, in *s3.DeleteBucketInput, _ ...func(*s3.Options)) (*s3.DeleteBucketOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(aws.ToString(in.Bucket))
	if err != nil {
		return nil, err
	}
	if len(b.objects) > 0 {
		return nil, s3Error("BucketNotEmpty", "The bucket you tried to delete is not empty")
	}
	if b.dir != "" {
		if err := os.RemoveAll(b.dir); err != nil {
			return nil, &smithy.GenericAPIError{Code: "InternalError", Message: err.Error(), Fault: smithy.FaultServer}
		}
	}
	delete(s.buckets, b.name)
	return &s3.DeleteBucketOutput{}, nil
}

// ListBuckets lists buckets by name.
func (s *S3) ListBuckets(ctx context.Context, in *s3.ListBucketsInput, _ ...func(*s3.Options)) (*s3.ListBucketsOutput, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := &s3.ListBucketsOutput{Owner: &s3types.Owner{ID: aws.String(ownerID), DisplayName: aws.String("sesinbound")}}
	for _, name := range slices.Sorted(maps.Keys(s.buckets)) {
		out.Buckets = append(out.Buckets, s3types.Bucket{Name: aws.String(name), CreationDate: aws.Time(s.buckets[name].created)})
	}
	return out, nil
}

const ownerID = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"

// PutObject stores an object. With a data directory the object is on disk,
// atomically and durably, before PutObject returns.
func (s *S3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	obj := &s3Object{
		Key:                aws.ToString(in.Key),
		ContentType:        aws.ToString(in.ContentType),
		ContentEncoding:    aws.ToString(in.ContentEncoding),
		ContentDisposition: aws.ToString(in.ContentDisposition),
		ContentLanguage:    aws.ToString(in.ContentLanguage),
		CacheControl:       aws.ToString(in.CacheControl),
		Metadata:           lowerKeys(in.Metadata),
	}
	body := in.Body
	if body == nil {
		body = bytes.NewReader(nil)
	}
	size := int64(-1)
	if in.ContentLength != nil {
		size = *in.ContentLength
	}
	if err := s.put(aws.ToString(in.Bucket), obj, body, size, nil); err != nil {
		return nil, err
	}
	return &s3.PutObjectOutput{ETag: aws.String(obj.ETag)}, nil
}

func lowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// put stores obj with the bytes read from body. size, when not -1, is the
// exact length body must have; verify, when set, checks the bytes before
// they are published.
func (s *S3) put(bucket string, obj *s3Object, body io.Reader, size int64, verify func(data []byte, sum []byte) error) error {
	if len(obj.Key) == 0 {
		return s3Error("InvalidArgument", "the object key is empty")
	}
	if len(obj.Key) > maxKeyBytes {
		return s3Error("KeyTooLongError", "Your key is too long")
	}
	metaSize := 0
	for k, v := range obj.Metadata {
		metaSize += len(k) + len(v)
	}
	if metaSize > maxMetadataBytes {
		return s3Error("MetadataTooLarge", fmt.Sprintf("Your metadata headers exceed the maximum allowed metadata size (%d bytes, the limit is %d)", metaSize, maxMetadataBytes))
	}
	s.mu.RLock()
	b, err := s.bucket(bucket)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	obj.LastModified = s.now()
	if b.dir == "" {
		data, err := readBody(body, size)
		if err != nil {
			return err
		}
		sum := md5.Sum(data)
		if verify != nil {
			if err := verify(data, sum[:]); err != nil {
				return err
			}
		}
		obj.data, obj.Size, obj.ETag = data, int64(len(data)), `"`+hex.EncodeToString(sum[:])+`"`
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.buckets[bucket] != b {
			return noSuchBucket(bucket)
		}
		b.objects[obj.Key] = obj
		return nil
	}
	return s.putFile(b, obj, body, size, verify)
}

// readBody reads an object body in memory, checking its declared length.
func readBody(body io.Reader, size int64) ([]byte, error) {
	var data []byte
	var err error
	if size >= 0 {
		data = make([]byte, size)
		_, err = io.ReadFull(body, data)
		if err == nil {
			var one [1]byte
			if n, _ := body.Read(one[:]); n > 0 {
				return nil, s3Error("IncompleteBody", "the body is longer than Content-Length")
			}
		}
	} else {
		data, err = io.ReadAll(body)
	}
	if err != nil {
		if ae, ok := err.(smithy.APIError); ok {
			return nil, ae
		}
		return nil, s3Error("IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header: "+err.Error())
	}
	return data, nil
}

// object finds an object for reading.
func (s *S3) object(bucket, key string) (*s3Object, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, err := s.bucket(bucket)
	if err != nil {
		return nil, err
	}
	o, ok := b.objects[key]
	if !ok {
		return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return o, nil
}

// open returns a reader of bytes [start, end) of an object.
func (o *s3Object) open(start, end int64) (io.ReadCloser, error) {
	if o.file == "" {
		return io.NopCloser(bytes.NewReader(o.data[start:end])), nil
	}
	f, err := os.Open(o.file)
	if err != nil {
		return nil, &smithy.GenericAPIError{Code: "InternalError", Message: "open object: " + err.Error(), Fault: smithy.FaultServer}
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, o.offset+start, end-start), f}, nil
}

// byteRange is a resolved Range request: bytes [start, end) of size.
type byteRange struct {
	start, end, size int64
	partial          bool
}

func (r byteRange) contentRange() string {
	return fmt.Sprintf("bytes %d-%d/%d", r.start, r.end-1, r.size)
}

// parseRange resolves a Range header against an object size. Forms:
// bytes=a-b, bytes=a- and the suffix bytes=-n. Anything else, several
// ranges included, is ignored and the whole object is served, as S3 does.
func parseRange(h string, size int64) (byteRange, error) {
	full := byteRange{0, size, size, false}
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return full, nil
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return full, nil
	}
	invalid := s3Error("InvalidRange", "The requested range is not satisfiable")
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return full, nil
		}
		if n == 0 || size == 0 {
			return full, invalid
		}
		return byteRange{max(size-n, 0), size, size, true}, nil
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return full, nil
	}
	if a >= size {
		return full, invalid
	}
	end := size
	if last != "" {
		b, err := strconv.ParseInt(last, 10, 64)
		if err != nil || b < a {
			return full, nil
		}
		end = min(b+1, size)
	}
	return byteRange{a, end, size, true}, nil
}

// GetObject returns an object, or part of it with Range.
func (s *S3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	o, err := s.object(aws.ToString(in.Bucket), aws.ToString(in.Key))
	if err != nil {
		return nil, err
	}
	r, err := parseRange(aws.ToString(in.Range), o.Size)
	if err != nil {
		return nil, err
	}
	body, err := o.open(r.start, r.end)
	if err != nil {
		return nil, err
	}
	out := &s3.GetObjectOutput{
		Body:          body,
		ContentLength: aws.Int64(r.end - r.start),
		ETag:          aws.String(o.ETag),
		LastModified:  aws.Time(o.LastModified),
		ContentType:   aws.String(o.contentType()),
		Metadata:      maps.Clone(o.Metadata),
		AcceptRanges:  aws.String("bytes"),
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	if r.partial {
		out.ContentRange = aws.String(r.contentRange())
	}
	setIf(&out.ContentEncoding, o.ContentEncoding)
	setIf(&out.ContentDisposition, o.ContentDisposition)
	setIf(&out.ContentLanguage, o.ContentLanguage)
	setIf(&out.CacheControl, o.CacheControl)
	return out, nil
}

// HeadObject returns an object's metadata, with NotFound for a miss as the
// SDK reports HEAD misses.
func (s *S3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	o, err := s.object(aws.ToString(in.Bucket), aws.ToString(in.Key))
	if err != nil {
		if _, ok := err.(*s3types.NoSuchKey); ok {
			return nil, &s3types.NotFound{Message: aws.String("Not Found")}
		}
		return nil, err
	}
	out := &s3.HeadObjectOutput{
		ContentLength: aws.Int64(o.Size),
		ETag:          aws.String(o.ETag),
		LastModified:  aws.Time(o.LastModified),
		ContentType:   aws.String(o.contentType()),
		Metadata:      maps.Clone(o.Metadata),
		AcceptRanges:  aws.String("bytes"),
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	setIf(&out.ContentEncoding, o.ContentEncoding)
	setIf(&out.ContentDisposition, o.ContentDisposition)
	setIf(&out.ContentLanguage, o.ContentLanguage)
	setIf(&out.CacheControl, o.CacheControl)
	return out, nil
}

func setIf(dst **string, v string) {
	if v != "" {
		*dst = aws.String(v)
	}
}

// contentType is what S3 reports when none was given at upload.
func (o *s3Object) contentType() string {
	if o.ContentType == "" {
		return "binary/octet-stream"
	}
	return o.ContentType
}

// DeleteObject removes an object; deleting a missing key succeeds, as in S3.
func (s *S3) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(aws.ToString(in.Bucket))
	if err != nil {
		return nil, err
	}
	if o, ok := b.objects[aws.ToString(in.Key)]; ok {
		if o.file != "" {
			if err := os.Remove(o.file); err != nil && !os.IsNotExist(err) {
				return nil, &smithy.GenericAPIError{Code: "InternalError", Message: err.Error(), Fault: smithy.FaultServer}
			}
		}
		delete(b.objects, o.Key)
	}
	return &s3.DeleteObjectOutput{}, nil
}

// ListObjectsV2 lists a bucket's keys in UTF-8 byte order.
func (s *S3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	after := aws.ToString(in.StartAfter)
	if tok := aws.ToString(in.ContinuationToken); tok != "" {
		k, err := decodeToken(tok)
		if err != nil {
			return nil, err
		}
		after = k
	}
	maxKeys := int32(1000)
	if in.MaxKeys != nil {
		maxKeys = *in.MaxKeys
	}
	page, err := s.list(aws.ToString(in.Bucket), aws.ToString(in.Prefix), aws.ToString(in.Delimiter), after, int(maxKeys))
	if err != nil {
		return nil, err
	}
	out := &s3.ListObjectsV2Output{
		Name:              in.Bucket,
		Prefix:            in.Prefix,
		Delimiter:         in.Delimiter,
		MaxKeys:           aws.Int32(maxKeys),
		StartAfter:        in.StartAfter,
		ContinuationToken: in.ContinuationToken,
		IsTruncated:       aws.Bool(page.truncated),
		KeyCount:          aws.Int32(int32(len(page.objects) + len(page.prefixes))),
	}
	if page.truncated {
		out.NextContinuationToken = aws.String(encodeToken(page.last))
	}
	for _, o := range page.objects {
		out.Contents = append(out.Contents, s3types.Object{
			Key: aws.String(o.Key), LastModified: aws.Time(o.LastModified), ETag: aws.String(o.ETag),
			Size: aws.Int64(o.Size), StorageClass: s3types.ObjectStorageClassStandard,
		})
	}
	for _, p := range page.prefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, s3types.CommonPrefix{Prefix: aws.String(p)})
	}
	return out, nil
}

type listPage struct {
	objects   []*s3Object
	prefixes  []string
	truncated bool
	last      string // the last key or prefix returned, to continue after
}

// list returns up to maxKeys keys and common prefixes after the key after.
func (s *S3) list(bucket, prefix, delimiter, after string, maxKeys int) (listPage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, err := s.bucket(bucket)
	if err != nil {
		return listPage{}, err
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var page listPage
	for _, k := range keys {
		entry, isPrefix := k, false
		if delimiter != "" {
			if i := strings.Index(k[len(prefix):], delimiter); i >= 0 {
				entry, isPrefix = k[:len(prefix)+i+len(delimiter)], true
				if len(page.prefixes) > 0 && page.prefixes[len(page.prefixes)-1] == entry {
					continue
				}
				if entry <= after {
					continue // a prefix already returned on an earlier page
				}
			}
		}
		if len(page.objects)+len(page.prefixes) >= maxKeys {
			page.truncated = true
			break
		}
		if isPrefix {
			page.prefixes = append(page.prefixes, entry)
			// Continue after every key under this prefix.
			page.last = entry + "\U0010FFFF"
		} else {
			page.objects = append(page.objects, b.objects[k])
			page.last = k
		}
	}
	return page, nil
}
