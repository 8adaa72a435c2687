package fakes

import (
	"bufio"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/smithy-go"
)

// On disk, each bucket is a directory under the data dir holding a
// bucket.json and one file per object. An object file holds its metadata and
// its body, so that one rename publishes both at once:
//
//	"SESIOBJ1" | uint32 big-endian length of the JSON record | JSON record | body
//
// The file's name is the hex SHA-256 of the key: keys may be 1024 bytes long
// and contain "/" or "..", so they cannot be file names themselves.

const (
	objMagic      = "SESIOBJ1"
	objHeaderSize = len(objMagic) + 4
	bucketFile    = "bucket.json"
	objSuffix     = ".obj"
)

type bucketRecord struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

func bucketDir(dataDir, name string) string { return filepath.Join(dataDir, name) }

func createBucketDir(dataDir, name string, created time.Time) (string, error) {
	dir := bucketDir(dataDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	rec, _ := json.Marshal(bucketRecord{Name: name, Created: created})
	if err := writeFileAtomic(filepath.Join(dir, bucketFile), rec, 0o644); err != nil {
		return "", err
	}
	return dir, syncDir(dataDir)
}

func objectFileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:]) + objSuffix
}

// load reads every bucket and object header under the data dir, and removes
// temporary files a crash left behind.
func (s *S3) load() error {
	if err := os.MkdirAll(s.cfg.dataDir, 0o755); err != nil {
		return fmt.Errorf("s3 data dir: %w", err)
	}
	entries, err := os.ReadDir(s.cfg.dataDir)
	if err != nil {
		return fmt.Errorf("s3 data dir: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(s.cfg.dataDir, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, bucketFile))
		if err != nil {
			continue // not a bucket directory
		}
		var rec bucketRecord
		if err := json.Unmarshal(data, &rec); err != nil || rec.Name != e.Name() {
			return fmt.Errorf("s3 data dir: %s is damaged", filepath.Join(dir, bucketFile))
		}
		if err := removeTempFiles(dir); err != nil {
			return fmt.Errorf("s3 data dir: %w", err)
		}
		b := &s3Bucket{name: rec.Name, created: rec.Created, dir: dir, objects: map[string]*s3Object{}}
		files, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("s3 data dir: %w", err)
		}
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), objSuffix) {
				continue
			}
			path := filepath.Join(dir, f.Name())
			o, err := readObjectHeader(path)
			if err != nil {
				// Files are only ever published whole (rename after fsync),
				// so a damaged one was damaged by something else: say so
				// rather than serve it or drop it silently.
				return fmt.Errorf("s3 data dir: object file %s: %w", path, err)
			}
			b.objects[o.Key] = o
		}
		s.buckets[b.name] = b
	}
	return nil
}

func readObjectHeader(path string) (*s3Object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(f)
	var hdr [objHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || string(hdr[:len(objMagic)]) != objMagic {
		return nil, errors.New("not an object file")
	}
	n := binary.BigEndian.Uint32(hdr[len(objMagic):])
	if int64(n) > st.Size()-int64(objHeaderSize) {
		return nil, errors.New("truncated header")
	}
	rec := make([]byte, n)
	if _, err := io.ReadFull(r, rec); err != nil {
		return nil, err
	}
	o := &s3Object{}
	if err := json.Unmarshal(rec, o); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	o.file, o.offset = path, int64(objHeaderSize)+int64(n)
	if st.Size()-o.offset != o.Size {
		return nil, fmt.Errorf("body is %d bytes, header says %d", st.Size()-o.offset, o.Size)
	}
	if filepath.Base(path) != objectFileName(o.Key) {
		return nil, errors.New("file name does not match the key")
	}
	return o, nil
}

// putFile writes an object file atomically: temporary file, fsync, then,
// under the lock, rename and index update, so the index and the disk agree
// on which write won; then the directory is synced before returning.
func (s *S3) putFile(b *s3Bucket, obj *s3Object, body io.Reader, size int64, verify func([]byte, []byte) error) error {
	internal := func(err error) error {
		return &smithy.GenericAPIError{Code: "InternalError", Message: "store object: " + err.Error(), Fault: smithy.FaultServer}
	}
	f, err := os.CreateTemp(b.dir, tempPrefix+"*")
	if err != nil {
		return internal(err)
	}
	tmp := f.Name()
	published := false
	defer func() {
		if !published {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// The header's length is not known until the body is read, so the body
	// goes to a fixed place after a header slot sized from the record
	// without its variable fields.
	record := func() []byte { j, _ := json.Marshal(obj); return j }
	obj.Size, obj.ETag = 0, `""`
	// Reserve room: key, metadata and system fields dominate; size and ETag
	// are bounded.
	slot := len(record()) + 64
	if _, err := f.Seek(int64(objHeaderSize+slot), io.SeekStart); err != nil {
		return internal(err)
	}
	h := md5.New()
	var data []byte
	var n int64
	if verify != nil {
		// Verification needs the bytes; such uploads come over HTTP with a
		// checksum and are small enough to hold.
		if data, err = readBody(body, size); err != nil {
			return err
		}
		h.Write(data)
		if err := verify(data, h.Sum(nil)); err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			return internal(err)
		}
		n = int64(len(data))
	} else {
		n, err = copyBody(io.MultiWriter(f, h), body, size)
		if err != nil {
			return err
		}
	}
	obj.Size, obj.ETag = n, `"`+hex.EncodeToString(h.Sum(nil))+`"`
	rec := record()
	if len(rec) > slot {
		return internal(errors.New("object record outgrew its slot"))
	}
	// Pad the record with spaces (valid JSON whitespace) to fill the slot.
	rec = append(rec, []byte(strings.Repeat(" ", slot-len(rec)))...)
	hdr := make([]byte, objHeaderSize, objHeaderSize+slot)
	copy(hdr, objMagic)
	binary.BigEndian.PutUint32(hdr[len(objMagic):], uint32(slot))
	if _, err := f.WriteAt(append(hdr, rec...), 0); err != nil {
		return internal(err)
	}
	if err := f.Sync(); err != nil {
		return internal(err)
	}
	if err := f.Close(); err != nil {
		return internal(err)
	}
	final := filepath.Join(b.dir, objectFileName(obj.Key))
	obj.file, obj.offset = final, int64(objHeaderSize+slot)

	s.mu.Lock()
	if s.buckets[b.name] != b {
		s.mu.Unlock()
		return noSuchBucket(b.name)
	}
	if err := os.Rename(tmp, final); err != nil {
		s.mu.Unlock()
		return internal(err)
	}
	published = true
	b.objects[obj.Key] = obj
	s.mu.Unlock()
	if err := syncDir(b.dir); err != nil {
		return internal(err)
	}
	return nil
}

// copyBody copies an object body, checking its declared length.
func copyBody(w io.Writer, body io.Reader, size int64) (int64, error) {
	var n int64
	var err error
	if size >= 0 {
		n, err = io.CopyN(w, body, size)
		if err == nil {
			var one [1]byte
			if m, _ := body.Read(one[:]); m > 0 {
				return n, s3Error("IncompleteBody", "the body is longer than Content-Length")
			}
		}
	} else {
		n, err = io.Copy(w, body)
	}
	if err != nil {
		if ae, ok := err.(smithy.APIError); ok {
			return n, ae
		}
		return n, s3Error("IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header: "+err.Error())
	}
	return n, nil
}
