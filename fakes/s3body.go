package fakes

import (
	"bufio"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// requestBody returns the payload of a PUT or POST: the plain body, or the
// decoded aws-chunked stream the SDKs and the aws CLI send when they stream
// with checksums. size is the decoded length (-1 when unknown), and check,
// when not nil, verifies the Content-MD5 and x-amz-checksum-* values that
// came with the request, headers or trailer.
func requestBody(r *http.Request) (body io.Reader, size int64, check func(data, md5sum []byte) error, err error) {
	size = r.ContentLength
	body = r.Body
	sha := r.Header.Get("x-amz-content-sha256")
	chunked := strings.HasPrefix(sha, "STREAMING-") || strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked")
	var trailer http.Header
	if chunked {
		size = -1
		if v := r.Header.Get("x-amz-decoded-content-length"); v != "" {
			if size, err = strconv.ParseInt(v, 10, 64); err != nil {
				return nil, 0, nil, s3Error("InvalidArgument", "bad x-amz-decoded-content-length")
			}
		}
		cr := &chunkedReader{r: bufio.NewReader(r.Body), trailer: http.Header{}}
		body, trailer = cr, cr.trailer
	}
	sums := map[string]string{}
	for _, name := range []string{"Content-Md5", "X-Amz-Checksum-Crc32", "X-Amz-Checksum-Crc32c", "X-Amz-Checksum-Sha1", "X-Amz-Checksum-Sha256"} {
		if v := r.Header.Get(name); v != "" {
			sums[name] = v
		}
	}
	if sha != "" && !strings.HasPrefix(sha, "STREAMING-") && sha != "UNSIGNED-PAYLOAD" {
		sums["X-Amz-Content-Sha256"] = sha
	}
	expectTrailer := r.Header.Get("x-amz-trailer") != ""
	if len(sums) == 0 && !expectTrailer {
		return body, size, nil, nil
	}
	check = func(data, md5sum []byte) error {
		for name, vals := range trailer {
			sums[name] = strings.Join(vals, ",")
		}
		for name, want := range sums {
			var got string
			switch name {
			case "Content-Md5":
				got = base64.StdEncoding.EncodeToString(md5sum)
			case "X-Amz-Checksum-Crc32":
				got = sumB64(crc32.NewIEEE(), data)
			case "X-Amz-Checksum-Crc32c":
				got = sumB64(crc32.New(crc32.MakeTable(crc32.Castagnoli)), data)
			case "X-Amz-Checksum-Sha1":
				got = sumB64(sha1.New(), data)
			case "X-Amz-Checksum-Sha256":
				got = sumB64(sha256.New(), data)
			case "X-Amz-Content-Sha256":
				s := sha256.Sum256(data)
				if want != hex.EncodeToString(s[:]) {
					return s3Error("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
				}
				continue
			default:
				continue // e.g. CRC64NVME: accepted unverified
			}
			if got != want {
				code := "BadDigest"
				if name == "Content-Md5" {
					return s3Error(code, "The Content-MD5 you specified did not match what we received.")
				}
				return s3Error(code, "The "+strings.ToLower(strings.TrimPrefix(name, "X-Amz-Checksum-"))+" you specified did not match the calculated checksum.")
			}
		}
		return nil
	}
	return body, size, check, nil
}

func sumB64(h hash.Hash, data []byte) string {
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// chunkedReader decodes the aws-chunked content encoding:
//
//	hex-size[;chunk-signature=...]\r\n data \r\n ... 0[;...]\r\n [trailer lines\r\n] \r\n
//
// Signatures are not checked (any credentials are accepted); trailer
// headers such as x-amz-checksum-crc32 are collected for verification.
type chunkedReader struct {
	r       *bufio.Reader
	left    int64 // bytes left in the current chunk
	done    bool
	trailer http.Header
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left == 0 && err == nil {
		err = c.crlf()
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (c *chunkedReader) crlf() error {
	var b [2]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil || b != [2]byte{'\r', '\n'} {
		return s3Error("IncompleteBody", "malformed aws-chunked body")
	}
	return nil
}

func (c *chunkedReader) next() error {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return s3Error("IncompleteBody", "malformed aws-chunked body")
	}
	head, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
	n, err := strconv.ParseInt(strings.TrimSpace(head), 16, 64)
	if err != nil || n < 0 {
		return s3Error("IncompleteBody", "malformed aws-chunked chunk size")
	}
	if n > 0 {
		c.left = n
		return nil
	}
	// Last chunk: optional trailer lines up to an empty line or the end.
	c.done = true
	for {
		line, err := c.r.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return nil
		}
		if name, value, ok := strings.Cut(line, ":"); ok && !strings.EqualFold(name, "x-amz-trailer-signature") {
			c.trailer.Add(name, strings.TrimSpace(value))
		}
		if err != nil {
			return nil
		}
	}
}
