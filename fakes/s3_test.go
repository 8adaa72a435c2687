package fakes_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sesinbound/sesinbound/fakes"
)

// s3API is the part of *s3.Client the tests call, so that one scenario
// runs against the fake in-process and against real clients over HTTP.
type s3API interface {
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	DeleteBucket(ctx context.Context, in *s3.DeleteBucketInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketOutput, error)
	ListBuckets(ctx context.Context, in *s3.ListBucketsInput, optFns ...func(*s3.Options)) (*s3.ListBucketsOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ s3API = (*fakes.S3)(nil)

// s3TestTime is the fake clock of the tests: whole seconds, so that it
// survives the HTTP date format.
func s3TestTime() time.Time { return time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC) }

func s3New(t *testing.T, opts ...fakes.S3Option) *fakes.S3 {
	t.Helper()
	s, err := fakes.NewS3(append([]fakes.S3Option{fakes.WithS3Clock(s3TestTime)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// s3EachAPI runs f against an S3 in memory and one on disk, each called
// in-process and through aws-sdk-go-v2 over HTTP.
func s3EachAPI(t *testing.T, f func(t *testing.T, s *fakes.S3, api s3API)) {
	for _, mode := range []string{"memory", "disk"} {
		for _, via := range []string{"in-process", "http"} {
			t.Run(mode+"/"+via, func(t *testing.T) {
				var opts []fakes.S3Option
				if mode == "disk" {
					opts = append(opts, fakes.WithS3DataDir(t.TempDir()))
				}
				s := s3New(t, opts...)
				var api s3API = s
				if via == "http" {
					api, _, _ = serve(t, s, nil)
				}
				f(t, s, api)
			})
		}
	}
}

func s3Put(t *testing.T, api s3API, bucket, key string, body []byte, meta map[string]string) *s3.PutObjectOutput {
	t.Helper()
	out, err := api.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body), Metadata: meta})
	if err != nil {
		t.Fatalf("PutObject(%s, %q): %v", bucket, key, err)
	}
	return out
}

func s3Get(t *testing.T, api s3API, bucket, key, rng string) ([]byte, *s3.GetObjectOutput) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: &bucket, Key: &key}
	if rng != "" {
		in.Range = &rng
	}
	out, err := api.GetObject(t.Context(), in)
	if err != nil {
		t.Fatalf("GetObject(%s, %q, %q): %v", bucket, key, rng, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, out
}

// s3Code is the API error code of err, or "".
func s3Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// s3Shape describes the API error in err as errors.As sees it: its type
// and code.
func s3Shape(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Sprint(err)
	}
	return fmt.Sprintf("%T %s", ae, ae.ErrorCode())
}

func s3ETag(body []byte) string {
	sum := md5.Sum(body)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func s3CreateBucket(t *testing.T, api s3API, bucket string) {
	t.Helper()
	if _, err := api.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("CreateBucket(%s): %v", bucket, err)
	}
}

func TestS3ObjectRoundTrip(t *testing.T) {
	s3EachAPI(t, func(t *testing.T, _ *fakes.S3, api s3API) {
		ctx := t.Context()
		s3CreateBucket(t, api, "mail")
		body := []byte("Return-Path: <a@example.org>\r\n\r\nciphertext and a 16-byte GCM tag: 0123456789abcdef")
		meta := map[string]string{"X-Amz-Key-V2": "a2V5", "x-amz-iv": "aXY=", "X-AMZ-MATDESC": `{"aws:x-amz-cek-alg":"AES/GCM/NoPadding"}`}
		put := s3Put(t, api, "mail", "inbound/msg", body, meta)
		// In-process puts leave the ETag out; it is computed when first read.
		if put.ETag != nil && aws.ToString(put.ETag) != s3ETag(body) {
			t.Errorf("PutObject ETag = %s, want %s", aws.ToString(put.ETag), s3ETag(body))
		}

		wantMeta := map[string]string{"x-amz-key-v2": "a2V5", "x-amz-iv": "aXY=", "x-amz-matdesc": `{"aws:x-amz-cek-alg":"AES/GCM/NoPadding"}`}
		got, out := s3Get(t, api, "mail", "inbound/msg", "")
		if !bytes.Equal(got, body) {
			t.Errorf("GetObject body = %q, want %q", got, body)
		}
		if !maps.Equal(out.Metadata, wantMeta) {
			t.Errorf("GetObject metadata = %v, want exactly %v", out.Metadata, wantMeta)
		}
		if aws.ToInt64(out.ContentLength) != int64(len(body)) || aws.ToString(out.ETag) != s3ETag(body) ||
			!aws.ToTime(out.LastModified).Equal(s3TestTime()) || aws.ToString(out.ContentRange) != "" {
			t.Errorf("GetObject = length %d, ETag %s, modified %v, range %q", aws.ToInt64(out.ContentLength),
				aws.ToString(out.ETag), aws.ToTime(out.LastModified), aws.ToString(out.ContentRange))
		}
		// The SDK sends application/octet-stream when no type is given;
		// S3's own default, which the in-process API gets, is
		// binary/octet-stream.
		if ct := aws.ToString(out.ContentType); ct != "binary/octet-stream" && ct != "application/octet-stream" {
			t.Errorf("GetObject Content-Type = %q", ct)
		}

		head, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mail"), Key: aws.String("inbound/msg")})
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(head.Metadata, wantMeta) || aws.ToInt64(head.ContentLength) != int64(len(body)) || aws.ToString(head.ETag) != s3ETag(body) {
			t.Errorf("HeadObject = metadata %v, length %d, ETag %s", head.Metadata, aws.ToInt64(head.ContentLength), aws.ToString(head.ETag))
		}

		typed := []byte("<html/>")
		if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mail"), Key: aws.String("typed"), Body: bytes.NewReader(typed),
			ContentType: aws.String("text/html"), ContentDisposition: aws.String("inline"), CacheControl: aws.String("no-cache")}); err != nil {
			t.Fatal(err)
		}
		_, out = s3Get(t, api, "mail", "typed", "")
		if aws.ToString(out.ContentType) != "text/html" || aws.ToString(out.ContentDisposition) != "inline" ||
			aws.ToString(out.CacheControl) != "no-cache" || len(out.Metadata) != 0 {
			t.Errorf("system metadata = type %q, disposition %q, cache %q, user %v", aws.ToString(out.ContentType),
				aws.ToString(out.ContentDisposition), aws.ToString(out.CacheControl), out.Metadata)
		}

		s3Put(t, api, "mail", "empty", nil, nil)
		if got, out := s3Get(t, api, "mail", "empty", ""); len(got) != 0 || aws.ToInt64(out.ContentLength) != 0 {
			t.Errorf("empty object = %q, length %d", got, aws.ToInt64(out.ContentLength))
		}
	})
}

func TestS3Ranges(t *testing.T) {
	body := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	n := len(body)
	tests := []struct {
		rng, want, contentRange string
	}{
		{"bytes=-16", string(body[n-16:]), fmt.Sprintf("bytes %d-%d/%d", n-16, n-1, n)},
		{"bytes=0-9", "0123456789", fmt.Sprintf("bytes 0-9/%d", n)},
		{"bytes=0-0", "0", fmt.Sprintf("bytes 0-0/%d", n)},
		{"bytes=10-", string(body[10:]), fmt.Sprintf("bytes 10-%d/%d", n-1, n)},
		{"bytes=30-1000", string(body[30:]), fmt.Sprintf("bytes 30-%d/%d", n-1, n)},
		{"bytes=-1000", string(body), fmt.Sprintf("bytes 0-%d/%d", n-1, n)},
		{"bytes=5-2", string(body), ""}, // invalid: ignored, as by S3
		{"items=0-1", string(body), ""},
	}
	s3EachAPI(t, func(t *testing.T, _ *fakes.S3, api s3API) {
		s3CreateBucket(t, api, "ranges")
		s3Put(t, api, "ranges", "k", body, nil)
		for _, tt := range tests {
			got, out := s3Get(t, api, "ranges", "k", tt.rng)
			if string(got) != tt.want || aws.ToString(out.ContentRange) != tt.contentRange || aws.ToInt64(out.ContentLength) != int64(len(tt.want)) {
				t.Errorf("Range %s = %q (Content-Range %q, length %d), want %q (%q)", tt.rng, got,
					aws.ToString(out.ContentRange), aws.ToInt64(out.ContentLength), tt.want, tt.contentRange)
			}
		}
		for _, rng := range []string{fmt.Sprintf("bytes=%d-", n), "bytes=1000-2000", "bytes=-0"} {
			_, err := api.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("ranges"), Key: aws.String("k"), Range: aws.String(rng)})
			if s3Code(err) != "InvalidRange" {
				t.Errorf("Range %s = %v, want InvalidRange", rng, err)
			}
		}
	})
}

// Keys S3 allows that a file system or a URL router would mangle come back
// exactly, from GetObject and from listings.
func TestS3Keys(t *testing.T) {
	keys := []string{"a b+c", "dir//double", "../up", "./dot", "ünïcødé/ключ/😀", "%2F", "percent%", "q?x=1&y=2#frag",
		"tab\tand~tilde", "/leading", "trailing/", strings.Repeat("k", 1024)}
	s3EachAPI(t, func(t *testing.T, _ *fakes.S3, api s3API) {
		s3CreateBucket(t, api, "keys")
		for _, k := range keys {
			s3Put(t, api, "keys", k, []byte("v:"+k), nil)
		}
		for _, k := range keys {
			if got, _ := s3Get(t, api, "keys", k, ""); string(got) != "v:"+k {
				t.Errorf("GetObject(%q) = %q", k, got)
			}
		}
		list, err := api.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("keys")})
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, o := range list.Contents {
			listed = append(listed, aws.ToString(o.Key))
		}
		if want := slices.Sorted(slices.Values(keys)); !slices.Equal(listed, want) {
			t.Errorf("listing = %q, want %q (byte order)", listed, want)
		}
		_, err = api.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("x")})
		if s3Code(err) != "KeyTooLongError" {
			t.Errorf("1025-byte key = %v, want KeyTooLongError", err)
		}
	})
}

func TestS3MetadataLimit(t *testing.T) {
	s3EachAPI(t, func(t *testing.T, _ *fakes.S3, api s3API) {
		s3CreateBucket(t, api, "meta")
		// 2 KB exactly: "key" and 2045 bytes of value.
		s3Put(t, api, "meta", "at-limit", []byte("x"), map[string]string{"key": strings.Repeat("v", 2045)})
		_, err := api.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("meta"), Key: aws.String("over"),
			Body: strings.NewReader("x"), Metadata: map[string]string{"key": strings.Repeat("v", 2046)}})
		if s3Code(err) != "MetadataTooLarge" {
			t.Errorf("2049 bytes of metadata = %v, want MetadataTooLarge", err)
		}
		_, err = api.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("meta"), Key: aws.String("over")})
		var nf *s3types.NotFound
		if !errors.As(err, &nf) {
			t.Errorf("a refused object was stored: %v", err)
		}
	})
}

func TestS3ListObjectsV2(t *testing.T) {
	keys := []string{"list/a", "list/b/1", "list/b/2", "list/b/3/x", "list/c", "list/d/1", "list/e", "other"}
	tests := []struct {
		name, prefix, delimiter, startAfter string
		maxKeys                             int32
		wantKeys, wantPrefixes              []string
		wantPages                           int
	}{
		{"all", "", "", "", 0, keys, nil, 1},
		{"prefix", "list/b/", "", "", 0, []string{"list/b/1", "list/b/2", "list/b/3/x"}, nil, 1},
		{"delimiter", "list/", "/", "", 0, []string{"list/a", "list/c", "list/e"}, []string{"list/b/", "list/d/"}, 1},
		{"delimiter pages", "list/", "/", "", 2, []string{"list/a", "list/c", "list/e"}, []string{"list/b/", "list/d/"}, 3},
		{"one per page", "list/", "/", "", 1, []string{"list/a", "list/c", "list/e"}, []string{"list/b/", "list/d/"}, 5},
		{"pages", "", "", "", 3, keys, nil, 3},
		{"start after", "", "", "list/c", 0, []string{"list/d/1", "list/e", "other"}, nil, 1},
		{"top level", "", "/", "", 0, []string{"other"}, []string{"list/"}, 1},
		{"no match", "zzz", "", "", 0, nil, nil, 1},
	}
	s3EachAPI(t, func(t *testing.T, _ *fakes.S3, api s3API) {
		s3CreateBucket(t, api, "list")
		for _, k := range keys {
			s3Put(t, api, "list", k, []byte(k), nil)
		}
		for _, tt := range tests {
			var gotKeys, gotPrefixes []string
			var token *string
			pages := 0
			for {
				in := &s3.ListObjectsV2Input{Bucket: aws.String("list"), Prefix: aws.String(tt.prefix), ContinuationToken: token}
				if tt.delimiter != "" {
					in.Delimiter = aws.String(tt.delimiter)
				}
				if tt.startAfter != "" {
					in.StartAfter = aws.String(tt.startAfter)
				}
				if tt.maxKeys > 0 {
					in.MaxKeys = aws.Int32(tt.maxKeys)
				}
				page, err := api.ListObjectsV2(t.Context(), in)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				pages++
				for _, o := range page.Contents {
					gotKeys = append(gotKeys, aws.ToString(o.Key))
					if aws.ToInt64(o.Size) != int64(len(aws.ToString(o.Key))) || o.StorageClass != s3types.ObjectStorageClassStandard ||
						!aws.ToTime(o.LastModified).Equal(s3TestTime()) || aws.ToString(o.ETag) != s3ETag([]byte(aws.ToString(o.Key))) {
						t.Errorf("%s: listed object %+v", tt.name, o)
					}
				}
				for _, p := range page.CommonPrefixes {
					gotPrefixes = append(gotPrefixes, aws.ToString(p.Prefix))
				}
				if n := int32(len(page.Contents) + len(page.CommonPrefixes)); aws.ToInt32(page.KeyCount) != n {
					t.Errorf("%s: KeyCount %d for %d entries", tt.name, aws.ToInt32(page.KeyCount), n)
				}
				if !aws.ToBool(page.IsTruncated) {
					break
				}
				if pages > 20 || aws.ToString(page.NextContinuationToken) == "" {
					t.Fatalf("%s: truncated page %d without a way on", tt.name, pages)
				}
				token = page.NextContinuationToken
			}
			if !slices.Equal(gotKeys, tt.wantKeys) || !slices.Equal(gotPrefixes, tt.wantPrefixes) || pages != tt.wantPages {
				t.Errorf("%s: keys %q, prefixes %q in %d pages; want %q, %q in %d", tt.name, gotKeys, gotPrefixes, pages,
					tt.wantKeys, tt.wantPrefixes, tt.wantPages)
			}
		}
		_, err := api.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("list"), ContinuationToken: aws.String("!!not a token!!")})
		if s3Code(err) != "InvalidArgument" {
			t.Errorf("a bad continuation token = %v, want InvalidArgument", err)
		}
	})
}

func TestS3Buckets(t *testing.T) {
	s3EachAPI(t, func(t *testing.T, _ *fakes.S3, api s3API) {
		ctx := t.Context()
		for _, b := range []string{"zeta", "alpha.example", "m-1"} {
			s3CreateBucket(t, api, b)
		}
		// us-east-1: creating a bucket you own again succeeds.
		s3CreateBucket(t, api, "zeta")
		list, err := api.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range list.Buckets {
			names = append(names, aws.ToString(b.Name))
			if !aws.ToTime(b.CreationDate).Equal(s3TestTime()) {
				t.Errorf("bucket %s created %v", aws.ToString(b.Name), aws.ToTime(b.CreationDate))
			}
		}
		if !slices.Equal(names, []string{"alpha.example", "m-1", "zeta"}) {
			t.Errorf("ListBuckets = %v", names)
		}
		for _, bad := range []string{"ab", strings.Repeat("a", 64), "Upper", "under_score", "-dash", "dash-", "two..dots", "192.168.1.1", "a b"} {
			_, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bad)})
			if s3Code(err) != "InvalidBucketName" {
				t.Errorf("CreateBucket(%q) = %v, want InvalidBucketName", bad, err)
			}
		}

		s3Put(t, api, "zeta", "k", []byte("x"), nil)
		_, err = api.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("zeta")})
		if s3Code(err) != "BucketNotEmpty" {
			t.Errorf("DeleteBucket(non-empty) = %v, want BucketNotEmpty", err)
		}
		if _, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("zeta"), Key: aws.String("k")}); err != nil {
			t.Fatal(err)
		}
		if _, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("zeta"), Key: aws.String("k")}); err != nil {
			t.Errorf("deleting a missing key = %v, S3 succeeds", err)
		}
		if _, err := api.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("zeta")}); err != nil {
			t.Fatal(err)
		}
		var nf *s3types.NotFound
		if _, err := api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("zeta")}); !errors.As(err, &nf) {
			t.Errorf("HeadBucket(deleted) = %v, want NotFound", err)
		}
		// A bucket created again after a delete is empty.
		s3CreateBucket(t, api, "zeta")
		if out, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("zeta")}); err != nil || len(out.Contents) != 0 {
			t.Errorf("re-created bucket lists %v, %v", out, err)
		}
	})
}

// The fake returns the errors aws-sdk-go-v2 returns when real S3 answers:
// the same type (modelled, generic, or for HEAD requests what the status
// alone tells) and code, in-process and over HTTP.
func TestS3ErrorsMatchSDK(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name  string
		call  func(api s3API) error
		shape string
	}{
		{"GetObject missing key", func(api s3API) error {
			_, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("errs"), Key: aws.String("nope")})
			return err
		}, "*types.NoSuchKey NoSuchKey"},
		{"GetObject missing bucket", func(api s3API) error {
			_, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k")})
			return err
		}, "*smithy.GenericAPIError NoSuchBucket"},
		{"HeadObject missing key", func(api s3API) error {
			_, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("errs"), Key: aws.String("nope")})
			return err
		}, "*types.NotFound NotFound"},
		{"HeadObject missing bucket", func(api s3API) error {
			_, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k")})
			return err
		}, "*types.NotFound NotFound"},
		{"HeadObject unsatisfiable range", func(api s3API) error {
			_, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("errs"), Key: aws.String("k"), Range: aws.String("bytes=100-")})
			return err
		}, "*smithy.GenericAPIError RequestedRangeNotSatisfiable"},
		{"HeadBucket missing", func(api s3API) error {
			_, err := api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("nobucket")})
			return err
		}, "*types.NotFound NotFound"},
		{"ListObjectsV2 missing bucket", func(api s3API) error {
			_, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("nobucket")})
			return err
		}, "*types.NoSuchBucket NoSuchBucket"},
		{"PutObject missing bucket", func(api s3API) error {
			_, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
			return err
		}, "*smithy.GenericAPIError NoSuchBucket"},
		{"PutObject metadata too large", func(api s3API) error {
			_, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("errs"), Key: aws.String("k2"), Body: strings.NewReader("x"),
				Metadata: map[string]string{"m": strings.Repeat("x", 3000)}})
			return err
		}, "*smithy.GenericAPIError MetadataTooLarge"},
		{"PutObject wrong checksum", func(api s3API) error {
			_, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("errs"), Key: aws.String("k2"), Body: strings.NewReader("x"),
				ChecksumCRC32: aws.String("AAAAAA==")})
			return err
		}, "*smithy.GenericAPIError BadDigest"},
		{"GetObject unsatisfiable range", func(api s3API) error {
			_, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("errs"), Key: aws.String("k"), Range: aws.String("bytes=100-")})
			return err
		}, "*smithy.GenericAPIError InvalidRange"},
		{"GetObject If-Match", func(api s3API) error {
			_, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("errs"), Key: aws.String("k"), IfMatch: aws.String(`"other"`)})
			return err
		}, "*smithy.GenericAPIError PreconditionFailed"},
		{"GetObject If-None-Match", func(api s3API) error {
			_, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("errs"), Key: aws.String("k"), IfNoneMatch: aws.String(s3ETag([]byte("x")))})
			return err
		}, "*smithy.GenericAPIError NotModified"},
		{"CreateBucket invalid name", func(api s3API) error {
			_, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
			return err
		}, "*smithy.GenericAPIError InvalidBucketName"},
		{"DeleteBucket not empty", func(api s3API) error {
			_, err := api.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("errs")})
			return err
		}, "*smithy.GenericAPIError BucketNotEmpty"},
		{"DeleteBucket missing", func(api s3API) error {
			_, err := api.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("nobucket")})
			return err
		}, "*smithy.GenericAPIError NoSuchBucket"},
		{"DeleteObject missing bucket", func(api s3API) error {
			_, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k")})
			return err
		}, "*smithy.GenericAPIError NoSuchBucket"},
	}
	s := s3New(t, fakes.WithBuckets("errs"))
	s3Put(t, s, "errs", "k", []byte("x"), nil)
	client, _, _ := serve(t, s, nil)
	for _, tt := range tests {
		for via, api := range map[string]s3API{"in-process": s, "http": client} {
			if got := s3Shape(tt.call(api)); got != tt.shape {
				t.Errorf("%s (%s) = %s, want %s", tt.name, via, got, tt.shape)
			}
		}
	}

	// Outside us-east-1, re-creating a bucket you own fails.
	eu := s3New(t, fakes.WithS3Region("eu-west-1"), fakes.WithBuckets("mine"))
	euClient, _, _ := serve(t, eu, nil)
	for via, api := range map[string]s3API{"in-process": eu, "http": euClient} {
		_, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mine")})
		var owned *s3types.BucketAlreadyOwnedByYou
		if !errors.As(err, &owned) {
			t.Errorf("CreateBucket(owned) in eu-west-1 (%s) = %v, want BucketAlreadyOwnedByYou", via, err)
		}
	}
}

// In-process PutObject verifies the checksums its input carries, as S3
// verifies the headers the SDK makes of them.
func TestS3InProcessChecksums(t *testing.T) {
	body := []byte("123456789")
	b64 := base64.StdEncoding.EncodeToString
	md5sum := md5.Sum(body)
	sha := sha256.Sum256(body)
	crc32c := binary.BigEndian.AppendUint32(nil, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	// The CRC-64/NVME check value, from the algorithm's catalogue entry.
	crc64nvme := binary.BigEndian.AppendUint64(nil, 0xae8b14860a799888)
	tests := []struct {
		name  string
		in    s3.PutObjectInput
		code  string
		check func(*s3.PutObjectOutput) string
	}{
		{"Content-MD5", s3.PutObjectInput{ContentMD5: aws.String(b64(md5sum[:]))}, "", nil},
		{"wrong Content-MD5", s3.PutObjectInput{ContentMD5: aws.String(b64(make([]byte, 16)))}, "BadDigest", nil},
		{"malformed Content-MD5", s3.PutObjectInput{ContentMD5: aws.String("nope")}, "InvalidDigest", nil},
		{"CRC32C", s3.PutObjectInput{ChecksumCRC32C: aws.String(b64(crc32c))}, "", func(o *s3.PutObjectOutput) string { return aws.ToString(o.ChecksumCRC32C) }},
		{"CRC64NVME", s3.PutObjectInput{ChecksumCRC64NVME: aws.String(b64(crc64nvme))}, "", func(o *s3.PutObjectOutput) string { return aws.ToString(o.ChecksumCRC64NVME) }},
		{"SHA256", s3.PutObjectInput{ChecksumSHA256: aws.String(b64(sha[:]))}, "", func(o *s3.PutObjectOutput) string { return aws.ToString(o.ChecksumSHA256) }},
		{"wrong SHA1", s3.PutObjectInput{ChecksumSHA1: aws.String(b64(make([]byte, 20)))}, "BadDigest", nil},
		{"short length", s3.PutObjectInput{ContentLength: aws.Int64(100)}, "IncompleteBody", nil},
	}
	s := s3New(t, fakes.WithBuckets("sums"))
	for _, tt := range tests {
		in := tt.in
		in.Bucket, in.Key, in.Body = aws.String("sums"), aws.String(tt.name), bytes.NewReader(body)
		out, err := s.PutObject(t.Context(), &in)
		if s3Code(err) != tt.code {
			t.Errorf("%s: PutObject = %v, want code %q", tt.name, err, tt.code)
			continue
		}
		if err == nil && tt.check != nil {
			if got := tt.check(out); got == "" {
				t.Errorf("%s: the verified checksum is not in the output", tt.name)
			}
		}
	}
}

func TestS3Persistence(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := fakes.NewS3(fakes.WithS3DataDir(dir), fakes.WithS3Clock(s3TestTime), fakes.WithBuckets("kept"))
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string]string{"a": "body a", "dir/b": "body b", "../c": "body c", "empty": "", strings.Repeat("k", 1024): "long"}
	for k, v := range objects {
		s3Put(t, s, "kept", k, []byte(v), map[string]string{"X-Amz-Matdesc": "{}", "k": k[:1]})
	}
	s3Put(t, s, "kept", "deleted", []byte("gone"), nil)
	if _, err := s.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("kept"), Key: aws.String("deleted")}); err != nil {
		t.Fatal(err)
	}
	s3Put(t, s, "kept", "a", []byte("body a, replaced"), map[string]string{"X-Amz-Matdesc": "{}", "k": "a"})
	objects["a"] = "body a, replaced"
	s3CreateBucket(t, s, "dropped")
	if _, err := s.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("dropped")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	leftover := filepath.Join(dir, "kept", ".tmp-123456")
	if err := os.WriteFile(leftover, []byte("torn write"), 0o600); err != nil {
		t.Fatal(err)
	}

	later := func() time.Time { return s3TestTime().Add(time.Hour) }
	s2, err := fakes.NewS3(fakes.WithS3DataDir(dir), fakes.WithS3Clock(later), fakes.WithBuckets("kept", "new"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	for k, v := range objects {
		got, out := s3Get(t, s2, "kept", k, "")
		want := map[string]string{"x-amz-matdesc": "{}", "k": k[:1]}
		if string(got) != v || !maps.Equal(out.Metadata, want) || aws.ToString(out.ETag) != s3ETag([]byte(v)) ||
			!aws.ToTime(out.LastModified).Equal(s3TestTime()) {
			t.Errorf("after restart %q = %q, %v, %s, %v", k, got, out.Metadata, aws.ToString(out.ETag), aws.ToTime(out.LastModified))
		}
	}
	if _, err := s2.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("kept"), Key: aws.String("deleted")}); err == nil {
		t.Errorf("a deleted object came back")
	}
	list, _ := s2.ListBuckets(ctx, &s3.ListBucketsInput{})
	var names []string
	for _, b := range list.Buckets {
		names = append(names, aws.ToString(b.Name))
		if aws.ToString(b.Name) == "kept" && !aws.ToTime(b.CreationDate).Equal(s3TestTime()) {
			t.Errorf("bucket creation date after restart = %v", aws.ToTime(b.CreationDate))
		}
	}
	if !slices.Equal(names, []string{"kept", "new"}) {
		t.Errorf("buckets after restart = %v, want [kept new]", names)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a leftover temporary file survived the restart: %v", err)
	}
	keys, _ := s2.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("kept")})
	if len(keys.Contents) != len(objects) {
		t.Errorf("after restart %d objects are listed, want %d", len(keys.Contents), len(objects))
	}
}

// A damaged object file fails NewS3 with an error naming it, rather than
// being served or silently dropped.
// A crash can tear only the end of a bucket's log; loading cuts the torn
// tail and keeps every whole record before it.
func TestS3PersistenceTornTail(t *testing.T) {
	tests := []struct {
		name     string
		damage   func(path string, ends []int64) error // ends: where each record ends
		survives []string                              // keys still there after the damage
	}{
		{"half of the last record", func(p string, ends []int64) error { return os.Truncate(p, ends[2]-30) }, []string{"a", "b"}},
		{"the last record's header", func(p string, ends []int64) error { return os.Truncate(p, ends[1]+10) }, []string{"a", "b"}},
		{"garbage after the last record", func(p string, ends []int64) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteString("junk that is not a record")
			return err
		}, []string{"a", "b", "c"}},
		{"a flipped byte in the middle record's body", func(p string, ends []int64) error {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte{'X'}, ends[1]-20)
			return err
		}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := fakes.NewS3(fakes.WithS3DataDir(dir), fakes.WithBuckets("bkt"))
			if err != nil {
				t.Fatal(err)
			}
			var ends []int64
			for _, k := range []string{"a", "b", "c"} {
				s3Put(t, s, "bkt", k, []byte(strings.Repeat("body ", 20)), map[string]string{"m": "v"})
				segs, _ := filepath.Glob(filepath.Join(dir, "bkt", "seg-*.log"))
				if len(segs) != 1 {
					t.Fatalf("segments = %v, want one", segs)
				}
				st, _ := os.Stat(segs[0])
				ends = append(ends, st.Size())
			}
			s.Close()
			segs, _ := filepath.Glob(filepath.Join(dir, "bkt", "seg-*.log"))
			if err := tt.damage(segs[0], ends); err != nil {
				t.Fatal(err)
			}
			s2, err := fakes.NewS3(fakes.WithS3DataDir(dir))
			if err != nil {
				t.Fatalf("NewS3 after a torn tail: %v", err)
			}
			var got []string
			for _, k := range []string{"a", "b", "c"} {
				if _, err := s2.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k)}); err == nil {
					got = append(got, k)
				}
			}
			if !slices.Equal(got, tt.survives) {
				t.Fatalf("objects after the damage = %v, want %v", got, tt.survives)
			}
			// The store keeps working after the cut.
			s3Put(t, s2, "bkt", "d", []byte("after"), nil)
			s2.Close()
			s3again, err := fakes.NewS3(fakes.WithS3DataDir(dir))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s3again.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("d")}); err != nil {
				t.Fatalf("a put after the cut is lost: %v", err)
			}
		})
	}
}

func TestS3DataDirUnusable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fakes.NewS3(fakes.WithS3DataDir(file)); err == nil {
		t.Errorf("NewS3 with a file as data dir succeeded")
	}
	if _, err := fakes.NewS3(fakes.WithBuckets("Not_Valid")); err == nil {
		t.Errorf("NewS3 with an invalid bucket name succeeded")
	}
}

// Readers racing writers of the same key always get a whole object: a body
// whose MD5 is the ETag that came with it.
func TestS3ConcurrentOverwrite(t *testing.T) {
	for _, mode := range []string{"memory", "disk"} {
		t.Run(mode, func(t *testing.T) {
			var opts []fakes.S3Option
			if mode == "disk" {
				opts = append(opts, fakes.WithS3DataDir(t.TempDir()))
			}
			s := s3New(t, append(opts, fakes.WithBuckets("race"))...)
			s3Put(t, s, "race", "k", []byte("first"), nil)
			ctx := t.Context()
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 15 {
						body := bytes.Repeat([]byte{byte('a' + w)}, 100+w*1000+i*37)
						if _, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("race"), Key: aws.String("k"), Body: bytes.NewReader(body)}); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 30 {
						out, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("race"), Key: aws.String("k")})
						if err != nil {
							t.Error(err)
							return
						}
						body, err := io.ReadAll(out.Body)
						out.Body.Close()
						if err != nil || s3ETag(body) != aws.ToString(out.ETag) || int64(len(body)) != aws.ToInt64(out.ContentLength) {
							t.Errorf("read %d bytes (%v) that are not the object %s of %d bytes", len(body), err, aws.ToString(out.ETag), aws.ToInt64(out.ContentLength))
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

// Keys deleted and put again, out of order, list once each and in order.
func TestS3ListAfterChurn(t *testing.T) {
	s := s3New(t, fakes.WithBuckets("churn"))
	for _, k := range []string{"m", "c", "x", "a"} {
		s3Put(t, s, "churn", k, []byte(k), nil)
	}
	s.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String("churn"), Key: aws.String("c")})
	s.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String("churn"), Key: aws.String("x")})
	s3Put(t, s, "churn", "c", []byte("again"), nil)
	s3Put(t, s, "churn", "b", []byte("b"), nil)
	out, err := s.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("churn")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if !slices.Equal(keys, []string{"a", "b", "c", "m"}) {
		t.Fatalf("keys = %v", keys)
	}
}

// With a data directory, an in-process put of a body whole in memory is
// written from where it lies: what is left of a partly read reader, at
// any size, and a short or long body against its declared length is
// refused as ever.
func TestS3PersistBorrowedBody(t *testing.T) {
	dir := t.TempDir()
	s, err := fakes.NewS3(fakes.WithS3DataDir(dir), fakes.WithBuckets("borrowed"))
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 6<<20/16) // past the in-memory spool
	for _, body := range [][]byte{[]byte("small body"), big} {
		r := bytes.NewReader(body)
		r.Read(make([]byte, 4))
		if _, err := s.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("borrowed"), Key: aws.String("k"), Body: r}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s3Get(t, s, "borrowed", "k", ""); !bytes.Equal(got, body[4:]) {
			t.Fatalf("stored %d bytes, want %d", len(got), len(body)-4)
		}
		for _, n := range []int64{int64(len(body)) - 1, int64(len(body)) + 1} {
			_, err := s.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("borrowed"), Key: aws.String("short-or-long"), Body: bytes.NewReader(body), ContentLength: aws.Int64(n)})
			if err == nil {
				t.Fatalf("a %d-byte body declared as %d bytes was stored", len(body), n)
			}
		}
	}
	s.Close()
	s2, err := fakes.NewS3(fakes.WithS3DataDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, _ := s3Get(t, s2, "borrowed", "k", ""); !bytes.Equal(got, big[4:]) {
		t.Fatalf("after a restart: %d bytes, want %d", len(got), len(big)-4)
	}
}

// Reset deletes every object of every bucket and keeps the buckets, in
// memory and with a data directory, where the space is given back and the
// emptiness survives a restart; writes after a reset are kept.
func TestS3Reset(t *testing.T) {
	for _, mode := range []string{"memory", "data dir"} {
		t.Run(mode, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			var opts []fakes.S3Option
			if mode == "data dir" {
				opts = append(opts, fakes.WithS3DataDir(dir))
			}
			s := s3New(t, append(opts, fakes.WithBuckets("one", "two"))...)
			big := bytes.Repeat([]byte("x"), 1<<20)
			for i := range 8 {
				s3Put(t, s, "one", fmt.Sprint("k", i), big, nil)
				s3Put(t, s, "two", fmt.Sprint("dir/k", i), []byte("small"), nil)
			}
			// A reader opened before the reset keeps its bytes.
			before, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("one"), Key: aws.String("k3")})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Reset(ctx); err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(before.Body); err != nil || !bytes.Equal(got, big) {
				t.Errorf("a body opened before the reset read %d bytes, %v", len(got), err)
			}
			before.Body.Close()
			for _, b := range []string{"one", "two"} {
				if _, err := s.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)}); err != nil {
					t.Errorf("bucket %s is gone after the reset: %v", b, err)
				}
				out, err := s.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
				if err != nil || len(out.Contents) != 0 {
					t.Errorf("bucket %s after the reset: %d objects, %v", b, len(out.Contents), err)
				}
			}
			if _, err := s.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("one"), Key: aws.String("k0")}); err == nil {
				t.Error("an object survived the reset")
			}
			s3Put(t, s, "one", "after", []byte("kept"), nil)
			if got, _ := s3Get(t, s, "one", "after", ""); string(got) != "kept" {
				t.Errorf("a put after the reset reads %q", got)
			}
			if mode == "memory" {
				return
			}
			if used := s3DirSize(t, filepath.Join(dir, "one")); used > 64<<10 {
				t.Errorf("bucket one uses %d bytes on disk after the reset, want the space back", used)
			}
			s.Close()
			s2 := s3New(t, fakes.WithS3DataDir(dir))
			out, err := s2.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("one")})
			if err != nil || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "after" {
				t.Fatalf("after a restart bucket one lists %v, %v; want only the put after the reset", out, err)
			}
			if got, _ := s3Get(t, s2, "one", "after", ""); string(got) != "kept" {
				t.Errorf("after a restart the put after the reset reads %q", got)
			}
			if out, _ := s2.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("two")}); len(out.Contents) != 0 {
				t.Errorf("after a restart bucket two lists %d objects", len(out.Contents))
			}
		})
	}
}

// s3DirSize is the number of bytes of the files in dir.
func s3DirSize(t *testing.T, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !info.IsDir() {
			n += info.Size()
		}
	}
	return n
}

// Listing walks an index and seeks past common prefixes; it must page
// exactly as the definition says, which this model computes by brute force
// over random keys, prefixes, delimiters and page sizes.
func TestS3ListMatchesModel(t *testing.T) {
	s := s3New(t, fakes.WithBuckets("model"))
	rng := rand.New(rand.NewPCG(16, 16))
	alphabet := []string{"a", "b", "/", "-", "\xff", "ab/"}
	word := func(n int) string {
		var b strings.Builder
		for range rng.IntN(n) + 1 {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	set := map[string]bool{}
	for range 300 {
		k := word(6)
		set[k] = true
		s3Put(t, s, "model", k, []byte("x"), nil)
	}
	keys := slices.Sorted(maps.Keys(set))
	for trial := range 300 {
		prefix, delim := "", ""
		if rng.IntN(2) == 0 {
			prefix = word(2)
		}
		if rng.IntN(3) > 0 {
			delim = alphabet[rng.IntN(len(alphabet))]
		}
		maxKeys := rng.IntN(7) + 1
		after := ""
		if rng.IntN(3) == 0 {
			after = word(3)
		}
		// The model: every entry in order, then cut into pages.
		var want []string
		for _, k := range keys {
			if !strings.HasPrefix(k, prefix) || k <= after {
				continue
			}
			e := k
			if delim != "" {
				if j := strings.Index(k[len(prefix):], delim); j >= 0 {
					if k[:len(prefix)+j+len(delim)] <= after {
						continue
					}
					e = k[:len(prefix)+j+len(delim)] + " (prefix)"
				}
			}
			if len(want) == 0 || want[len(want)-1] != e {
				want = append(want, e)
			}
		}
		var got []string
		in := &s3.ListObjectsV2Input{Bucket: aws.String("model"), Prefix: aws.String(prefix), MaxKeys: aws.Int32(int32(maxKeys))}
		if delim != "" {
			in.Delimiter = aws.String(delim)
		}
		if after != "" {
			in.StartAfter = aws.String(after)
		}
		for pages := 0; ; pages++ {
			page, err := s.ListObjectsV2(t.Context(), in)
			if err != nil || pages > len(keys)+1 {
				t.Fatalf("trial %d: %v after %d pages", trial, err, pages)
			}
			var entries []string
			for _, o := range page.Contents {
				entries = append(entries, aws.ToString(o.Key))
			}
			for _, p := range page.CommonPrefixes {
				entries = append(entries, aws.ToString(p.Prefix)+" (prefix)")
			}
			slices.SortFunc(entries, func(a, b string) int {
				return strings.Compare(strings.TrimSuffix(a, " (prefix)"), strings.TrimSuffix(b, " (prefix)"))
			})
			got = append(got, entries...)
			if !aws.ToBool(page.IsTruncated) {
				break
			}
			if len(entries) != maxKeys {
				t.Fatalf("trial %d: a truncated page of %d entries, want %d", trial, len(entries), maxKeys)
			}
			in.ContinuationToken = page.NextContinuationToken
		}
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: prefix %q delimiter %q start after %q max %d:\n got  %q\n want %q", trial, prefix, delim, after, maxKeys, got, want)
		}
	}
}
