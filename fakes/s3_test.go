package fakes_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	awsv1 "github.com/aws/aws-sdk-go/aws"
	credsv1 "github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	s3v1 "github.com/aws/aws-sdk-go/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sesinbound/sesinbound/fakes"
)

// s3API is what the tests call, so one table runs in-process and over HTTP.
type s3API interface {
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	ListBuckets(ctx context.Context, in *s3.ListBucketsInput, optFns ...func(*s3.Options)) (*s3.ListBucketsOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

func newS3(t *testing.T, opts ...fakes.S3Option) *fakes.S3 {
	t.Helper()
	s, err := fakes.NewS3(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestS3(t *testing.T) {
	for _, mode := range []string{"memory", "disk"} {
		for _, via := range []string{"in-process", "http"} {
			t.Run(mode+"/"+via, func(t *testing.T) {
				var opts []fakes.S3Option
				if mode == "disk" {
					opts = append(opts, fakes.WithS3DataDir(t.TempDir()))
				}
				s := newS3(t, opts...)
				var api s3API = s
				if via == "http" {
					api, _, _ = serve(t, s, nil)
				}
				testS3(t, api)
			})
		}
	}
}

func get(t *testing.T, api s3API, bucket, key, rng string) ([]byte, *s3.GetObjectOutput) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: &bucket, Key: &key}
	if rng != "" {
		in.Range = &rng
	}
	out, err := api.GetObject(t.Context(), in)
	if err != nil {
		t.Fatalf("GetObject(%s, %q): %v", key, rng, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, out
}

func testS3(t *testing.T, api s3API) {
	ctx := t.Context()
	bucket := "mail-bucket"
	if _, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	body := []byte("Return-Path: <a@example.org>\r\n\r\nhello, encrypted world: 0123456789abcdef")
	meta := map[string]string{"X-Amz-Key-V2": "a2V5", "x-amz-iv": "aXY=", "x-amz-matdesc": `{"kms_cmk_id":"arn"}`}
	if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("inbound/msg"), Body: bytes.NewReader(body), Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	got, out := get(t, api, bucket, "inbound/msg", "")
	// The SDK sends application/octet-stream when no type is given; S3's
	// own default, in-process, is binary/octet-stream.
	if ct := aws.ToString(out.ContentType); !bytes.Equal(got, body) || aws.ToInt64(out.ContentLength) != int64(len(body)) ||
		ct != "binary/octet-stream" && ct != "application/octet-stream" {
		t.Fatalf("GetObject = %q, length %d, type %s", got, aws.ToInt64(out.ContentLength), aws.ToString(out.ContentType))
	}
	want := map[string]string{"x-amz-key-v2": "a2V5", "x-amz-iv": "aXY=", "x-amz-matdesc": `{"kms_cmk_id":"arn"}`}
	if fmt.Sprint(out.Metadata) != fmt.Sprint(want) {
		t.Fatalf("metadata = %v, want exactly %v (lower-cased keys, nothing else)", out.Metadata, want)
	}
	head, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("inbound/msg")})
	if err != nil || fmt.Sprint(head.Metadata) != fmt.Sprint(want) || aws.ToInt64(head.ContentLength) != int64(len(body)) {
		t.Fatalf("HeadObject = %+v, %v", head, err)
	}
	for _, tt := range []struct {
		rng, want, contentRange string
	}{
		{"bytes=-16", string(body[len(body)-16:]), fmt.Sprintf("bytes %d-%d/%d", len(body)-16, len(body)-1, len(body))},
		{"bytes=0-9", string(body[:10]), fmt.Sprintf("bytes 0-9/%d", len(body))},
		{"bytes=10-", string(body[10:]), fmt.Sprintf("bytes 10-%d/%d", len(body)-1, len(body))},
		{"bytes=-1000", string(body), fmt.Sprintf("bytes 0-%d/%d", len(body)-1, len(body))},
	} {
		got, out := get(t, api, bucket, "inbound/msg", tt.rng)
		if string(got) != tt.want || aws.ToString(out.ContentRange) != tt.contentRange || aws.ToInt64(out.ContentLength) != int64(len(tt.want)) {
			t.Errorf("Range %s = %q (%s, %d), want %q (%s)", tt.rng, got, aws.ToString(out.ContentRange), aws.ToInt64(out.ContentLength), tt.want, tt.contentRange)
		}
	}
	_, err = api.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("inbound/msg"), Range: aws.String("bytes=5000-")})
	if code := apiCode(err); code != "InvalidRange" {
		t.Errorf("unsatisfiable range = %v, want InvalidRange", err)
	}

	// Keys S3 allows that a file system or a URL router would mangle.
	odd := []string{"a b+c", "dir//double", "../up", "ünïcødé/ключ", "%2F", "q?x=1&y", strings.Repeat("k", 1024)}
	for _, k := range odd {
		if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(k), Body: strings.NewReader("v:" + k)}); err != nil {
			t.Fatalf("PutObject(%q): %v", k, err)
		}
		if got, _ := get(t, api, bucket, k, ""); string(got) != "v:"+k {
			t.Fatalf("GetObject(%q) = %q", k, got)
		}
	}
	_, err = api.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("x")})
	if apiCode(err) != "KeyTooLongError" {
		t.Errorf("1025-byte key = %v, want KeyTooLongError", err)
	}

	big := map[string]string{"big": strings.Repeat("x", 2046)}
	_, err = api.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("big"), Body: strings.NewReader("x"), Metadata: big})
	if apiCode(err) != "MetadataTooLarge" {
		t.Errorf("2 KB+ metadata = %v, want MetadataTooLarge", err)
	}

	// Listing: prefix, delimiter and pagination.
	for _, k := range []string{"list/a", "list/b/1", "list/b/2", "list/c", "list/d/1"} {
		if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	var keys, prefixes []string
	var token *string
	pages := 0
	for {
		page, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("list/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2), ContinuationToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, p := range page.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(p.Prefix))
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		token = page.NextContinuationToken
	}
	if !slices.Equal(keys, []string{"list/a", "list/c"}) || !slices.Equal(prefixes, []string{"list/b/", "list/d/"}) || pages != 2 {
		t.Errorf("listing = keys %v, prefixes %v in %d pages", keys, prefixes, pages)
	}
	all, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil || !slices.IsSortedFunc(all.Contents, func(a, b s3types.Object) int { return strings.Compare(*a.Key, *b.Key) }) {
		t.Errorf("a full listing is not in key order: %v", err)
	}

	if _, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("inbound/msg")}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("inbound/msg")}); err != nil {
		t.Fatalf("deleting a missing key: %v (S3 succeeds)", err)
	}
	_, err = api.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("inbound/msg")})
	var nk *s3types.NoSuchKey
	if !errors.As(err, &nk) {
		t.Errorf("GetObject(deleted) = %v, want NoSuchKey", err)
	}
	_, err = api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("inbound/msg")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HeadObject(deleted) = %v, want NotFound", err)
	}
	_, err = api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
	// PutObject has no modelled NoSuchBucket type; the SDK reports the code.
	if apiCode(err) != "NoSuchBucket" {
		t.Errorf("PutObject(no bucket) = %v, want NoSuchBucket", err)
	}
	_, err = api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	if apiCode(err) != "InvalidBucketName" {
		t.Errorf("CreateBucket(Bad_Name) = %v, want InvalidBucketName", err)
	}
	list, err := api.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(list.Buckets) != 1 || aws.ToString(list.Buckets[0].Name) != bucket {
		t.Errorf("ListBuckets = %+v, %v", list, err)
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// An aws-chunked upload, framed by hand the way SDKs stream with a trailing
// checksum, decodes to the payload, and a wrong checksum is refused.
func TestS3AWSChunked(t *testing.T) {
	s := newS3(t, fakes.WithBuckets("chunked"))
	_, _, url := serve(t, s, nil)
	payload := []byte(strings.Repeat("chunk-data ", 1000))
	sum := make([]byte, 4)
	binary.BigEndian.PutUint32(sum, crc32.ChecksumIEEE(payload))
	frame := func(checksum string) *bytes.Buffer {
		var b bytes.Buffer
		for rest := payload; len(rest) > 0; {
			n := min(len(rest), 4096)
			fmt.Fprintf(&b, "%x;chunk-signature=0000\r\n", n)
			b.Write(rest[:n])
			b.WriteString("\r\n")
			rest = rest[n:]
		}
		fmt.Fprintf(&b, "0\r\nx-amz-checksum-crc32:%s\r\n\r\n", checksum)
		return &b
	}
	put := func(key, checksum string) *http.Response {
		req, _ := http.NewRequest(http.MethodPut, url+"/chunked/"+key, frame(checksum))
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
		req.Header.Set("x-amz-decoded-content-length", fmt.Sprint(len(payload)))
		req.Header.Set("x-amz-trailer", "x-amz-checksum-crc32")
		req.Header.Set("x-amz-meta-Kept", "yes")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := put("good", base64.StdEncoding.EncodeToString(sum)); resp.StatusCode != 200 {
		t.Fatalf("aws-chunked PUT = %s", resp.Status)
	}
	got, out := get(t, s, "chunked", "good", "")
	if !bytes.Equal(got, payload) || fmt.Sprint(out.Metadata) != "map[kept:yes]" || aws.ToString(out.ContentEncoding) != "" {
		t.Fatalf("stored %d bytes (want %d), metadata %v, encoding %q", len(got), len(payload), out.Metadata, aws.ToString(out.ContentEncoding))
	}
	if resp := put("bad", "AAAAAA=="); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("aws-chunked PUT with a wrong checksum = %s, want 400 BadDigest", resp.Status)
	}
	if _, err := s.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("chunked"), Key: aws.String("bad")}); err == nil {
		t.Fatalf("an upload with a bad checksum was stored")
	}
}

// aws-sdk-go v1, which s3crypto uses, reads objects and metadata.
func TestS3SDKv1(t *testing.T) {
	s := newS3(t, fakes.WithBuckets("v1-bucket"))
	_, _, url := serve(t, s, nil)
	if _, err := s.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("v1-bucket"), Key: aws.String("k"),
		Body: strings.NewReader("body"), Metadata: map[string]string{"x-amz-wrap-alg": "kms"}}); err != nil {
		t.Fatal(err)
	}
	sess := session.Must(session.NewSession(&awsv1.Config{Region: awsv1.String("us-east-1"), Endpoint: awsv1.String(url),
		S3ForcePathStyle: awsv1.Bool(true), Credentials: credsv1.NewStaticCredentials("a", "b", "")}))
	c := s3v1.New(sess)
	out, err := c.GetObject(&s3v1.GetObjectInput{Bucket: awsv1.String("v1-bucket"), Key: awsv1.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "body" || awsv1.StringValue(out.Metadata["X-Amz-Wrap-Alg"]) != "kms" {
		t.Fatalf("v1 GetObject = %q, metadata %v", b, out.Metadata)
	}
	head, err := c.HeadObject(&s3v1.HeadObjectInput{Bucket: awsv1.String("v1-bucket"), Key: awsv1.String("k")})
	if err != nil || awsv1.Int64Value(head.ContentLength) != 4 {
		t.Fatalf("v1 HeadObject = %v, %v", head, err)
	}
}

func TestS3Persistence(t *testing.T) {
	dir := t.TempDir()
	s, err := fakes.NewS3(fakes.WithS3DataDir(dir), fakes.WithBuckets("kept"))
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{"x-amz-matdesc": "{}"}
	for _, k := range []string{"a", "dir/b", "../c"} {
		if _, err := s.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("kept"), Key: aws.String(k), Body: strings.NewReader("body " + k), Metadata: meta}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	leftover := filepath.Join(dir, "kept", ".tmp-999")
	os.WriteFile(leftover, []byte("torn"), 0o644)

	s2, err := fakes.NewS3(fakes.WithS3DataDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "dir/b", "../c"} {
		got, out := get(t, s2, "kept", k, "")
		if string(got) != "body "+k || out.Metadata["x-amz-matdesc"] != "{}" {
			t.Errorf("after restart %q = %q, %v", k, got, out.Metadata)
		}
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover temporary file survived the restart")
	}

	// A damaged object file is reported, naming the file, not served.
	files, _ := filepath.Glob(filepath.Join(dir, "kept", "*.obj"))
	os.Truncate(files[0], 10)
	if _, err := fakes.NewS3(fakes.WithS3DataDir(dir)); err == nil || !strings.Contains(err.Error(), files[0]) {
		t.Errorf("NewS3 with a truncated object file = %v, want an error naming it", err)
	}
}
