package fakes_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	awsv1 "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	credsv1 "github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	s3v1 "github.com/aws/aws-sdk-go/service/s3"

	"github.com/sesinbound/sesinbound/fakes"
)

// s3Serve serves s over HTTP and returns its URL.
func s3Serve(t *testing.T, s *fakes.S3) string {
	t.Helper()
	_, _, url := serve(t, s, nil)
	return url
}

// s3Do sends a raw request and returns the response with its body read.
func s3Do(t *testing.T, method, url string, body []byte, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// s3ErrorDoc is S3's XML error document.
type s3ErrorDoc struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
}

func s3B64CRC32(b []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)))
}

func s3B64CRC32C(b []byte) string {
	sum := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, sum))
}

// s3Chunked frames payload in the aws-chunked encoding, in chunks of size
// bytes, with chunk signatures if signed, and the trailer lines given.
func s3Chunked(payload []byte, size int, signed bool, trailer ...string) []byte {
	var b bytes.Buffer
	ext := ""
	if signed {
		ext = ";chunk-signature=" + strings.Repeat("0", 64)
	}
	for rest := payload; len(rest) > 0; {
		n := min(len(rest), size)
		fmt.Fprintf(&b, "%x%s\r\n", n, ext)
		b.Write(rest[:n])
		b.WriteString("\r\n")
		rest = rest[n:]
	}
	fmt.Fprintf(&b, "0%s\r\n", ext)
	for _, line := range trailer {
		b.WriteString(line + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// aws-chunked bodies, as the SDKs and the aws CLI stream them, decode to
// their payload; their checksums, in headers or in the trailer, are
// verified; neither checksums nor other headers become metadata.
func TestS3HTTPAWSChunked(t *testing.T) {
	payload := []byte(strings.Repeat("chunk data, ", 2000))
	n := fmt.Sprint(len(payload))
	unsignedTrailer := func(name, value string) map[string]string {
		return map[string]string{"Content-Encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
			"x-amz-decoded-content-length": n, "x-amz-trailer": name, "x-amz-sdk-checksum-algorithm": "CRC32"}
	}
	tests := []struct {
		name     string
		body     []byte
		header   map[string]string
		status   int
		code     string
		encoding string // the Content-Encoding stored
	}{
		{"unsigned, CRC32 trailer", s3Chunked(payload, 8192, false, "x-amz-checksum-crc32:"+s3B64CRC32(payload)),
			unsignedTrailer("x-amz-checksum-crc32", ""), 200, "", ""},
		{"unsigned, CRC32C trailer", s3Chunked(payload, 1000, false, "x-amz-checksum-crc32c:"+s3B64CRC32C(payload)),
			unsignedTrailer("x-amz-checksum-crc32c", ""), 200, "", ""},
		{"signed chunks", s3Chunked(payload, 4096, true), map[string]string{"Content-Encoding": "aws-chunked",
			"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "x-amz-decoded-content-length": n}, 200, "", ""},
		{"signed chunks and trailer", s3Chunked(payload, 4096, true, "x-amz-checksum-crc32:"+s3B64CRC32(payload), "x-amz-trailer-signature:"+strings.Repeat("0", 64)),
			map[string]string{"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "x-amz-decoded-content-length": n,
				"x-amz-trailer": "x-amz-checksum-crc32"}, 200, "", ""},
		{"CRC32 header, gzip kept", s3Chunked(payload, 4096, false), map[string]string{"Content-Encoding": "aws-chunked,gzip",
			"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-decoded-content-length": n,
			"x-amz-checksum-crc32": s3B64CRC32(payload)}, 200, "", "gzip"},
		{"wrong CRC32 trailer", s3Chunked(payload, 8192, false, "x-amz-checksum-crc32:AAAAAA=="),
			unsignedTrailer("x-amz-checksum-crc32", ""), 400, "BadDigest", ""},
		{"wrong decoded length", s3Chunked(payload[1:], 8192, false), unsignedTrailer("", ""), 400, "IncompleteBody", ""},
		{"no last chunk", s3Chunked(payload, 8192, false)[:len(payload)/2], unsignedTrailer("", ""), 400, "IncompleteBody", ""},
		{"bad chunk size", []byte("zz\r\nabc\r\n0\r\n\r\n"), unsignedTrailer("", ""), 400, "IncompleteBody", ""},
	}
	for _, dataDir := range []string{"", t.TempDir()} {
		s := s3New(t, fakes.WithS3DataDir(dataDir), fakes.WithBuckets("chunked"))
		url := s3Serve(t, s)
		for i, tt := range tests {
			key := fmt.Sprintf("k%d", i)
			header := maps.Clone(tt.header)
			header["x-amz-meta-Kept"] = "yes"
			header["x-amz-date"] = "20261123T060000Z"
			header["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
			resp, data := s3Do(t, http.MethodPut, url+"/chunked/"+key, tt.body, header)
			var doc s3ErrorDoc
			xml.Unmarshal(data, &doc)
			if resp.StatusCode != tt.status || doc.Code != tt.code {
				t.Errorf("%s: PUT = %s %s (%s), want %d %s", tt.name, resp.Status, doc.Code, doc.Message, tt.status, tt.code)
				continue
			}
			_, err := s.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("chunked"), Key: aws.String(key)})
			if tt.status != 200 {
				if err == nil {
					t.Errorf("%s: a refused upload was stored", tt.name)
				}
				continue
			}
			if resp.Header.Get("ETag") != s3ETag(payload) {
				t.Errorf("%s: ETag %s, want %s", tt.name, resp.Header.Get("ETag"), s3ETag(payload))
			}
			got, out := s3Get(t, s, "chunked", key, "")
			if !bytes.Equal(got, payload) || err != nil {
				t.Errorf("%s: stored %d bytes (%v), want the %d of the payload", tt.name, len(got), err, len(payload))
			}
			if !maps.Equal(out.Metadata, map[string]string{"kept": "yes"}) || aws.ToString(out.ContentEncoding) != tt.encoding {
				t.Errorf("%s: metadata %v, Content-Encoding %q; want only kept=yes and %q", tt.name, out.Metadata, aws.ToString(out.ContentEncoding), tt.encoding)
			}
		}
	}
}

// aws-sdk-go-v2 uploads with its default checksums, over TLS streaming
// them in an aws-chunked trailer, and the fake verifies what it sends.
func TestS3HTTPSDKUploads(t *testing.T) {
	payload := []byte(strings.Repeat("streamed ", 5000))
	seekable := func() io.Reader { return bytes.NewReader(payload) }
	unseekable := func() io.Reader { return io.MultiReader(bytes.NewReader(payload)) }
	tests := []struct {
		name      string
		body      func() io.Reader
		algorithm s3types.ChecksumAlgorithm
	}{
		{"seekable", seekable, ""},
		{"SHA256", seekable, s3types.ChecksumAlgorithmSha256},
		// Without TLS the SDK refuses to stream a body it cannot rewind.
		{"unseekable", unseekable, ""},
		{"unseekable CRC32C", unseekable, s3types.ChecksumAlgorithmCrc32c},
	}
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			s := s3New(t, fakes.WithBuckets("sdk"))
			var mu sync.Mutex
			chunked := 0
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.Header.Get("x-amz-content-sha256"), "STREAMING-") {
					mu.Lock()
					chunked++
					mu.Unlock()
				}
				fakes.Handler(s, nil).ServeHTTP(w, r)
			})
			srv := httptest.NewUnstartedServer(h)
			if useTLS {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			client := s3.NewFromConfig(testConfig(), func(o *s3.Options) {
				o.BaseEndpoint = aws.String(srv.URL)
				o.UsePathStyle = true
				o.HTTPClient = srv.Client()
			})
			for _, tt := range tests {
				body := tt.body()
				if _, ok := body.(io.Seeker); !ok && !useTLS {
					continue
				}
				in := &s3.PutObjectInput{Bucket: aws.String("sdk"), Key: aws.String(tt.name), Body: body,
					ContentLength: aws.Int64(int64(len(payload))), ChecksumAlgorithm: tt.algorithm,
					Metadata: map[string]string{"Mixed-Case": "Value"}}
				if _, err := client.PutObject(t.Context(), in); err != nil {
					t.Errorf("%s: PutObject: %v", tt.name, err)
					continue
				}
				got, out := s3Get(t, client, "sdk", tt.name, "")
				if !bytes.Equal(got, payload) || !maps.Equal(out.Metadata, map[string]string{"mixed-case": "Value"}) {
					t.Errorf("%s: got %d bytes, metadata %v", tt.name, len(got), out.Metadata)
				}
			}
			if useTLS && chunked == 0 {
				t.Errorf("the SDK sent no aws-chunked upload over TLS")
			}
			t.Logf("%d aws-chunked uploads", chunked)
		})
	}
}

// Wire details the SDKs hide: statuses, headers and XML documents.
func TestS3HTTPWire(t *testing.T) {
	s := s3New(t)
	url := s3Serve(t, s)
	ok := func(resp *http.Response, data []byte, want int) {
		t.Helper()
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %s %s, want %d", resp.Request.Method, resp.Request.URL, resp.Status, data, want)
		}
		if resp.Header.Get("x-amz-request-id") == "" || resp.Header.Get("x-amz-id-2") == "" {
			t.Errorf("%s %s: no request ID", resp.Request.Method, resp.Request.URL)
		}
	}
	wantError := func(resp *http.Response, data []byte, status int, code, resource string) {
		t.Helper()
		ok(resp, data, status)
		var doc s3ErrorDoc
		if err := xml.Unmarshal(data, &doc); err != nil || doc.Code != code || doc.Resource != resource ||
			doc.RequestID != resp.Header.Get("x-amz-request-id") || doc.Message == "" {
			t.Errorf("%s %s: error document %s (%v), want code %s, resource %s", resp.Request.Method, resp.Request.URL, data, err, code, resource)
		}
	}

	// CreateBucket, with and without a configuration, and again: us-east-1
	// answers 200 each time.
	resp, data := s3Do(t, http.MethodPut, url+"/wire", nil, nil)
	ok(resp, data, 200)
	if resp.Header.Get("Location") != "/wire" {
		t.Errorf("CreateBucket Location = %q", resp.Header.Get("Location"))
	}
	resp, data = s3Do(t, http.MethodPut, url+"/wire", nil, nil)
	ok(resp, data, 200)
	conf := []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`)
	resp, data = s3Do(t, http.MethodPut, url+"/wire2", conf, nil)
	ok(resp, data, 200)
	resp, data = s3Do(t, http.MethodPut, url+"/Wire_3", nil, nil)
	wantError(resp, data, 400, "InvalidBucketName", "/Wire_3")

	// PutObject keeps x-amz-meta-* headers and the content headers, and
	// nothing else.
	body := []byte("hello, wire")
	resp, data = s3Do(t, http.MethodPut, url+"/wire/dir//a%2Fb+c%20d", body, map[string]string{
		"x-amz-date": "20261123T060000Z", "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-checksum-crc32": s3B64CRC32(body),
		"x-amz-sdk-checksum-algorithm": "CRC32", "X-Amz-Meta-Camel-Case": "Value With Spaces", "x-amz-meta-json": `{"a":"b"}`,
		"Content-Disposition": "attachment", "Expect": "100-continue",
	})
	ok(resp, data, 200)
	if resp.Header.Get("ETag") != s3ETag(body) || resp.Header.Get("x-amz-checksum-crc32") != s3B64CRC32(body) {
		t.Errorf("PutObject response ETag %q, checksum %q", resp.Header.Get("ETag"), resp.Header.Get("x-amz-checksum-crc32"))
	}
	key := "dir//a/b+c d" // %2F is "/" in a key, "+" is "+"
	resp, data = s3Do(t, http.MethodGet, url+"/wire/dir//a/b+c%20d", nil, nil)
	ok(resp, data, 200)
	var meta []string
	for name, values := range resp.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-meta-") {
			meta = append(meta, strings.ToLower(name)+"="+strings.Join(values, "|"))
		}
	}
	slices.Sort(meta)
	if want := []string{"x-amz-meta-camel-case=Value With Spaces", `x-amz-meta-json={"a":"b"}`}; !slices.Equal(meta, want) {
		t.Errorf("metadata headers = %q, want %q", meta, want)
	}
	for name, want := range map[string]string{
		"Content-Type": "binary/octet-stream", "Content-Length": fmt.Sprint(len(body)), "ETag": s3ETag(body),
		"Last-Modified": "Mon, 23 Nov 2026 06:00:00 GMT", "Accept-Ranges": "bytes", "Content-Disposition": "attachment",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("GetObject %s = %q, want %q", name, got, want)
		}
	}
	if string(data) != string(body) {
		t.Errorf("GetObject body = %q", data)
	}
	if _, out := s3Get(t, s, "wire", key, ""); len(out.Metadata) != 2 {
		t.Errorf("in-process metadata = %v", out.Metadata)
	}

	// Ranges: 206 and Content-Range, or 416 with bytes */size.
	resp, data = s3Do(t, http.MethodGet, url+"/wire/"+strings.ReplaceAll(key, " ", "%20"), nil, map[string]string{"Range": "bytes=-4"})
	ok(resp, data, 206)
	if string(data) != "wire" || resp.Header.Get("Content-Range") != "bytes 7-10/11" || resp.Header.Get("Content-Length") != "4" {
		t.Errorf("Range bytes=-4 = %q, %q, %q", data, resp.Header.Get("Content-Range"), resp.Header.Get("Content-Length"))
	}
	resp, data = s3Do(t, http.MethodGet, url+"/wire/dir//a/b+c%20d", nil, map[string]string{"Range": "bytes=11-"})
	wantError(resp, data, 416, "InvalidRange", "/wire/"+key)
	if resp.Header.Get("Content-Range") != "bytes */11" {
		t.Errorf("416 Content-Range = %q", resp.Header.Get("Content-Range"))
	}
	resp, data = s3Do(t, http.MethodHead, url+"/wire/dir//a/b+c%20d", nil, map[string]string{"Range": "bytes=0-1"})
	ok(resp, data, 206)
	if resp.Header.Get("Content-Length") != "2" || len(data) != 0 {
		t.Errorf("HEAD with Range: length %q, body %q", resp.Header.Get("Content-Length"), data)
	}
	resp, data = s3Do(t, http.MethodGet, url+"/wire/dir//a/b+c%20d?response-content-type=text/plain&x-id=GetObject&X-Amz-Expires=60", nil, nil)
	ok(resp, data, 200)
	if resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("response-content-type: Content-Type = %q", resp.Header.Get("Content-Type"))
	}
	resp, data = s3Do(t, http.MethodGet, url+"/wire/dir//a/b+c%20d", nil, map[string]string{"If-None-Match": s3ETag(body)})
	ok(resp, data, 304)

	// Errors: XML documents, except for HEAD.
	resp, data = s3Do(t, http.MethodGet, url+"/wire/missing", nil, nil)
	wantError(resp, data, 404, "NoSuchKey", "/wire/missing")
	resp, data = s3Do(t, http.MethodGet, url+"/nobucket/k", nil, nil)
	wantError(resp, data, 404, "NoSuchBucket", "/nobucket/k")
	resp, data = s3Do(t, http.MethodHead, url+"/wire/missing", nil, nil)
	ok(resp, data, 404)
	if len(data) != 0 {
		t.Errorf("HEAD error has a body: %q", data)
	}
	resp, data = s3Do(t, http.MethodHead, url+"/nobucket", nil, nil)
	ok(resp, data, 404)
	resp, data = s3Do(t, http.MethodHead, url+"/wire", nil, nil)
	ok(resp, data, 200)
	resp, data = s3Do(t, http.MethodGet, url+"/wire/missing?tagging", nil, nil)
	wantError(resp, data, 404, "NoSuchKey", "/wire/missing")
	resp, data = s3Do(t, http.MethodGet, url+"/wire/missing?legal-hold", nil, nil)
	wantError(resp, data, 501, "NotImplemented", "/wire/missing")
	resp, data = s3Do(t, http.MethodGet, url+"/wire?acl", nil, nil)
	wantError(resp, data, 501, "NotImplemented", "/wire")
	resp, data = s3Do(t, http.MethodPut, url+"/wire/md5", body, map[string]string{"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="})
	wantError(resp, data, 400, "BadDigest", "/wire/md5")
	resp, data = s3Do(t, http.MethodPut, url+"/wire/sha", body, map[string]string{"x-amz-content-sha256": strings.Repeat("0", 64)})
	wantError(resp, data, 400, "XAmzContentSHA256Mismatch", "/wire/sha")
	resp, data = s3Do(t, http.MethodPut, url+"/wire/big-meta", body, map[string]string{"x-amz-meta-m": strings.Repeat("x", 2048)})
	wantError(resp, data, 400, "MetadataTooLarge", "/wire/big-meta")
	resp, data = s3Do(t, http.MethodDelete, url+"/wire", nil, nil)
	wantError(resp, data, 409, "BucketNotEmpty", "/wire")

	// GetBucketLocation and GetBucketVersioning.
	resp, data = s3Do(t, http.MethodGet, url+"/wire?location", nil, nil)
	ok(resp, data, 200)
	if !bytes.Contains(data, []byte(`<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`)) {
		t.Errorf("GetBucketLocation = %s", data)
	}
	resp, data = s3Do(t, http.MethodGet, url+"/wire?versioning", nil, nil)
	ok(resp, data, 200)

	// Virtual-host style: <bucket>.localhost.
	resp, data = s3Do(t, http.MethodPut, url+"/vh/key", []byte("virtual"), map[string]string{"Host": "wire.localhost"})
	ok(resp, data, 200)
	if got, _ := s3Get(t, s, "wire", "vh/key", ""); string(got) != "virtual" {
		t.Errorf("virtual-host PUT stored %q", got)
	}

	// DeleteObject answers 204, present or not.
	for range 2 {
		resp, data = s3Do(t, http.MethodDelete, url+"/wire/vh/key", nil, nil)
		ok(resp, data, 204)
	}
}

// s3ListResult is a ListObjects or ListObjectsV2 document.
type s3ListResult struct {
	Name           string   `xml:"Name"`
	Prefix         string   `xml:"Prefix"`
	KeyCount       int      `xml:"KeyCount"`
	IsTruncated    bool     `xml:"IsTruncated"`
	NextMarker     string   `xml:"NextMarker"`
	EncodingType   string   `xml:"EncodingType"`
	Keys           []string `xml:"Contents>Key"`
	LastModified   []string `xml:"Contents>LastModified"`
	StorageClass   []string `xml:"Contents>StorageClass"`
	CommonPrefixes []string `xml:"CommonPrefixes>Prefix"`
}

// Listings as the aws CLI asks for them (encoding-type=url) and version 1.
func TestS3HTTPListings(t *testing.T) {
	s := s3New(t, fakes.WithBuckets("lists"))
	for _, k := range []string{"a b+c/ü", "a b+c/x&y", "plain", "q/1", "q/2"} {
		s3Put(t, s, "lists", k, []byte("x"), nil)
	}
	url := s3Serve(t, s)
	tests := []struct {
		query string
		want  s3ListResult
	}{
		{"?list-type=2&prefix=&encoding-type=url", s3ListResult{Name: "lists", KeyCount: 5, EncodingType: "url",
			Keys: []string{"a%20b%2Bc/x%26y", "a%20b%2Bc/%C3%BC", "plain", "q/1", "q/2"}}},
		{"?list-type=2&prefix=a%20b&delimiter=%2F&encoding-type=url", s3ListResult{Name: "lists", Prefix: "a%20b", KeyCount: 1,
			EncodingType: "url", CommonPrefixes: []string{"a%20b%2Bc/"}}},
		{"?list-type=2&delimiter=/", s3ListResult{Name: "lists", KeyCount: 3, Keys: []string{"plain"}, CommonPrefixes: []string{"a b+c/", "q/"}}},
		{"?delimiter=/&max-keys=2", s3ListResult{Name: "lists", IsTruncated: true, NextMarker: "plain", Keys: []string{"plain"}, CommonPrefixes: []string{"a b+c/"}}},
		{"?marker=plain", s3ListResult{Name: "lists", Keys: []string{"q/1", "q/2"}}},
		{"?prefix=q/&max-keys=1", s3ListResult{Name: "lists", Prefix: "q/", IsTruncated: true, Keys: []string{"q/1"}}},
		{"?encoding-type=url&prefix=a", s3ListResult{Name: "lists", Prefix: "a", EncodingType: "url", Keys: []string{"a%20b%2Bc/x%26y", "a%20b%2Bc/%C3%BC"}}},
	}
	for _, tt := range tests {
		resp, data := s3Do(t, http.MethodGet, url+"/lists"+tt.query, nil, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/xml" {
			t.Errorf("GET %s = %s (%s)", tt.query, resp.Status, resp.Header.Get("Content-Type"))
			continue
		}
		if !bytes.Contains(data, []byte(`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)) {
			t.Errorf("GET %s: no namespaced ListBucketResult in %s", tt.query, data)
		}
		var got s3ListResult
		if err := xml.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		for i := range got.Keys {
			if got.LastModified[i] != "2026-11-23T06:00:00.000Z" || got.StorageClass[i] != "STANDARD" {
				t.Errorf("GET %s: key %s modified %s, class %s", tt.query, got.Keys[i], got.LastModified[i], got.StorageClass[i])
			}
		}
		got.LastModified, got.StorageClass = nil, nil
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("GET %s =\n%+v, want\n%+v", tt.query, got, tt.want)
		}
	}
	resp, _ := s3Do(t, http.MethodGet, url+"/lists?max-keys=many", nil, nil)
	if resp.StatusCode != 400 {
		t.Errorf("max-keys=many = %s, want 400", resp.Status)
	}
	resp, data := s3Do(t, http.MethodGet, url+"/", nil, nil)
	if resp.StatusCode != 200 || !bytes.Contains(data, []byte("<Name>lists</Name>")) || !bytes.Contains(data, []byte("<ListAllMyBucketsResult")) {
		t.Errorf("ListBuckets = %s %s", resp.Status, data)
	}
}

// aws-sdk-go v1, which the S3 Encryption Client v1/v2 for Go uses, reads
// objects, metadata and ranges.
func TestS3SDKv1(t *testing.T) {
	s := s3New(t, fakes.WithBuckets("v1-bucket"))
	url := s3Serve(t, s)
	body := []byte("ciphertext....followed by a tag")
	s3Put(t, s, "v1-bucket", "dir/k", body, map[string]string{"x-amz-wrap-alg": "kms+context", "X-Amz-Cek-Alg": "AES/GCM/NoPadding"})
	sess, err := session.NewSession(&awsv1.Config{Region: awsv1.String("us-east-1"), Endpoint: awsv1.String(url),
		S3ForcePathStyle: awsv1.Bool(true), Credentials: credsv1.NewStaticCredentials("AKID", "SECRET", "")})
	if err != nil {
		t.Fatal(err)
	}
	c := s3v1.New(sess)
	ctx := t.Context()
	// v1 reports metadata keys in canonical header form.
	wantMeta := map[string]string{"X-Amz-Wrap-Alg": "kms+context", "X-Amz-Cek-Alg": "AES/GCM/NoPadding"}

	out, err := c.GetObjectWithContext(ctx, &s3v1.GetObjectInput{Bucket: awsv1.String("v1-bucket"), Key: awsv1.String("dir/k")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, body) || !maps.Equal(awsv1.StringValueMap(out.Metadata), wantMeta) || awsv1.StringValue(out.ETag) != s3ETag(body) {
		t.Errorf("v1 GetObject = %q, metadata %v, ETag %s", got, awsv1.StringValueMap(out.Metadata), awsv1.StringValue(out.ETag))
	}
	head, err := c.HeadObjectWithContext(ctx, &s3v1.HeadObjectInput{Bucket: awsv1.String("v1-bucket"), Key: awsv1.String("dir/k")})
	if err != nil || awsv1.Int64Value(head.ContentLength) != int64(len(body)) || !maps.Equal(awsv1.StringValueMap(head.Metadata), wantMeta) {
		t.Errorf("v1 HeadObject = %v, %v", head, err)
	}
	tag, err := c.GetObjectWithContext(ctx, &s3v1.GetObjectInput{Bucket: awsv1.String("v1-bucket"), Key: awsv1.String("dir/k"), Range: awsv1.String("bytes=-16")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(tag.Body)
	tag.Body.Close()
	if !bytes.Equal(got, body[len(body)-16:]) || awsv1.StringValue(tag.ContentRange) != fmt.Sprintf("bytes %d-%d/%d", len(body)-16, len(body)-1, len(body)) {
		t.Errorf("v1 Range bytes=-16 = %q, %s", got, awsv1.StringValue(tag.ContentRange))
	}
	if _, err := c.PutObjectWithContext(ctx, &s3v1.PutObjectInput{Bucket: awsv1.String("v1-bucket"), Key: awsv1.String("v1put"),
		Body: bytes.NewReader(body), Metadata: map[string]*string{"Foo": awsv1.String("Bar")}}); err != nil {
		t.Fatal(err)
	}
	if _, out := s3Get(t, s, "v1-bucket", "v1put", ""); !maps.Equal(out.Metadata, map[string]string{"foo": "Bar"}) {
		t.Errorf("v1 PutObject metadata = %v", out.Metadata)
	}
	list, err := c.ListObjectsWithContext(ctx, &s3v1.ListObjectsInput{Bucket: awsv1.String("v1-bucket"), Prefix: awsv1.String("dir/")})
	if err != nil || len(list.Contents) != 1 || awsv1.StringValue(list.Contents[0].Key) != "dir/k" {
		t.Errorf("v1 ListObjects = %v, %v", list, err)
	}
	_, err = c.GetObjectWithContext(ctx, &s3v1.GetObjectInput{Bucket: awsv1.String("v1-bucket"), Key: awsv1.String("missing")})
	var ae awserr.Error
	if !errors.As(err, &ae) || ae.Code() != s3v1.ErrCodeNoSuchKey {
		t.Errorf("v1 GetObject(missing) = %v, want NoSuchKey", err)
	}
}

// Multipart upload, as the aws CLI and the SDKs' upload managers use it.
func TestS3HTTPMultipart(t *testing.T) {
	for _, dataDir := range []string{"", t.TempDir()} {
		s := s3New(t, fakes.WithS3DataDir(dataDir), fakes.WithBuckets("mpu"))
		client, _, _ := serve(t, s, nil)
		ctx := t.Context()
		part1 := bytes.Repeat([]byte("1"), 5<<20)
		part2 := []byte("the last part may be small")
		create, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big/object"),
			ContentType: aws.String("message/rfc822"), Metadata: map[string]string{"Part-Meta": "kept"}})
		if err != nil {
			t.Fatal(err)
		}
		upload := func(n int32, body []byte) string {
			t.Helper()
			out, err := client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("big/object"),
				UploadId: create.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(body)})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", n, err)
			}
			return aws.ToString(out.ETag)
		}
		e2 := upload(2, part2)
		e1 := upload(1, part2) // replaced below
		e1 = upload(1, part1)
		complete := func(parts ...s3types.CompletedPart) error {
			_, err := client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big/object"),
				UploadId: create.UploadId, MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
			return err
		}
		if err := complete(s3types.CompletedPart{PartNumber: aws.Int32(2), ETag: &e2}, s3types.CompletedPart{PartNumber: aws.Int32(1), ETag: &e1}); s3Code(err) != "InvalidPartOrder" {
			t.Errorf("parts out of order = %v, want InvalidPartOrder", err)
		}
		if err := complete(s3types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(`"0000"`)}); s3Code(err) != "InvalidPart" {
			t.Errorf("a wrong part ETag = %v, want InvalidPart", err)
		}
		if err := complete(s3types.CompletedPart{PartNumber: aws.Int32(1), ETag: &e1}, s3types.CompletedPart{PartNumber: aws.Int32(2), ETag: &e2}); err != nil {
			t.Fatal(err)
		}
		got, out := s3Get(t, client, "mpu", "big/object", "")
		if !bytes.Equal(got, append(slices.Clone(part1), part2...)) || !strings.HasSuffix(aws.ToString(out.ETag), `-2"`) ||
			aws.ToString(out.ContentType) != "message/rfc822" || !maps.Equal(out.Metadata, map[string]string{"part-meta": "kept"}) {
			t.Errorf("completed object: %d bytes, ETag %s, type %s, metadata %v", len(got), aws.ToString(out.ETag), aws.ToString(out.ContentType), out.Metadata)
		}
		if err := complete(s3types.CompletedPart{PartNumber: aws.Int32(1), ETag: &e1}); s3Code(err) != "NoSuchUpload" {
			t.Errorf("completing twice = %v, want NoSuchUpload", err)
		}

		// A small part before the last is refused; an aborted upload is gone.
		small, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small")})
		if err != nil {
			t.Fatal(err)
		}
		var parts []s3types.CompletedPart
		for n := int32(1); n <= 2; n++ {
			p, err := client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId,
				PartNumber: aws.Int32(n), Body: strings.NewReader("tiny")})
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, s3types.CompletedPart{PartNumber: aws.Int32(n), ETag: p.ETag})
		}
		_, err = client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small"),
			UploadId: small.UploadId, MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
		if s3Code(err) != "EntityTooSmall" {
			t.Errorf("a 4-byte first part = %v, want EntityTooSmall", err)
		}
		if _, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId}); err != nil {
			t.Fatal(err)
		}
		_, err = client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId,
			PartNumber: aws.Int32(3), Body: strings.NewReader("late")})
		if s3Code(err) != "NoSuchUpload" {
			t.Errorf("UploadPart after abort = %v, want NoSuchUpload", err)
		}
		var noUpload *s3types.NoSuchUpload
		if _, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("small"), UploadId: small.UploadId}); !errors.As(err, &noUpload) {
			t.Errorf("aborting twice = %v, want NoSuchUpload", err)
		}
		if dataDir != "" {
			if tmp, _ := filepath.Glob(filepath.Join(dataDir, "mpu", ".tmp-*")); len(tmp) != 0 {
				t.Errorf("part files left behind: %v", tmp)
			}
			if _, err := os.Stat(filepath.Join(dataDir, "mpu")); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestS3HTTPCopyAndDeleteObjects(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testS3HTTPCopyAndDeleteObjects(t) })
	t.Run("data dir", func(t *testing.T) { testS3HTTPCopyAndDeleteObjects(t, fakes.WithS3DataDir(t.TempDir())) })
}

func testS3HTTPCopyAndDeleteObjects(t *testing.T, opts ...fakes.S3Option) {
	s := s3New(t, append(opts, fakes.WithBuckets("src", "dst"))...)
	client, _, _ := serve(t, s, nil)
	ctx := t.Context()
	s3Put(t, s, "src", "a b/ü", []byte("original"), map[string]string{"m": "1"})
	if _, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("src/a%20b/%C3%BC")}); err != nil {
		t.Fatal(err)
	}
	if got, out := s3Get(t, s, "dst", "copy", ""); string(got) != "original" || !maps.Equal(out.Metadata, map[string]string{"m": "1"}) {
		t.Errorf("copy = %q, %v", got, out.Metadata)
	}
	if _, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("src/a%20b/%C3%BC"),
		MetadataDirective: s3types.MetadataDirectiveReplace, Metadata: map[string]string{"M": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, out := s3Get(t, s, "dst", "copy", ""); !maps.Equal(out.Metadata, map[string]string{"m": "2"}) {
		t.Errorf("copy with REPLACE: metadata %v", out.Metadata)
	}
	_, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("dst/copy")})
	if s3Code(err) != "InvalidRequest" {
		t.Errorf("copying an object onto itself = %v, want InvalidRequest", err)
	}

	for _, k := range []string{"d1", "d2", "d3"} {
		s3Put(t, s, "dst", k, []byte(k), nil)
	}
	out, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("dst"), Delete: &s3types.Delete{
		Objects: []s3types.ObjectIdentifier{{Key: aws.String("d1")}, {Key: aws.String("d3")}, {Key: aws.String("never")}}}})
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, d := range out.Deleted {
		deleted = append(deleted, aws.ToString(d.Key))
	}
	if !slices.Equal(deleted, []string{"d1", "d3", "never"}) || len(out.Errors) != 0 {
		t.Errorf("DeleteObjects deleted %v, errors %v", deleted, out.Errors)
	}
	list, _ := s.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("dst")})
	var left []string
	for _, o := range list.Contents {
		left = append(left, aws.ToString(o.Key))
	}
	if !slices.Equal(left, []string{"copy", "d2"}) {
		t.Errorf("after DeleteObjects: %v", left)
	}
}
