package fakes

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3CRC64NVME is the CRC-64/NVME polynomial (0xad93d23594c93659) in the
// bit-reversed form hash/crc64 takes.
const s3CRC64NVME = 0x9a6c9329ac4bc9b5

// s3NewHash returns a hash for a checksum algorithm, named as in its
// x-amz-checksum-* header, or for "md5"; nil for an unknown one.
func s3NewHash(alg string) hash.Hash {
	switch alg {
	case "md5":
		return md5.New()
	case "crc32":
		return crc32.NewIEEE()
	case "crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "crc64nvme":
		return crc64.New(crc64.MakeTable(s3CRC64NVME))
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	}
	return nil
}

// s3Digests computes, as an upload's bytes stream past, its MD5 (the ETag)
// and the checksums it came with, and then verifies them. A checksum may be
// announced in x-amz-trailer and arrive in an aws-chunked body's trailer,
// after the data: its hash is computed all the same and its value looked
// up in trailer at the end.
type s3Digests struct {
	hashes  map[string]hash.Hash // by algorithm; "md5" always
	expect  []s3Expected
	trailer http.Header // an aws-chunked body's trailer; nil for other bodies
}

// s3Expected is a checksum an upload came with.
type s3Expected struct {
	header string // where it came from: Content-MD5, x-amz-checksum-crc32, ...
	alg    string
	value  string // "" until the trailer brings it
	hex    bool   // hex (x-amz-content-sha256) rather than base64
}

func s3NewDigests() *s3Digests {
	return &s3Digests{hashes: map[string]hash.Hash{"md5": md5.New()}}
}

// want registers a checksum to verify; value "" means it comes in the
// trailer under the name header.
func (d *s3Digests) want(header, alg, value string, hex bool) {
	if _, ok := d.hashes[alg]; !ok {
		d.hashes[alg] = s3NewHash(alg)
	}
	d.expect = append(d.expect, s3Expected{header: header, alg: alg, value: value, hex: hex})
}

// track computes a checksum of the bytes without one to verify.
func (d *s3Digests) track(alg string) {
	if _, ok := d.hashes[alg]; !ok {
		d.hashes[alg] = s3NewHash(alg)
	}
}

// full returns the full-object checksums to keep with the object, by
// header name: those the upload came with and CRC64NVME when tracked.
func (d *s3Digests) full() map[string]string {
	out := d.checksums()
	if h, ok := d.hashes["crc64nvme"]; ok {
		out["x-amz-checksum-crc64nvme"] = base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	return out
}

// s3RequestDigests collects the checksums of an HTTP upload: Content-MD5,
// x-amz-checksum-* headers, those announced by x-amz-trailer, and a hex
// x-amz-content-sha256 (not its STREAMING-* and UNSIGNED-PAYLOAD markers).
func s3RequestDigests(h http.Header, trailer http.Header) *s3Digests {
	d := s3NewDigests()
	d.trailer = trailer
	if v := h.Get("Content-MD5"); v != "" {
		d.want("Content-MD5", "md5", v, false)
	}
	for _, alg := range []string{"crc32", "crc32c", "crc64nvme", "sha1", "sha256"} {
		if v := h.Get("x-amz-checksum-" + alg); v != "" {
			d.want("x-amz-checksum-"+alg, alg, v, false)
		}
	}
	if trailer != nil {
		for _, name := range strings.Split(h.Get("x-amz-trailer"), ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if alg, ok := strings.CutPrefix(name, "x-amz-checksum-"); ok && s3NewHash(alg) != nil && h.Get(name) == "" {
				d.want(name, alg, "", false)
			}
		}
	}
	if v := h.Get("x-amz-content-sha256"); len(v) == sha256.Size*2 {
		if _, err := hex.DecodeString(v); err == nil {
			d.want("x-amz-content-sha256", "sha256", strings.ToLower(v), true)
		}
	}
	return d
}

// s3InputDigests collects the checksums an in-process PutObject came with.
func s3InputDigests(in *s3.PutObjectInput) *s3Digests {
	d := s3NewDigests()
	if in.ContentMD5 == nil {
		// No MD5 to check: the ETag can wait until someone reads it.
		delete(d.hashes, "md5")
	}
	for _, c := range []struct {
		header, alg string
		value       *string
	}{
		{"Content-MD5", "md5", in.ContentMD5},
		{"x-amz-checksum-crc32", "crc32", in.ChecksumCRC32},
		{"x-amz-checksum-crc32c", "crc32c", in.ChecksumCRC32C},
		{"x-amz-checksum-crc64nvme", "crc64nvme", in.ChecksumCRC64NVME},
		{"x-amz-checksum-sha1", "sha1", in.ChecksumSHA1},
		{"x-amz-checksum-sha256", "sha256", in.ChecksumSHA256},
	} {
		if v := aws.ToString(c.value); v != "" {
			d.want(c.header, c.alg, v, false)
		}
	}
	return d
}

func (d *s3Digests) Write(p []byte) (int, error) {
	for _, h := range d.hashes {
		h.Write(p)
	}
	return len(p), nil
}

// etag is the ETag of the bytes written: their quoted hex MD5.
func (d *s3Digests) etag() string {
	h, ok := d.hashes["md5"]
	if !ok {
		return "" // computed on first read, see s3Object.etag
	}
	return `"` + hex.EncodeToString(h.Sum(nil)) + `"`
}

// verify checks every expected checksum against the bytes written. A
// checksum announced for the trailer that did not come is not checked.
func (d *s3Digests) verify() error {
	for _, e := range d.expect {
		value := e.value
		if value == "" {
			if value = strings.TrimSpace(d.trailer.Get(e.header)); value == "" {
				continue
			}
		}
		sum := d.hashes[e.alg].Sum(nil)
		if e.hex {
			if value != hex.EncodeToString(sum) {
				return s3Err("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
			}
			continue
		}
		want, err := base64.StdEncoding.DecodeString(value)
		if err != nil || len(want) != len(sum) {
			if e.header == "Content-MD5" {
				return s3Err("InvalidDigest", "The Content-MD5 you specified is not valid.")
			}
			return s3Err("InvalidRequest", "Value for "+e.header+" header is invalid.")
		}
		if !bytes.Equal(want, sum) {
			if e.header == "Content-MD5" {
				return s3Err("BadDigest", "The Content-MD5 you specified did not match what we received.")
			}
			return s3Err("BadDigest", "The "+strings.ToUpper(e.alg)+" you specified did not match the calculated checksum.")
		}
	}
	return nil
}

// checksums returns the verified x-amz-checksum-* values, which S3 echoes
// in the response to an upload.
func (d *s3Digests) checksums() map[string]string {
	out := map[string]string{}
	for _, e := range d.expect {
		if alg, ok := strings.CutPrefix(e.header, "x-amz-checksum-"); ok {
			out[e.header] = base64.StdEncoding.EncodeToString(d.hashes[alg].Sum(nil))
		}
	}
	return out
}
