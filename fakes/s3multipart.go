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
	"slices"
	"strconv"
	"strings"
)

// s3Upload is a multipart upload in progress. Parts are held in memory
// until completion; the aws CLI uses multipart above 8 MB.
type s3Upload struct {
	bucket, key string
	obj         *s3Object // headers given at creation
	parts       map[int]*s3Part
}

type s3Part struct {
	data []byte
	etag string
}

func (s *S3) httpCreateUpload(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	s.mu.Lock()
	_, err := s.bucket(bucket)
	id := requestID() + requestID()
	if err == nil {
		s.uploads[id] = &s3Upload{bucket: bucket, key: key, obj: objectFromHeaders(r.Header, key), parts: map[int]*s3Part{}}
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		NS       string   `xml:"xmlns,attr"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		UploadID string   `xml:"UploadId"`
	}{NS: s3XMLNS, Bucket: bucket, Key: key, UploadID: id})
	return nil
}

func (s *S3) upload(bucket, key, id string) (*s3Upload, error) {
	u, ok := s.uploads[id]
	if !ok || u.bucket != bucket || u.key != key {
		return nil, s3Error("NoSuchUpload", "The specified upload does not exist.")
	}
	return u, nil
}

func (s *S3) httpUploadPart(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) error {
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > 10000 {
		return s3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
	}
	body, size, check, err := requestBody(r)
	if err != nil {
		return err
	}
	data, err := readBody(body, size)
	if err != nil {
		return err
	}
	sum := md5.Sum(data)
	if check != nil {
		if err := check(data, sum[:]); err != nil {
			return err
		}
	}
	part := &s3Part{data: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`}
	s.mu.Lock()
	u, err := s.upload(bucket, key, q.Get("uploadId"))
	if err == nil {
		u.parts[n] = part
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	w.Header().Set("ETag", part.etag)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *S3) httpCompleteUpload(w http.ResponseWriter, r *http.Request, bucket, key, id string) error {
	var req struct {
		Parts []struct {
			PartNumber int    `xml:"PartNumber"`
			ETag       string `xml:"ETag"`
		} `xml:"Part"`
	}
	body, size, _, err := requestBody(r)
	if err != nil {
		return err
	}
	data, err := readBody(body, size)
	if err != nil {
		return err
	}
	if err := xml.Unmarshal(data, &req); err != nil || len(req.Parts) == 0 {
		return s3Error("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	s.mu.Lock()
	u, err := s.upload(bucket, key, id)
	if err == nil {
		delete(s.uploads, id)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if !slices.IsSortedFunc(req.Parts, func(a, b struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	}) int {
		return a.PartNumber - b.PartNumber
	}) {
		return s3Error("InvalidPartOrder", "The list of parts was not in ascending order.")
	}
	var readers []io.Reader
	var total int64
	etags := md5.New()
	for _, p := range req.Parts {
		part, ok := u.parts[p.PartNumber]
		if !ok || strings.Trim(p.ETag, `"`) != strings.Trim(part.etag, `"`) {
			return s3Error("InvalidPart", fmt.Sprintf("part %d was not uploaded or its ETag does not match", p.PartNumber))
		}
		readers = append(readers, bytes.NewReader(part.data))
		total += int64(len(part.data))
		raw, _ := hex.DecodeString(strings.Trim(part.etag, `"`))
		etags.Write(raw)
	}
	obj := u.obj
	if err := s.put(bucket, obj, io.MultiReader(readers...), total, nil); err != nil {
		return err
	}
	// S3's multipart ETag: MD5 of the parts' MD5s, then the part count.
	obj.ETag = fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(etags.Sum(nil)), len(req.Parts))
	writeXML(w, http.StatusOK, struct {
		XMLName xml.Name `xml:"CompleteMultipartUploadResult"`
		NS      string   `xml:"xmlns,attr"`
		Bucket  string   `xml:"Bucket"`
		Key     string   `xml:"Key"`
		ETag    string   `xml:"ETag"`
	}{NS: s3XMLNS, Bucket: bucket, Key: key, ETag: obj.ETag})
	return nil
}

func (s *S3) abortUpload(bucket, key, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.upload(bucket, key, id); err != nil {
		return err
	}
	delete(s.uploads, id)
	return nil
}
