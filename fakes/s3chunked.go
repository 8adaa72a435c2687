package fakes

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// s3RequestBody returns the payload of an upload request, its length (-1
// when unknown) and the checksums to verify it against. The payload is the
// body itself, or, for the aws-chunked encoding the SDKs and the aws CLI
// use to stream with a trailing checksum (Content-Encoding: aws-chunked,
// x-amz-content-sha256: STREAMING-*), the decoded data, whose length is
// x-amz-decoded-content-length.
func s3RequestBody(r *http.Request) (io.Reader, int64, *s3Digests, error) {
	if !s3IsChunked(r.Header) {
		return r.Body, r.ContentLength, s3RequestDigests(r.Header, nil), nil
	}
	size := int64(-1)
	if v := r.Header.Get("x-amz-decoded-content-length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, 0, nil, s3Err("InvalidArgument", "x-amz-decoded-content-length is not a length: "+v)
		}
		size = n
	}
	c := &s3ChunkedReader{r: bufio.NewReader(r.Body), trailer: http.Header{}}
	return c, size, s3RequestDigests(r.Header, c.trailer), nil
}

// s3IsChunked reports whether a request body is aws-chunked.
func s3IsChunked(h http.Header) bool {
	if strings.HasPrefix(h.Get("x-amz-content-sha256"), "STREAMING-") {
		return true
	}
	for _, enc := range strings.Split(h.Get("Content-Encoding"), ",") {
		if strings.TrimSpace(enc) == "aws-chunked" {
			return true
		}
	}
	return false
}

// s3StripAWSChunked removes aws-chunked from a Content-Encoding: it
// describes the request, not the object.
func s3StripAWSChunked(enc string) string {
	var keep []string
	for _, e := range strings.Split(enc, ",") {
		if e = strings.TrimSpace(e); e != "" && e != "aws-chunked" {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, ",")
}

// s3MaxTrailerLines bounds the trailer of an aws-chunked body.
const s3MaxTrailerLines = 64

// s3ChunkedReader decodes the aws-chunked content encoding:
//
//	hex-size[;chunk-signature=sig]\r\n <size bytes> \r\n
//	...
//	0[;chunk-signature=sig]\r\n
//	[name:value\r\n ...]        the trailer, e.g. x-amz-checksum-crc32:...
//	\r\n
//
// Signatures are not checked: the fake accepts any credentials. Trailer
// lines are collected in trailer, where s3Digests finds the checksums.
type s3ChunkedReader struct {
	r       *bufio.Reader
	left    int64 // bytes left in the current chunk
	done    bool  // the last chunk and the trailer have been read
	trailer http.Header
}

func (c *s3ChunkedReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.chunkHeader(); err != nil {
			return 0, err
		}
		if c.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		return n, s3ChunkedError("the body ends inside a chunk")
	}
	if err == nil && c.left == 0 {
		err = c.crlf()
	}
	return n, err
}

// chunkHeader reads a chunk's size line, and after the last chunk the
// trailer.
func (c *s3ChunkedReader) chunkHeader() error {
	line, err := c.line()
	if err == io.EOF {
		return s3ChunkedError("the body ends before the last chunk")
	}
	if err != nil {
		return err
	}
	size, _, _ := strings.Cut(line, ";")
	n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
	if err != nil || n < 0 {
		return s3ChunkedError("bad chunk size " + strconv.Quote(size))
	}
	if n > 0 {
		c.left = n
		return nil
	}
	c.done = true
	for range s3MaxTrailerLines {
		line, err := c.line()
		if err == io.EOF || err == nil && line == "" {
			// Some encoders end the body right after the trailer.
			return nil
		}
		if err != nil {
			return err
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return s3ChunkedError("bad trailer line")
		}
		c.trailer.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return s3ChunkedError("too many trailer lines")
}

// line reads a CRLF-terminated line, without the CRLF. It returns io.EOF
// only at the very end of the body.
func (c *s3ChunkedReader) line() (string, error) {
	b, err := c.r.ReadSlice('\n')
	switch {
	case err == io.EOF && len(b) == 0:
		return "", io.EOF
	case err == bufio.ErrBufferFull:
		return "", s3ChunkedError("line too long")
	case err != nil:
		return "", s3ChunkedError("the body ends inside a line")
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// crlf reads the CRLF that ends a chunk's data.
func (c *s3ChunkedReader) crlf() error {
	var b [2]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil || b != [2]byte{'\r', '\n'} {
		return s3ChunkedError("a chunk is not followed by CRLF")
	}
	return nil
}

func s3ChunkedError(detail string) error {
	return s3Err("IncompleteBody", "malformed aws-chunked body: "+detail)
}
