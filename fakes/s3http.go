package fakes

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

const s3XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3Status maps S3 error codes to HTTP statuses.
var s3Status = map[string]int{
	"NoSuchBucket": 404, "NoSuchKey": 404, "NotFound": 404, "NoSuchUpload": 404,
	"BucketAlreadyOwnedByYou": 409, "BucketAlreadyExists": 409, "BucketNotEmpty": 409,
	"InvalidRange": 416, "NotImplemented": 501, "MethodNotAllowed": 405,
	"AccessDenied": 403, "InternalError": 500, "SlowDown": 503, "ServiceUnavailable": 503,
}

// ServeHTTP serves the S3 REST API. Buckets are addressed path-style
// (/bucket/key) or, when the host is <bucket>.localhost, virtual-host style.
func (s *S3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amz-request-id", requestID())
	w.Header().Set("x-amz-id-2", requestID())
	bucket, key, err := s3Target(r)
	if err != nil {
		writeS3Error(w, r, http.StatusBadRequest, "InvalidURI", err.Error(), r.URL.Path)
		return
	}
	q := r.URL.Query()
	switch {
	case bucket == "":
		if r.Method != http.MethodGet {
			writeS3Error(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.", "/")
			return
		}
		s.httpListBuckets(w, r)
	case key == "":
		s.serveBucket(w, r, bucket, q)
	default:
		s.serveObject(w, r, bucket, key, q)
	}
}

// s3Target extracts the bucket and key of a request.
func s3Target(r *http.Request) (bucket, key string, err error) {
	path, err := url.PathUnescape(r.URL.EscapedPath())
	if err != nil {
		return "", "", err
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if b, ok := strings.CutSuffix(host, ".localhost"); ok && b != "" {
		return b, strings.TrimPrefix(path, "/"), nil
	}
	path = strings.TrimPrefix(path, "/")
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key, nil
}

func (s *S3) serveBucket(w http.ResponseWriter, r *http.Request, bucket string, q url.Values) {
	ctx := r.Context()
	res := "/" + bucket
	var err error
	switch r.Method {
	case http.MethodPut:
		if len(q) > 0 {
			err = s3Error("NotImplemented", "the embedded S3 does not implement this bucket subresource")
			break
		}
		_, err = s.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
		if isAPICode(err, "BucketAlreadyOwnedByYou") && s.cfg.region == "us-east-1" {
			err = nil // us-east-1 answers 200 to re-creating your own bucket
		}
		if err == nil {
			w.Header().Set("Location", res)
			w.WriteHeader(http.StatusOK)
			return
		}
	case http.MethodHead:
		s.mu.RLock()
		_, ok := s.buckets[bucket]
		s.mu.RUnlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("x-amz-bucket-region", s.cfg.region)
		w.WriteHeader(http.StatusOK)
		return
	case http.MethodDelete:
		if _, err = s.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	case http.MethodGet:
		switch {
		case q.Has("location"):
			s.mu.RLock()
			_, err = s.bucket(bucket)
			s.mu.RUnlock()
			if err == nil {
				loc := s.cfg.region
				if loc == "us-east-1" {
					loc = ""
				}
				writeXML(w, http.StatusOK, struct {
					XMLName xml.Name `xml:"LocationConstraint"`
					NS      string   `xml:"xmlns,attr"`
					Value   string   `xml:",chardata"`
				}{NS: s3XMLNS, Value: loc})
				return
			}
		case q.Get("list-type") == "2":
			err = s.httpListV2(w, bucket, q)
		case hasSubresource(q):
			err = s3Error("NotImplemented", "the embedded S3 does not implement this bucket subresource")
		default:
			err = s.httpListV1(w, bucket, q)
		}
		if err == nil {
			return
		}
	case http.MethodPost:
		if q.Has("delete") {
			if err = s.httpDeleteObjects(w, r, bucket); err == nil {
				return
			}
			break
		}
		err = s3Error("NotImplemented", "the embedded S3 does not implement this request")
	default:
		err = s3Error("MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
	writeAPIError(w, r, err, res)
}

// hasSubresource reports whether a bucket GET asks for a subresource
// (?acl, ?versioning, ...) rather than a listing.
func hasSubresource(q url.Values) bool {
	for k := range q {
		switch k {
		case "prefix", "delimiter", "marker", "max-keys", "encoding-type", "continuation-token", "start-after", "fetch-owner", "list-type":
		default:
			return true
		}
	}
	return false
}

func (s *S3) serveObject(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) {
	res := "/" + bucket + "/" + key
	var err error
	switch r.Method {
	case http.MethodPut:
		switch {
		case q.Has("uploadId"):
			err = s.httpUploadPart(w, r, bucket, key, q)
		case r.Header.Get("x-amz-copy-source") != "":
			err = s.httpCopyObject(w, r, bucket, key)
		default:
			err = s.httpPutObject(w, r, bucket, key)
		}
	case http.MethodGet, http.MethodHead:
		err = s.httpGetObject(w, r, bucket, key)
	case http.MethodDelete:
		if id := q.Get("uploadId"); id != "" {
			err = s.abortUpload(bucket, key, id)
		} else {
			_, err = s.DeleteObject(r.Context(), &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
		}
		if err == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			err = s.httpCreateUpload(w, r, bucket, key)
		case q.Has("uploadId"):
			err = s.httpCompleteUpload(w, r, bucket, key, q.Get("uploadId"))
		default:
			err = s3Error("NotImplemented", "the embedded S3 does not implement this request")
		}
	default:
		err = s3Error("MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
	if err != nil {
		writeAPIError(w, r, err, res)
	}
}

// objectFromHeaders reads the system and user metadata of a PUT.
func objectFromHeaders(h http.Header, key string) *s3Object {
	o := &s3Object{
		Key:                key,
		ContentType:        h.Get("Content-Type"),
		ContentEncoding:    stripAWSChunked(h.Get("Content-Encoding")),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage:    h.Get("Content-Language"),
		CacheControl:       h.Get("Cache-Control"),
	}
	for name, vals := range h {
		if k, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && k != "" {
			if o.Metadata == nil {
				o.Metadata = map[string]string{}
			}
			o.Metadata[k] = strings.Join(vals, ",")
		}
	}
	return o
}

func stripAWSChunked(enc string) string {
	var keep []string
	for _, e := range strings.Split(enc, ",") {
		if e = strings.TrimSpace(e); e != "" && e != "aws-chunked" {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, ",")
}

func (s *S3) httpPutObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	obj := objectFromHeaders(r.Header, key)
	body, size, check, err := requestBody(r)
	if err != nil {
		return err
	}
	if err := s.put(bucket, obj, body, size, check); err != nil {
		return err
	}
	w.Header().Set("ETag", obj.ETag)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *S3) httpCopyObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	src, err := url.PathUnescape(strings.TrimPrefix(r.Header.Get("x-amz-copy-source"), "/"))
	if err != nil {
		return s3Error("InvalidArgument", "bad x-amz-copy-source")
	}
	src, _, _ = strings.Cut(src, "?versionId=")
	srcBucket, srcKey, ok := strings.Cut(src, "/")
	if !ok {
		return s3Error("InvalidArgument", "x-amz-copy-source must be bucket/key")
	}
	from, err := s.object(srcBucket, srcKey)
	if err != nil {
		return err
	}
	body, err := from.open(0, from.Size)
	if err != nil {
		return err
	}
	defer body.Close()
	obj := &s3Object{Key: key, ContentType: from.ContentType, ContentEncoding: from.ContentEncoding,
		ContentDisposition: from.ContentDisposition, ContentLanguage: from.ContentLanguage,
		CacheControl: from.CacheControl, Metadata: from.Metadata}
	if r.Header.Get("x-amz-metadata-directive") == "REPLACE" {
		obj = objectFromHeaders(r.Header, key)
	}
	if err := s.put(bucket, obj, body, from.Size, nil); err != nil {
		return err
	}
	writeXML(w, http.StatusOK, struct {
		XMLName      xml.Name `xml:"CopyObjectResult"`
		NS           string   `xml:"xmlns,attr"`
		LastModified string   `xml:"LastModified"`
		ETag         string   `xml:"ETag"`
	}{NS: s3XMLNS, LastModified: isoTime(obj.LastModified), ETag: obj.ETag})
	return nil
}

func (s *S3) httpGetObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	o, err := s.object(bucket, key)
	if err != nil {
		return err
	}
	if m := r.Header.Get("If-None-Match"); m != "" && (m == o.ETag || m == "*") {
		w.Header().Set("ETag", o.ETag)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if m := r.Header.Get("If-Match"); m != "" && m != o.ETag && m != "*" {
		return s3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	}
	rng := byteRange{0, o.Size, o.Size, false}
	if h := r.Header.Get("Range"); h != "" && r.Method == http.MethodGet {
		if rng, err = parseRange(h, o.Size); err != nil {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", o.Size))
			return err
		}
	}
	hdr := w.Header()
	hdr.Set("Content-Type", o.contentType())
	hdr.Set("Content-Length", strconv.FormatInt(rng.end-rng.start, 10))
	hdr.Set("ETag", o.ETag)
	hdr.Set("Last-Modified", o.LastModified.Format(http.TimeFormat))
	hdr.Set("Accept-Ranges", "bytes")
	for k, v := range map[string]string{"Content-Encoding": o.ContentEncoding, "Content-Disposition": o.ContentDisposition,
		"Content-Language": o.ContentLanguage, "Cache-Control": o.CacheControl} {
		if v != "" {
			hdr.Set(k, v)
		}
	}
	for k, v := range o.Metadata {
		// Lower case on the wire, as AWS sends it.
		hdr["x-amz-meta-"+k] = []string{v}
	}
	status := http.StatusOK
	if rng.partial {
		hdr.Set("Content-Range", rng.contentRange())
		status = http.StatusPartialContent
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return nil
	}
	body, err := o.open(rng.start, rng.end)
	if err != nil {
		return err
	}
	defer body.Close()
	w.WriteHeader(status)
	io.Copy(w, body)
	return nil
}

type xmlObject struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
	Owner        *struct {
		ID          string `xml:"ID"`
		DisplayName string `xml:"DisplayName"`
	} `xml:"Owner,omitempty"`
}

type xmlPrefix struct {
	Prefix string `xml:"Prefix"`
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func listEncoder(q url.Values) func(string) string {
	if q.Get("encoding-type") == "url" {
		// S3's URL encoding of keys: like a query escape, but spaces as %20
		// and "/" kept, which is what the CLI unquotes.
		return func(s string) string {
			return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), "%2F", "/")
		}
	}
	return func(s string) string { return s }
}

func maxKeysParam(q url.Values) (int, error) {
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, s3Error("InvalidArgument", "max-keys must be a non-negative integer")
		}
		return min(n, 1000), nil
	}
	return 1000, nil
}

func (s *S3) httpListV2(w http.ResponseWriter, bucket string, q url.Values) error {
	maxKeys, err := maxKeysParam(q)
	if err != nil {
		return err
	}
	after := q.Get("start-after")
	if tok := q.Get("continuation-token"); tok != "" {
		if after, err = decodeToken(tok); err != nil {
			return err
		}
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	page, err := s.list(bucket, prefix, delim, after, maxKeys)
	if err != nil {
		return err
	}
	enc := listEncoder(q)
	type result struct {
		XMLName               xml.Name    `xml:"ListBucketResult"`
		NS                    string      `xml:"xmlns,attr"`
		Name                  string      `xml:"Name"`
		Prefix                string      `xml:"Prefix"`
		Delimiter             string      `xml:"Delimiter,omitempty"`
		MaxKeys               int         `xml:"MaxKeys"`
		KeyCount              int         `xml:"KeyCount"`
		IsTruncated           bool        `xml:"IsTruncated"`
		EncodingType          string      `xml:"EncodingType,omitempty"`
		ContinuationToken     string      `xml:"ContinuationToken,omitempty"`
		NextContinuationToken string      `xml:"NextContinuationToken,omitempty"`
		StartAfter            string      `xml:"StartAfter,omitempty"`
		Contents              []xmlObject `xml:"Contents"`
		CommonPrefixes        []xmlPrefix `xml:"CommonPrefixes"`
	}
	out := result{NS: s3XMLNS, Name: bucket, Prefix: enc(prefix), Delimiter: enc(delim), MaxKeys: maxKeys,
		KeyCount: len(page.objects) + len(page.prefixes), IsTruncated: page.truncated,
		EncodingType: q.Get("encoding-type"), ContinuationToken: q.Get("continuation-token"), StartAfter: enc(q.Get("start-after"))}
	if page.truncated {
		out.NextContinuationToken = encodeToken(page.last)
	}
	out.Contents, out.CommonPrefixes = xmlListing(page, enc, q.Get("fetch-owner") == "true")
	writeXML(w, http.StatusOK, out)
	return nil
}

func (s *S3) httpListV1(w http.ResponseWriter, bucket string, q url.Values) error {
	maxKeys, err := maxKeysParam(q)
	if err != nil {
		return err
	}
	prefix, delim, marker := q.Get("prefix"), q.Get("delimiter"), q.Get("marker")
	page, err := s.list(bucket, prefix, delim, marker, maxKeys)
	if err != nil {
		return err
	}
	enc := listEncoder(q)
	type result struct {
		XMLName        xml.Name    `xml:"ListBucketResult"`
		NS             string      `xml:"xmlns,attr"`
		Name           string      `xml:"Name"`
		Prefix         string      `xml:"Prefix"`
		Marker         string      `xml:"Marker"`
		NextMarker     string      `xml:"NextMarker,omitempty"`
		Delimiter      string      `xml:"Delimiter,omitempty"`
		MaxKeys        int         `xml:"MaxKeys"`
		IsTruncated    bool        `xml:"IsTruncated"`
		EncodingType   string      `xml:"EncodingType,omitempty"`
		Contents       []xmlObject `xml:"Contents"`
		CommonPrefixes []xmlPrefix `xml:"CommonPrefixes"`
	}
	out := result{NS: s3XMLNS, Name: bucket, Prefix: enc(prefix), Marker: enc(marker), Delimiter: enc(delim),
		MaxKeys: maxKeys, IsTruncated: page.truncated, EncodingType: q.Get("encoding-type")}
	if page.truncated {
		out.NextMarker = enc(page.last)
	}
	out.Contents, out.CommonPrefixes = xmlListing(page, enc, true)
	writeXML(w, http.StatusOK, out)
	return nil
}

func xmlListing(page listPage, enc func(string) string, owner bool) ([]xmlObject, []xmlPrefix) {
	var objs []xmlObject
	for _, o := range page.objects {
		x := xmlObject{Key: enc(o.Key), LastModified: isoTime(o.LastModified), ETag: o.ETag, Size: o.Size, StorageClass: "STANDARD"}
		if owner {
			x.Owner = &struct {
				ID          string `xml:"ID"`
				DisplayName string `xml:"DisplayName"`
			}{ownerID, "sesinbound"}
		}
		objs = append(objs, x)
	}
	var prefixes []xmlPrefix
	for _, p := range page.prefixes {
		prefixes = append(prefixes, xmlPrefix{enc(p)})
	}
	return objs, prefixes
}

func (s *S3) httpListBuckets(w http.ResponseWriter, r *http.Request) {
	out, _ := s.ListBuckets(r.Context(), &s3.ListBucketsInput{})
	type bucket struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
	}
	res := struct {
		XMLName xml.Name `xml:"ListAllMyBucketsResult"`
		NS      string   `xml:"xmlns,attr"`
		Owner   struct {
			ID          string `xml:"ID"`
			DisplayName string `xml:"DisplayName"`
		} `xml:"Owner"`
		Buckets []bucket `xml:"Buckets>Bucket"`
	}{NS: s3XMLNS}
	res.Owner.ID, res.Owner.DisplayName = ownerID, "sesinbound"
	for _, b := range out.Buckets {
		res.Buckets = append(res.Buckets, bucket{aws.ToString(b.Name), isoTime(aws.ToTime(b.CreationDate))})
	}
	writeXML(w, http.StatusOK, res)
}

func (s *S3) httpDeleteObjects(w http.ResponseWriter, r *http.Request, bucket string) error {
	var req struct {
		Quiet   bool `xml:"Quiet"`
		Objects []struct {
			Key string `xml:"Key"`
		} `xml:"Object"`
	}
	body, size, _, err := requestBody(r)
	if err != nil {
		return err
	}
	data, err := readBody(body, size)
	if err != nil {
		return err
	}
	if err := xml.Unmarshal(data, &req); err != nil {
		return s3Error("MalformedXML", "The XML you provided was not well-formed")
	}
	type deleted struct {
		Key string `xml:"Key"`
	}
	res := struct {
		XMLName xml.Name  `xml:"DeleteResult"`
		NS      string    `xml:"xmlns,attr"`
		Deleted []deleted `xml:"Deleted"`
	}{NS: s3XMLNS}
	for _, o := range req.Objects {
		key := o.Key
		if _, err := s.DeleteObject(r.Context(), &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil {
			return err
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, deleted{key})
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

func writeXML(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	xml.NewEncoder(&b).Encode(v)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// writeAPIError writes err as S3 does; errors that are not API errors are
// internal errors.
func writeAPIError(w http.ResponseWriter, r *http.Request, err error, resource string) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		writeS3Error(w, r, http.StatusInternalServerError, "InternalError", err.Error(), resource)
		return
	}
	status, ok := s3Status[ae.ErrorCode()]
	if !ok {
		status = http.StatusBadRequest
		if ae.ErrorFault() == smithy.FaultServer {
			status = http.StatusInternalServerError
		}
	}
	writeS3Error(w, r, status, ae.ErrorCode(), ae.ErrorMessage(), resource)
}

// writeS3Error writes an S3 XML error; HEAD responses carry no body.
func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, message, resource string) {
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	writeXML(w, status, struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string   `xml:"Code"`
		Message   string   `xml:"Message"`
		Resource  string   `xml:"Resource,omitempty"`
		RequestID string   `xml:"RequestId"`
	}{Code: code, Message: message, Resource: resource, RequestID: w.Header().Get("x-amz-request-id")})
}

func requestID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

func encodeToken(after string) string { return base64.URLEncoding.EncodeToString([]byte(after)) }

func decodeToken(tok string) (string, error) {
	b, err := base64.URLEncoding.DecodeString(tok)
	if err != nil {
		return "", s3Error("InvalidArgument", "The continuation token provided is incorrect")
	}
	return string(b), nil
}
