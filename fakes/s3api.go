package fakes

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The in-process API: the methods of *s3.Client that sesinbound and its
// tests use, with its signatures and the errors it returns (see
// s3SDKError). The options arguments are accepted and ignored.

// CreateBucket creates a bucket. Re-creating a bucket you own succeeds in
// us-east-1, as in S3, and fails with *s3types.BucketAlreadyOwnedByYou in
// other regions (see WithS3Region).
func (s *S3) CreateBucket(ctx context.Context, in *s3.CreateBucketInput, _ ...func(*s3.Options)) (*s3.CreateBucketOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.createBucket(aws.ToString(in.Bucket)); err != nil {
		return nil, s3SDKError("CreateBucket", err)
	}
	return &s3.CreateBucketOutput{Location: aws.String("/" + aws.ToString(in.Bucket))}, nil
}

// HeadBucket reports whether a bucket exists; a missing one is
// *s3types.NotFound.
func (s *S3) HeadBucket(ctx context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := s.bucket(aws.ToString(in.Bucket)); err != nil {
		return nil, s3SDKError("HeadBucket", err)
	}
	return &s3.HeadBucketOutput{BucketRegion: aws.String(s.cfg.region)}, nil
}

// DeleteBucket removes an empty bucket.
func (s *S3) DeleteBucket(ctx context.Context, in *s3.DeleteBucketInput, _ ...func(*s3.Options)) (*s3.DeleteBucketOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.deleteBucket(aws.ToString(in.Bucket)); err != nil {
		return nil, s3SDKError("DeleteBucket", err)
	}
	return &s3.DeleteBucketOutput{}, nil
}

// ListBuckets lists the buckets, by name, optionally only those starting
// with in.Prefix.
func (s *S3) ListBuckets(ctx context.Context, in *s3.ListBucketsInput, _ ...func(*s3.Options)) (*s3.ListBucketsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := &s3.ListBucketsOutput{
		Owner:  &s3types.Owner{ID: aws.String(s3OwnerID), DisplayName: aws.String(s3OwnerDisplayName)},
		Prefix: in.Prefix,
	}
	for _, b := range s.listBuckets() {
		if strings.HasPrefix(b.name, aws.ToString(in.Prefix)) {
			out.Buckets = append(out.Buckets, s3types.Bucket{Name: aws.String(b.name), CreationDate: aws.Time(b.created), BucketRegion: aws.String(s.cfg.region)})
		}
	}
	return out, nil
}

// PutObject stores an object, reading in.Body to the end (exactly
// in.ContentLength bytes, if set). With a data directory the body is
// streamed to disk, and the object is durably stored before PutObject
// returns. Metadata keys are stored lower-case, as S3 does; Content-MD5 and
// Checksum* values in the input are verified.
func (s *S3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var body io.Reader = bytes.NewReader(nil)
	if in.Body != nil {
		body = in.Body
	}
	size := int64(-1)
	if in.ContentLength != nil {
		size = *in.ContentLength
	}
	sums := s3InputDigests(in)
	o, err := s.putObject(s3Put{
		bucket: aws.ToString(in.Bucket),
		meta: s3Meta{
			Key:                aws.ToString(in.Key),
			ContentType:        aws.ToString(in.ContentType),
			ContentEncoding:    aws.ToString(in.ContentEncoding),
			ContentDisposition: aws.ToString(in.ContentDisposition),
			ContentLanguage:    aws.ToString(in.ContentLanguage),
			CacheControl:       aws.ToString(in.CacheControl),
			Metadata:           s3LowerKeys(in.Metadata),
		},
		body: body,
		size: size,
		sums: sums,
	})
	if err != nil {
		return nil, s3SDKError("PutObject", err)
	}
	out := &s3.PutObjectOutput{Size: aws.Int64(o.Size)}
	if o.ETag != "" {
		out.ETag = aws.String(o.ETag) // left out when it is computed on first read
	}
	for header, v := range sums.checksums() {
		switch header {
		case "x-amz-checksum-crc32":
			out.ChecksumCRC32 = aws.String(v)
		case "x-amz-checksum-crc32c":
			out.ChecksumCRC32C = aws.String(v)
		case "x-amz-checksum-crc64nvme":
			out.ChecksumCRC64NVME = aws.String(v)
		case "x-amz-checksum-sha1":
			out.ChecksumSHA1 = aws.String(v)
		case "x-amz-checksum-sha256":
			out.ChecksumSHA256 = aws.String(v)
		}
	}
	return out, nil
}

// s3LowerKeys copies user metadata with its keys lower-cased.
func s3LowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// GetObject returns an object, or the part in.Range names (bytes=a-b,
// bytes=a- or bytes=-n). The caller closes the Body. A missing key is
// *s3types.NoSuchKey.
func (s *S3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return s.getObject(ctx, "GetObject", in, true)
}

// getObject serves GetObject and, without the body, HeadObject.
func (s *S3) getObject(ctx context.Context, op string, in *s3.GetObjectInput, withBody bool) (*s3.GetObjectOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	checksums := in.ChecksumMode == s3types.ChecksumModeEnabled
	h, err := s.openObject(aws.ToString(in.Bucket), aws.ToString(in.Key), withBody || checksums)
	if err != nil {
		return nil, s3SDKError(op, err)
	}
	rng, err := s3Preconditions(h.s3Object, aws.ToString(in.IfMatch), aws.ToString(in.IfNoneMatch), aws.ToTime(in.IfModifiedSince), aws.ToTime(in.IfUnmodifiedSince), aws.ToString(in.Range))
	if err != nil {
		h.close()
		return nil, s3SDKError(op, err)
	}
	out := &s3.GetObjectOutput{
		ContentLength:      aws.Int64(rng.end - rng.start),
		ETag:               aws.String(h.etag()),
		LastModified:       aws.Time(h.LastModified),
		ContentType:        aws.String(h.contentType()),
		Metadata:           s3CloneMetadata(h.Metadata),
		AcceptRanges:       aws.String("bytes"),
		ContentEncoding:    s3OptString(h.ContentEncoding),
		ContentDisposition: s3OptString(h.ContentDisposition),
		ContentLanguage:    s3OptString(h.ContentLanguage),
		CacheControl:       s3OptString(h.CacheControl),
	}
	if len(h.Tags) > 0 {
		out.TagCount = aws.Int32(int32(len(h.Tags)))
	}
	if checksums && !rng.partial {
		sums, err := h.checksums()
		if err != nil {
			h.close()
			return nil, s3SDKError(op, s3Internal("checksum object", err))
		}
		out.ChecksumCRC32, out.ChecksumCRC32C = s3OptString(sums["x-amz-checksum-crc32"]), s3OptString(sums["x-amz-checksum-crc32c"])
		out.ChecksumCRC64NVME, out.ChecksumSHA1 = s3OptString(sums["x-amz-checksum-crc64nvme"]), s3OptString(sums["x-amz-checksum-sha1"])
		out.ChecksumSHA256, out.ChecksumType = s3OptString(sums["x-amz-checksum-sha256"]), s3types.ChecksumTypeFullObject
	}
	if withBody {
		out.Body = h.section(rng)
	} else {
		h.close() // held only to compute checksums
	}
	if rng.partial {
		out.ContentRange = aws.String(rng.contentRange(h.Size))
	}
	return out, nil
}

// HeadObject returns an object's metadata. A missing key, or bucket, is
// *s3types.NotFound, as the SDK reports a HEAD answered 404.
func (s *S3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	g, err := s.getObject(ctx, "HeadObject", &s3.GetObjectInput{Bucket: in.Bucket, Key: in.Key, IfMatch: in.IfMatch,
		IfNoneMatch: in.IfNoneMatch, IfModifiedSince: in.IfModifiedSince, IfUnmodifiedSince: in.IfUnmodifiedSince, Range: in.Range,
		ChecksumMode: in.ChecksumMode}, false)
	if err != nil {
		return nil, err
	}
	return &s3.HeadObjectOutput{ContentLength: g.ContentLength, ETag: g.ETag, LastModified: g.LastModified,
		ContentType: g.ContentType, Metadata: g.Metadata, AcceptRanges: g.AcceptRanges, ContentRange: g.ContentRange,
		ContentEncoding: g.ContentEncoding, ContentDisposition: g.ContentDisposition,
		ContentLanguage: g.ContentLanguage, CacheControl: g.CacheControl, TagCount: g.TagCount,
		ChecksumCRC32: g.ChecksumCRC32, ChecksumCRC32C: g.ChecksumCRC32C, ChecksumCRC64NVME: g.ChecksumCRC64NVME,
		ChecksumSHA1: g.ChecksumSHA1, ChecksumSHA256: g.ChecksumSHA256, ChecksumType: g.ChecksumType}, nil
}

// s3CloneMetadata copies user metadata for an output; like the SDK, it
// gives nil when there is none.
func s3CloneMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// s3OptString is nil for "", as an absent header is in SDK outputs.
func s3OptString(v string) *string {
	if v == "" {
		return nil
	}
	return aws.String(v)
}

// s3Preconditions applies a GET or HEAD's conditions (If-Match,
// If-None-Match, If-Modified-Since, If-Unmodified-Since, in S3's order of
// precedence) and its Range to an object, and returns the range to serve.
func s3Preconditions(o *s3Object, ifMatch, ifNoneMatch string, ifModifiedSince, ifUnmodifiedSince time.Time, rangeHeader string) (s3Range, error) {
	failed := s3Err("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	notModified := s3Err("NotModified", "Not Modified")
	lastModified := o.LastModified.Truncate(time.Second) // HTTP dates have seconds
	switch {
	case ifMatch != "" && !s3ETagMatches(ifMatch, o.etag()):
		return s3Range{}, failed
	case ifMatch == "" && !ifUnmodifiedSince.IsZero() && lastModified.After(ifUnmodifiedSince):
		return s3Range{}, failed
	case ifNoneMatch != "" && s3ETagMatches(ifNoneMatch, o.etag()):
		return s3Range{}, notModified
	case ifNoneMatch == "" && !ifModifiedSince.IsZero() && !lastModified.After(ifModifiedSince):
		return s3Range{}, notModified
	}
	if rangeHeader == "" {
		return s3Range{0, o.Size, false}, nil
	}
	return s3ParseRange(rangeHeader, o.Size)
}

// s3ETagMatches reports whether an If-Match or If-None-Match list names
// etag.
func s3ETagMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimPrefix(strings.TrimSpace(e), "W/")
		if e == "*" || strings.Trim(e, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// DeleteObject removes an object; deleting a missing key succeeds, as in
// S3.
func (s *S3) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.deleteObject(aws.ToString(in.Bucket), aws.ToString(in.Key)); err != nil {
		return nil, s3SDKError("DeleteObject", err)
	}
	return &s3.DeleteObjectOutput{}, nil
}

// ListObjectsV2 lists a bucket's keys in UTF-8 byte order, a page of at
// most in.MaxKeys (1000 by default and at most) at a time. A missing bucket
// is *s3types.NoSuchBucket.
func (s *S3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	maxKeys := s3MaxListKeys
	if in.MaxKeys != nil {
		if *in.MaxKeys < 0 {
			return nil, s3SDKError("ListObjectsV2", s3Err("InvalidArgument", "max-keys must be a non-negative integer"))
		}
		maxKeys = min(int(*in.MaxKeys), s3MaxListKeys)
	}
	bucket := aws.ToString(in.Bucket)
	page, err := s.listV2(bucket, aws.ToString(in.Prefix), aws.ToString(in.Delimiter), aws.ToString(in.StartAfter), aws.ToString(in.ContinuationToken), maxKeys)
	if err != nil {
		return nil, s3SDKError("ListObjectsV2", err)
	}
	enc := s3ListEncoder(string(in.EncodingType))
	out := &s3.ListObjectsV2Output{
		Name:              aws.String(bucket),
		Prefix:            aws.String(enc(aws.ToString(in.Prefix))),
		Delimiter:         s3OptString(enc(aws.ToString(in.Delimiter))),
		StartAfter:        s3OptString(enc(aws.ToString(in.StartAfter))),
		MaxKeys:           aws.Int32(int32(maxKeys)),
		KeyCount:          aws.Int32(int32(len(page.objects) + len(page.prefixes))),
		IsTruncated:       aws.Bool(page.truncated),
		ContinuationToken: in.ContinuationToken,
		EncodingType:      in.EncodingType,
	}
	if page.truncated {
		out.NextContinuationToken = aws.String(s3EncodeToken(page.last))
	}
	for _, o := range page.objects {
		obj := s3types.Object{
			Key:          aws.String(enc(o.Key)),
			LastModified: aws.Time(o.LastModified),
			ETag:         aws.String(o.etag()),
			Size:         aws.Int64(o.Size),
			StorageClass: s3types.ObjectStorageClassStandard,
		}
		if aws.ToBool(in.FetchOwner) {
			obj.Owner = &s3types.Owner{ID: aws.String(s3OwnerID), DisplayName: aws.String(s3OwnerDisplayName)}
		}
		out.Contents = append(out.Contents, obj)
	}
	for _, p := range page.prefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, s3types.CommonPrefix{Prefix: aws.String(enc(p))})
	}
	return out, nil
}

// s3MaxListKeys is the most keys a listing returns in one page.
const s3MaxListKeys = 1000

// listV2 runs a ListObjectsV2 query: a continuation token, when given,
// takes precedence over startAfter.
func (s *S3) listV2(bucket, prefix, delimiter, startAfter, token string, maxKeys int) (s3Page, error) {
	after := startAfter
	if token != "" {
		var err error
		if after, err = s3DecodeToken(token); err != nil {
			return s3Page{}, err
		}
	}
	return s.list(bucket, s3ListQuery{prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxKeys})
}

// s3EncodeToken makes a continuation token: the opaque form of the last
// key or common prefix of a page.
func s3EncodeToken(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

func s3DecodeToken(token string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", s3Err("InvalidArgument", "The continuation token provided is incorrect")
	}
	return string(b), nil
}
