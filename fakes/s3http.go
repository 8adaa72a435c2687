package fakes

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/xml"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go"
)

// s3XMLNS is the namespace of S3's XML documents.
const s3XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"

// ServeHTTP serves the S3 REST API. Buckets are addressed path-style
// (/bucket/key) or, when the request's host is <bucket>.localhost,
// virtual-host style. Signatures are not checked. The operation is named
// first (s3Operation), so that an injected fault (WithS3Faults) answers
// for exactly the operation the client called.
func (s *S3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s3SetRequestID(w.Header(), s.rand)
	bucket, key, err := s3Target(r)
	if err != nil {
		writeS3Error(w, r, http.StatusBadRequest, "InvalidURI", "Couldn't parse the specified URI.", r.URL.EscapedPath())
		return
	}
	q := r.URL.Query()
	resource := "/"
	switch {
	case key != "":
		resource += bucket + "/" + key
	case bucket != "":
		resource += bucket
	}
	op, err := s3Operation(r, bucket, key, q)
	if err == nil && s3PresignExpired(q, s.cfg.now()) {
		err = s3Err("AccessDenied", "Request has expired")
	}
	if err == nil && s.cfg.faults != nil {
		err = s.cfg.faults(r.Context(), op)
	}
	if err == nil {
		err = s.serveOperation(op, w, r, bucket, key, q)
	}
	if err != nil {
		s3WriteError(w, r, err, resource)
	}
}

// s3Params returns the query parameters the fake accepts for an operation
// besides x-id and presigned URLs' x-amz-*; any other is NotImplemented.
func s3Params(op string) []string {
	switch op {
	case "ListBuckets":
		return []string{"prefix", "max-buckets", "continuation-token", "bucket-region"}
	case "GetBucketLocation":
		return []string{"location"}
	case "GetBucketVersioning":
		return []string{"versioning"}
	case "ListObjectVersions":
		return []string{"versions", "prefix", "delimiter", "key-marker", "version-id-marker", "max-keys", "encoding-type"}
	case "PutObjectTagging", "GetObjectTagging", "DeleteObjectTagging":
		return []string{"tagging", "versionId"}
	case "ListObjects", "ListObjectsV2":
		return []string{"list-type", "prefix", "delimiter", "max-keys", "encoding-type", "marker",
			"continuation-token", "start-after", "fetch-owner"}
	case "DeleteObjects":
		return []string{"delete"}
	case "UploadPart":
		return []string{"uploadId", "partNumber"}
	case "GetObject", "HeadObject":
		return []string{"versionId", "response-content-type", "response-content-language", "response-expires",
			"response-cache-control", "response-content-disposition", "response-content-encoding"}
	case "DeleteObject", "AbortMultipartUpload":
		return []string{"uploadId", "versionId"}
	case "CreateMultipartUpload":
		return []string{"uploads"}
	case "CompleteMultipartUpload":
		return []string{"uploadId"}
	}
	return nil
}

// s3Operation names the operation a request asks for, as the SDKs and the
// API reference name it, or returns the error S3 answers a request it
// cannot place with: MethodNotAllowed, or NotImplemented for a subresource
// the fake lacks.
func s3Operation(r *http.Request, bucket, key string, q url.Values) (string, error) {
	copySource := r.Header.Get("x-amz-copy-source") != ""
	var op string
	switch m := r.Method; {
	case bucket == "":
		if m == http.MethodGet {
			op = "ListBuckets"
		}
	case key == "":
		switch m {
		case http.MethodPut:
			op = "CreateBucket"
		case http.MethodHead:
			op = "HeadBucket"
		case http.MethodDelete:
			op = "DeleteBucket"
		case http.MethodGet:
			switch {
			case q.Has("location"):
				op = "GetBucketLocation"
			case q.Has("versioning"):
				op = "GetBucketVersioning"
			case q.Has("versions"):
				op = "ListObjectVersions"
			case q.Get("list-type") == "2":
				op = "ListObjectsV2"
			default:
				op = "ListObjects"
			}
		case http.MethodPost:
			if !q.Has("delete") {
				return "", s3NotImplemented("this POST request")
			}
			op = "DeleteObjects"
		}
	default:
		switch m {
		case http.MethodPut:
			switch {
			case q.Has("tagging"):
				op = "PutObjectTagging"
			case q.Has("uploadId") && copySource:
				return "", s3NotImplemented("UploadPartCopy")
			case q.Has("uploadId"):
				op = "UploadPart"
			case copySource:
				op = "CopyObject"
			default:
				op = "PutObject"
			}
		case http.MethodGet:
			op = "GetObject"
			if q.Has("tagging") {
				op = "GetObjectTagging"
			}
		case http.MethodHead:
			op = "HeadObject"
		case http.MethodDelete:
			op = "DeleteObject"
			if q.Get("uploadId") != "" {
				op = "AbortMultipartUpload"
			}
			if q.Has("tagging") {
				op = "DeleteObjectTagging"
			}
		case http.MethodPost:
			switch {
			case q.Has("uploads"):
				op = "CreateMultipartUpload"
			case q.Has("uploadId"):
				op = "CompleteMultipartUpload"
			default:
				return "", s3NotImplemented("this POST request")
			}
		}
	}
	if op == "" {
		return "", s3MethodNotAllowed()
	}
	if p := s3Unsupported(q, s3Params(op)...); p != "" {
		if op == "ListBuckets" {
			return "", s3NotImplemented("?" + p)
		}
		return "", s3NotImplemented(r.Method + " ?" + p)
	}
	return op, nil
}

// serveOperation runs the operation s3Operation named.
func (s *S3) serveOperation(op string, w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) error {
	switch op {
	case "ListBuckets":
		return s.httpListBuckets(w, q)
	case "CreateBucket":
		// A CreateBucketConfiguration body, if any, names a location the
		// fake has no use for.
		if err := s.createBucket(bucket); err != nil {
			return err
		}
		w.Header().Set("Location", "/"+bucket)
		w.WriteHeader(http.StatusOK)
	case "HeadBucket":
		if _, err := s.bucket(bucket); err != nil {
			return err
		}
		w.Header().Set("x-amz-bucket-region", s.cfg.region)
		w.WriteHeader(http.StatusOK)
	case "DeleteBucket":
		if err := s.deleteBucket(bucket); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	case "GetBucketLocation":
		return s.httpBucketLocation(w, bucket)
	case "GetBucketVersioning":
		return s.httpBucketVersioning(w, bucket)
	case "ListObjectVersions":
		return s.httpListObjectVersions(w, bucket, q)
	case "PutObjectTagging", "DeleteObjectTagging":
		if err := s3CheckVersionID(q); err != nil {
			return err
		}
		return s.httpPutObjectTagging(w, r, bucket, key, op == "DeleteObjectTagging")
	case "GetObjectTagging":
		if err := s3CheckVersionID(q); err != nil {
			return err
		}
		return s.httpGetObjectTagging(w, bucket, key)
	case "ListObjectsV2":
		return s.httpListObjects(w, bucket, q, true)
	case "ListObjects":
		return s.httpListObjects(w, bucket, q, false)
	case "DeleteObjects":
		return s.httpDeleteObjects(w, r, bucket)
	case "UploadPart":
		return s.httpUploadPart(w, r, bucket, key, q)
	case "CopyObject":
		return s.httpCopyObject(w, r, bucket, key, r.Header.Get("x-amz-copy-source"))
	case "PutObject":
		return s.httpPutObject(w, r, bucket, key)
	case "GetObject", "HeadObject":
		if err := s3CheckVersionID(q); err != nil {
			return err
		}
		return s.httpGetObject(w, r, bucket, key, q)
	case "AbortMultipartUpload":
		if err := s.abortUpload(bucket, key, q.Get("uploadId")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	case "DeleteObject":
		if err := s3CheckVersionID(q); err != nil {
			return err
		}
		if err := s.deleteObject(bucket, key); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	case "CreateMultipartUpload":
		return s.httpCreateUpload(w, r, bucket, key)
	case "CompleteMultipartUpload":
		return s.httpCompleteUpload(w, r, bucket, key, q.Get("uploadId"))
	default:
		return s3NotImplemented(op)
	}
	return nil
}

// s3Target returns the bucket and key a request addresses. The key comes
// from the path as sent, unescaped once, so that keys holding "//", "%2F",
// "+" or ".." arrive intact; nothing cleans the path.
func s3Target(r *http.Request) (bucket, key string, err error) {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if b, ok := strings.CutSuffix(host, ".localhost"); ok && b != "" {
		bucket, key = b, path
	} else {
		bucket, key, _ = strings.Cut(path, "/")
		if bucket, err = url.PathUnescape(bucket); err != nil {
			return "", "", err
		}
	}
	if key, err = url.PathUnescape(key); err != nil {
		return "", "", err
	}
	return bucket, key, nil
}

// s3SetRequestID gives a response the request IDs every S3 response has.
// They are drawn from r, written as S3 writes them: 16 and 52 characters.
func s3SetRequestID(h http.Header, r io.Reader) {
	if h.Get("x-amz-request-id") == "" {
		h.Set("x-amz-request-id", s3RandomText(r)[:16])
		h.Set("x-amz-id-2", s3RandomText(r)+s3RandomText(r))
	}
}

// s3RandomText is crypto/rand.Text's form, 26 base32 characters, from r.
// Only an injected r can fail, and the text then has the zeros it read.
func s3RandomText(r io.Reader) string {
	var b [16]byte
	io.ReadFull(r, b[:])
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}

// s3Unsupported returns the first query parameter of a request that is not
// among allowed, nor an x-amz-* parameter of a presigned URL, nor x-id,
// which the SDK adds to name the operation; "" if there is none.
func s3Unsupported(q url.Values, allowed ...string) string {
	for _, name := range slices.Sorted(maps.Keys(q)) {
		lower := strings.ToLower(name)
		if lower == "x-id" || strings.HasPrefix(lower, "x-amz-") || slices.Contains(allowed, name) || slices.Contains(s3PresignV2Params, name) {
			continue
		}
		return name
	}
	return ""
}

// s3PresignV2Params are the query parameters of a URL presigned with
// Signature Version 2, as the aws CLI v1's `aws s3 presign` makes them.
var s3PresignV2Params = []string{"AWSAccessKeyId", "Signature", "Expires"}

// s3PresignExpired reports a presigned URL past its expiry: Expires (a Unix
// time) for Signature Version 2, X-Amz-Date plus X-Amz-Expires for
// Signature Version 4. Signatures themselves are not checked.
func s3PresignExpired(q url.Values, now time.Time) bool {
	if q.Has("Signature") {
		if exp, err := strconv.ParseInt(q.Get("Expires"), 10, 64); err == nil {
			return now.Unix() > exp
		}
	}
	if q.Has("X-Amz-Signature") {
		at, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
		secs, err2 := strconv.Atoi(q.Get("X-Amz-Expires"))
		if err == nil && err2 == nil {
			return now.After(at.Add(time.Duration(secs) * time.Second))
		}
	}
	return false
}

// s3NotImplemented reports a subresource or feature the fake lacks.
func s3NotImplemented(what string) error {
	return s3Err("NotImplemented", "The embedded S3 does not implement "+what)
}

func s3MethodNotAllowed() error {
	return s3Err("MethodNotAllowed", "The specified method is not allowed against this resource.")
}

// httpListBuckets serves ListBuckets.
func (s *S3) httpListBuckets(w http.ResponseWriter, q url.Values) error {
	type bucket struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
		BucketRegion string `xml:"BucketRegion"`
	}
	res := struct {
		Owner   s3XMLOwner
		Buckets []bucket `xml:"Buckets>Bucket"`
		Prefix  string   `xml:"Prefix,omitempty"`
	}{Owner: s3Owner(), Prefix: q.Get("prefix")}
	for _, b := range s.listBuckets() {
		if strings.HasPrefix(b.name, q.Get("prefix")) {
			res.Buckets = append(res.Buckets, bucket{b.name, s3XMLTime(b.created), s.cfg.region})
		}
	}
	s3WriteXML(w, http.StatusOK, "ListAllMyBucketsResult", res)
	return nil
}

// s3CheckVersionID refuses version IDs: buckets are not versioned, so only
// "null", the version of every object in such a bucket, exists.
func s3CheckVersionID(q url.Values) error {
	if v := q.Get("versionId"); q.Has("versionId") && v != "null" {
		return s3Err("InvalidArgument", "Invalid version id specified")
	}
	return nil
}

// s3MetaFromHeaders reads the metadata of an upload: the content headers
// S3 keeps, and the user metadata of x-amz-meta-* headers, keys lower-case
// and values as sent. No other header is kept.
func s3MetaFromHeaders(h http.Header, key string) s3Meta {
	m := s3Meta{
		Key:                key,
		ContentType:        h.Get("Content-Type"),
		ContentEncoding:    s3StripAWSChunked(h.Get("Content-Encoding")),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage:    h.Get("Content-Language"),
		CacheControl:       h.Get("Cache-Control"),
	}
	if v := h.Get("x-amz-tagging"); v != "" {
		if tags, err := url.ParseQuery(v); err == nil {
			m.Tags = map[string]string{}
			for k, vs := range tags {
				m.Tags[k] = vs[0]
			}
		}
	}
	for name, values := range h {
		if k, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && k != "" {
			if m.Metadata == nil {
				m.Metadata = map[string]string{}
			}
			m.Metadata[k] = strings.Join(values, ",")
		}
	}
	return m
}

func (s *S3) httpPutObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	body, size, sums, err := s3RequestBody(r)
	if err != nil {
		return err
	}
	o, err := s.putObject(s3Put{bucket: bucket, meta: s3MetaFromHeaders(r.Header, key), body: body, size: size, sums: sums})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", o.etag())
	for name, v := range sums.checksums() {
		w.Header().Set(name, v)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *S3) httpCopyObject(w http.ResponseWriter, r *http.Request, bucket, key, source string) error {
	source, _, _ = strings.Cut(source, "?") // ?versionId=, which can only be null
	source, err := url.PathUnescape(strings.TrimPrefix(source, "/"))
	if err != nil {
		return s3Err("InvalidArgument", "Invalid copy source encoding")
	}
	srcBucket, srcKey, _ := strings.Cut(source, "/")
	if srcBucket == "" || srcKey == "" {
		return s3Err("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	h, err := s.openObject(srcBucket, srcKey, true)
	if err != nil {
		return err
	}
	body := h.section(s3Range{0, h.Size, false})
	defer body.Close()
	var meta s3Meta
	switch r.Header.Get("x-amz-metadata-directive") {
	case "", "COPY":
		if srcBucket == bucket && srcKey == key {
			return s3Err("InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
		}
		meta = h.s3Meta
		meta.Key = key
	case "REPLACE":
		meta = s3MetaFromHeaders(r.Header, key)
	default:
		return s3Err("InvalidArgument", "Unknown metadata directive.")
	}
	o, err := s.putObject(s3Put{bucket: bucket, meta: meta, body: body, size: h.Size})
	if err != nil {
		return err
	}
	s3WriteXML(w, http.StatusOK, "CopyObjectResult", struct {
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
	}{LastModified: s3XMLTime(o.LastModified), ETag: o.etag()})
	return nil
}

// httpGetObject serves GetObject and HeadObject.
func (s *S3) httpGetObject(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) error {
	checksums := strings.EqualFold(r.Header.Get("x-amz-checksum-mode"), "ENABLED")
	h, err := s.openObject(bucket, key, r.Method == http.MethodGet || checksums)
	if err != nil {
		return err
	}
	hdr := w.Header()
	rng, err := s3Preconditions(h.s3Object, r.Header.Get("If-Match"), r.Header.Get("If-None-Match"),
		s3HTTPTime(r.Header.Get("If-Modified-Since")), s3HTTPTime(r.Header.Get("If-Unmodified-Since")), r.Header.Get("Range"))
	if err != nil {
		h.close()
		var ae smithy.APIError
		errors.As(err, &ae)
		switch ae.ErrorCode() {
		case "NotModified":
			hdr.Set("ETag", h.etag())
			hdr.Set("Last-Modified", h.LastModified.Format(http.TimeFormat))
			w.WriteHeader(http.StatusNotModified)
			return nil
		case "InvalidRange":
			hdr.Set("Content-Range", "bytes */"+strconv.FormatInt(h.Size, 10))
		}
		return err
	}
	hdr.Set("Content-Type", h.contentType())
	hdr.Set("Content-Length", strconv.FormatInt(rng.end-rng.start, 10))
	hdr.Set("ETag", h.etag())
	hdr.Set("Last-Modified", h.LastModified.Format(http.TimeFormat))
	hdr.Set("Accept-Ranges", "bytes")
	for name, v := range map[string]string{
		"Content-Encoding":    h.ContentEncoding,
		"Content-Disposition": h.ContentDisposition,
		"Content-Language":    h.ContentLanguage,
		"Cache-Control":       h.CacheControl,
	} {
		if v != "" {
			hdr.Set(name, v)
		}
	}
	for k, v := range h.Metadata {
		hdr["x-amz-meta-"+k] = []string{v} // lower-case, as S3 sends them
	}
	if len(h.Tags) > 0 {
		hdr.Set("x-amz-tagging-count", strconv.Itoa(len(h.Tags)))
	}
	// Checksums, when asked for, of the whole object only, as S3.
	if checksums && rng.start == 0 && rng.end == h.Size {
		sums, err := h.checksums()
		if err != nil {
			h.close()
			return s3Internal("checksum object", err)
		}
		for name, v := range sums {
			hdr.Set(name, v)
		}
		hdr.Set("x-amz-checksum-type", "FULL_OBJECT")
	}
	for param, name := range map[string]string{
		"response-content-type":        "Content-Type",
		"response-content-language":    "Content-Language",
		"response-expires":             "Expires",
		"response-cache-control":       "Cache-Control",
		"response-content-disposition": "Content-Disposition",
		"response-content-encoding":    "Content-Encoding",
	} {
		if v := q.Get(param); v != "" {
			hdr.Set(name, v)
		}
	}
	status := http.StatusOK
	if rng.partial {
		hdr.Set("Content-Range", rng.contentRange(h.Size))
		status = http.StatusPartialContent
	}
	if r.Method == http.MethodHead {
		h.close() // held only to compute checksums
		w.WriteHeader(status)
		return nil
	}
	body := h.section(rng)
	defer body.Close()
	w.WriteHeader(status)
	// The status is sent: a failure now can only cut the body short,
	// which the client sees against Content-Length.
	io.Copy(w, body)
	return nil
}

// s3HTTPTime parses an HTTP date header; zero if absent or malformed,
// which S3 ignores.
func s3HTTPTime(v string) time.Time {
	t, err := http.ParseTime(v)
	if err != nil {
		return time.Time{}
	}
	return t
}

func (s *S3) httpBucketLocation(w http.ResponseWriter, bucket string) error {
	if _, err := s.bucket(bucket); err != nil {
		return err
	}
	loc := s.cfg.region
	if loc == "us-east-1" {
		loc = "" // S3's name for us-east-1 here
	}
	s3WriteXML(w, http.StatusOK, "LocationConstraint", struct {
		Value string `xml:",chardata"`
	}{Value: loc})
	return nil
}

// httpBucketVersioning answers GetBucketVersioning: buckets are never
// versioned, which tools that check before they copy or sync want to know.
func (s *S3) httpBucketVersioning(w http.ResponseWriter, bucket string) error {
	if _, err := s.bucket(bucket); err != nil {
		return err
	}
	s3WriteXML(w, http.StatusOK, "VersioningConfiguration", struct {
	}{})
	return nil
}

// s3XMLOwner is the Owner element of listings.
type s3XMLOwner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

func s3Owner() s3XMLOwner { return s3XMLOwner{s3OwnerID, s3OwnerDisplayName} }

// s3XMLObject is a Contents element of a listing.
type s3XMLObject struct {
	Key          string      `xml:"Key"`
	LastModified string      `xml:"LastModified"`
	ETag         string      `xml:"ETag"`
	Size         int64       `xml:"Size"`
	StorageClass string      `xml:"StorageClass"`
	Owner        *s3XMLOwner `xml:"Owner,omitempty"`
}

type s3XMLPrefix struct {
	Prefix string `xml:"Prefix"`
}

// s3XMLTime formats a time as S3's XML does: RFC 3339, UTC, milliseconds.
func s3XMLTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// s3ListEncoder returns how a listing encodes keys and prefixes: as sent,
// or with encoding-type=url (which the aws CLI always asks for) URL-encoded
// so that any key survives XML. Spaces become %20 rather than "+" and "/"
// is kept, a form every client's decoder reads back unchanged.
func s3ListEncoder(encodingType string) func(string) string {
	if encodingType != "url" {
		return func(s string) string { return s }
	}
	return func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), "%2F", "/")
	}
}

// s3MaxKeys reads the max-keys parameter of a listing.
func s3MaxKeys(q url.Values) (int, error) {
	v := q.Get("max-keys")
	if v == "" {
		return s3MaxListKeys, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, s3Err("InvalidArgument", "Provided max-keys not an integer or within integer range")
	}
	return min(n, s3MaxListKeys), nil
}

// s3XMLListing renders a page's objects and common prefixes.
func s3XMLListing(page s3Page, enc func(string) string, withOwner bool) ([]s3XMLObject, []s3XMLPrefix) {
	var objects []s3XMLObject
	for _, o := range page.objects {
		x := s3XMLObject{Key: enc(o.Key), LastModified: s3XMLTime(o.LastModified), ETag: o.etag(), Size: o.Size, StorageClass: "STANDARD"}
		if withOwner {
			owner := s3Owner()
			x.Owner = &owner
		}
		objects = append(objects, x)
	}
	var prefixes []s3XMLPrefix
	for _, p := range page.prefixes {
		prefixes = append(prefixes, s3XMLPrefix{enc(p)})
	}
	return objects, prefixes
}

// httpListObjects serves ListObjectsV2 and ListObjects, version 1 of the
// listing, which some tools still use: marker and NextMarker instead of
// continuation tokens, and always the owner.
func (s *S3) httpListObjects(w http.ResponseWriter, bucket string, q url.Values, v2 bool) error {
	maxKeys, err := s3MaxKeys(q)
	if err != nil {
		return err
	}
	prefix, delimiter, encoding := q.Get("prefix"), q.Get("delimiter"), q.Get("encoding-type")
	var page s3Page
	if v2 {
		page, err = s.listV2(bucket, prefix, delimiter, q.Get("start-after"), q.Get("continuation-token"), maxKeys)
	} else {
		page, err = s.list(bucket, s3ListQuery{prefix: prefix, delimiter: delimiter, after: q.Get("marker"), maxKeys: maxKeys})
	}
	if err != nil {
		return err
	}
	enc := s3ListEncoder(encoding)
	head := s3XMLListHead{Name: bucket, Prefix: enc(prefix)}
	var body s3XMLListBody
	body.Contents, body.CommonPrefixes = s3XMLListing(page, enc, !v2 || q.Get("fetch-owner") == "true")
	if !v2 {
		res := struct {
			s3XMLListHead
			Marker       string `xml:"Marker"`
			NextMarker   string `xml:"NextMarker,omitempty"`
			Delimiter    string `xml:"Delimiter,omitempty"`
			MaxKeys      int    `xml:"MaxKeys"`
			IsTruncated  bool   `xml:"IsTruncated"`
			EncodingType string `xml:"EncodingType,omitempty"`
			s3XMLListBody
		}{head, enc(q.Get("marker")), "", enc(delimiter), maxKeys, page.truncated, encoding, body}
		if page.truncated && delimiter != "" {
			// As S3: without a delimiter the next marker is the last key.
			res.NextMarker = enc(page.last)
		}
		s3WriteXML(w, http.StatusOK, "ListBucketResult", res)
		return nil
	}
	res := struct {
		s3XMLListHead
		Delimiter             string `xml:"Delimiter,omitempty"`
		StartAfter            string `xml:"StartAfter,omitempty"`
		MaxKeys               int    `xml:"MaxKeys"`
		KeyCount              int    `xml:"KeyCount"`
		IsTruncated           bool   `xml:"IsTruncated"`
		EncodingType          string `xml:"EncodingType,omitempty"`
		ContinuationToken     string `xml:"ContinuationToken,omitempty"`
		NextContinuationToken string `xml:"NextContinuationToken,omitempty"`
		s3XMLListBody
	}{head, enc(delimiter), enc(q.Get("start-after")), maxKeys, len(page.objects) + len(page.prefixes), page.truncated,
		encoding, q.Get("continuation-token"), "", body}
	if page.truncated {
		res.NextContinuationToken = s3EncodeToken(page.last)
	}
	s3WriteXML(w, http.StatusOK, "ListBucketResult", res)
	return nil
}

// s3XMLListHead starts both listings' documents, s3XMLListBody ends them.
type s3XMLListHead struct {
	Name   string `xml:"Name"`
	Prefix string `xml:"Prefix"`
}

type s3XMLListBody struct {
	Contents       []s3XMLObject `xml:"Contents"`
	CommonPrefixes []s3XMLPrefix `xml:"CommonPrefixes"`
}

// s3MaxDeleteObjects is the most keys one DeleteObjects request may name.
const s3MaxDeleteObjects = 1000

func (s *S3) httpDeleteObjects(w http.ResponseWriter, r *http.Request, bucket string) error {
	data, err := s3ReadSmallBody(r)
	if err != nil {
		return err
	}
	var req struct {
		Quiet   bool `xml:"Quiet"`
		Objects []struct {
			Key       string `xml:"Key"`
			VersionID string `xml:"VersionId"`
		} `xml:"Object"`
	}
	if err := xml.Unmarshal(data, &req); err != nil || len(req.Objects) == 0 || len(req.Objects) > s3MaxDeleteObjects {
		return s3Err("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	keys := make([]string, len(req.Objects))
	for i, o := range req.Objects {
		keys[i] = o.Key
	}
	errs, err := s.deleteObjects(bucket, keys)
	if err != nil {
		return err
	}
	type deleted struct {
		Key string `xml:"Key"`
	}
	type failed struct {
		Key     string `xml:"Key"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	res := struct {
		Deleted []deleted `xml:"Deleted"`
		Errors  []failed  `xml:"Error"`
	}{}
	for i, o := range req.Objects {
		err := errs[i]
		if err == nil && o.VersionID != "" && o.VersionID != "null" {
			err = s3Err("NoSuchVersion", "The specified version does not exist.")
		}
		var ae smithy.APIError
		switch {
		case errors.As(err, &ae):
			res.Errors = append(res.Errors, failed{o.Key, ae.ErrorCode(), ae.ErrorMessage()})
		case !req.Quiet:
			res.Deleted = append(res.Deleted, deleted{o.Key})
		}
	}
	s3WriteXML(w, http.StatusOK, "DeleteResult", res)
	return nil
}

// s3MaxXMLBody bounds the XML documents requests carry; the largest, a
// CompleteMultipartUpload naming 10,000 parts, is under 2 MB.
const s3MaxXMLBody = 4 << 20

// s3ReadSmallBody reads the XML body of a request, aws-chunked or not,
// verifying its checksums.
func s3ReadSmallBody(r *http.Request) ([]byte, error) {
	body, size, sums, err := s3RequestBody(r)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := s3CopyBody(&buf, body, size, s3MaxXMLBody, sums); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// s3WriteXML writes v as the response's XML document, its root element
// named name, in S3's namespace.
func s3WriteXML(w http.ResponseWriter, status int, name string, v any) {
	s3WriteElement(w, status, xml.StartElement{Name: xml.Name{Local: name},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: s3XMLNS}}}, v)
}

// s3WriteElement writes v as the response's XML document, with root as
// its root element.
func s3WriteElement(w http.ResponseWriter, status int, root xml.StartElement, v any) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	// The documents are structs of strings, numbers and booleans:
	// encoding them cannot fail.
	xml.NewEncoder(&b).EncodeElement(v, root)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// s3WriteError writes err as S3 does: its code's status and an XML error
// document. An error that is not an API error is an internal error.
func s3WriteError(w http.ResponseWriter, r *http.Request, err error, resource string) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		writeS3Error(w, r, http.StatusInternalServerError, "InternalError", err.Error(), resource)
		return
	}
	status, ok := httpStatus(err)
	if !ok {
		status = s3Status(ae.ErrorCode())
	}
	writeS3Error(w, r, status, ae.ErrorCode(), ae.ErrorMessage(), resource)
}

// writeS3Error writes an S3 error response: status, and, except for HEAD
// requests, whose responses have no body, the XML document
// <Error><Code/><Message/><Resource/><RequestId/></Error>.
func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, message, resource string) {
	s3SetRequestID(w.Header(), rand.Reader)
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	// S3's error documents have no namespace.
	s3WriteElement(w, status, xml.StartElement{Name: xml.Name{Local: "Error"}}, struct {
		Code      string `xml:"Code"`
		Message   string `xml:"Message"`
		Resource  string `xml:"Resource,omitempty"`
		RequestID string `xml:"RequestId"`
		HostID    string `xml:"HostId"`
	}{Code: code, Message: message, Resource: resource,
		RequestID: w.Header().Get("x-amz-request-id"), HostID: w.Header().Get("x-amz-id-2")})
}

// httpPutObjectTagging serves PutObjectTagging (and, with clear,
// DeleteObjectTagging): the object is written again with the new tag set,
// its body, metadata and LastModified unchanged.
func (s *S3) httpPutObjectTagging(w http.ResponseWriter, r *http.Request, bucket, key string, clear bool) error {
	var tags map[string]string
	if !clear {
		data, err := s3ReadSmallBody(r)
		if err != nil {
			return err
		}
		var doc struct {
			TagSet []struct {
				Key   string `xml:"Key"`
				Value string `xml:"Value"`
			} `xml:"TagSet>Tag"`
		}
		if err := xml.Unmarshal(data, &doc); err != nil {
			return s3Err("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
		if len(doc.TagSet) > 10 {
			return s3Err("BadRequest", "Object tags cannot be greater than 10")
		}
		tags = map[string]string{}
		for _, t := range doc.TagSet {
			if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
				return s3Err("InvalidTag", "The TagKey you have provided is invalid")
			}
			if _, dup := tags[t.Key]; dup {
				return s3Err("InvalidTag", "Cannot provide multiple Tags with the same key")
			}
			tags[t.Key] = t.Value
		}
	}
	h, err := s.openObject(bucket, key, true)
	if err != nil {
		return err
	}
	body := h.section(s3Range{0, h.Size, false})
	defer body.Close()
	meta := h.s3Meta
	meta.Tags = tags
	if _, err := s.putObject(s3Put{bucket: bucket, meta: meta, body: body, size: h.Size, etag: h.etag(), modified: h.LastModified}); err != nil {
		return err
	}
	w.Header().Set("x-amz-version-id", "null")
	if clear {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// httpGetObjectTagging serves GetObjectTagging.
func (s *S3) httpGetObjectTagging(w http.ResponseWriter, bucket, key string) error {
	h, err := s.openObject(bucket, key, false)
	if err != nil {
		return err
	}
	h.close()
	type tag struct {
		Key   string `xml:"Key"`
		Value string `xml:"Value"`
	}
	var set []tag
	for _, k := range slices.Sorted(maps.Keys(h.Tags)) {
		set = append(set, tag{k, h.Tags[k]})
	}
	w.Header().Set("x-amz-version-id", "null")
	s3WriteXML(w, http.StatusOK, "Tagging", struct {
		TagSet []tag `xml:"TagSet>Tag"`
	}{set})
	return nil
}

// httpListObjectVersions serves ListObjectVersions. Buckets are never
// versioned, so each object is its one version, "null", the latest, as S3
// lists an unversioned bucket's objects.
func (s *S3) httpListObjectVersions(w http.ResponseWriter, bucket string, q url.Values) error {
	maxKeys, err := s3MaxKeys(q)
	if err != nil {
		return err
	}
	prefix, delimiter, encoding := q.Get("prefix"), q.Get("delimiter"), q.Get("encoding-type")
	// With version IDs all "null", a key marker alone says where to go on.
	page, err := s.list(bucket, s3ListQuery{prefix: prefix, delimiter: delimiter, after: q.Get("key-marker"), maxKeys: maxKeys})
	if err != nil {
		return err
	}
	enc := s3ListEncoder(encoding)
	contents, prefixes := s3XMLListing(page, enc, true)
	type version struct {
		Key          string     `xml:"Key"`
		VersionID    string     `xml:"VersionId"`
		IsLatest     bool       `xml:"IsLatest"`
		LastModified string     `xml:"LastModified"`
		ETag         string     `xml:"ETag"`
		Size         int64      `xml:"Size"`
		StorageClass string     `xml:"StorageClass"`
		Owner        s3XMLOwner `xml:"Owner"`
	}
	versions := make([]version, 0, len(contents))
	for _, c := range contents {
		v := version{Key: c.Key, VersionID: "null", IsLatest: true, LastModified: c.LastModified, ETag: c.ETag, Size: c.Size, StorageClass: c.StorageClass}
		if c.Owner != nil {
			v.Owner = *c.Owner
		}
		versions = append(versions, v)
	}
	res := struct {
		Name                string        `xml:"Name"`
		Prefix              string        `xml:"Prefix"`
		KeyMarker           string        `xml:"KeyMarker"`
		VersionIDMarker     string        `xml:"VersionIdMarker"`
		NextKeyMarker       string        `xml:"NextKeyMarker,omitempty"`
		NextVersionIDMarker string        `xml:"NextVersionIdMarker,omitempty"`
		Delimiter           string        `xml:"Delimiter,omitempty"`
		MaxKeys             int           `xml:"MaxKeys"`
		IsTruncated         bool          `xml:"IsTruncated"`
		EncodingType        string        `xml:"EncodingType,omitempty"`
		Versions            []version     `xml:"Version"`
		CommonPrefixes      []s3XMLPrefix `xml:"CommonPrefixes"`
	}{Name: bucket, Prefix: enc(prefix), KeyMarker: enc(q.Get("key-marker")), VersionIDMarker: q.Get("version-id-marker"),
		Delimiter: enc(delimiter), MaxKeys: maxKeys, IsTruncated: page.truncated, EncodingType: encoding, Versions: versions, CommonPrefixes: prefixes}
	if page.truncated {
		res.NextKeyMarker, res.NextVersionIDMarker = enc(page.last), "null"
	}
	s3WriteXML(w, http.StatusOK, "ListVersionsResult", res)
	return nil
}
