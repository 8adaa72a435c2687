package fakes

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// With a data directory, each bucket is a directory named after it, holding
// a bucket.json record and one file per object. An object file holds the
// object's metadata and its body, so that one rename publishes both:
//
//	offset 0   "SESIS3"                    magic
//	offset 6   uint16, big-endian          format version, 1
//	offset 8   uint32, big-endian          n, the length of the record
//	offset 12  n bytes                     s3Meta as JSON, padded with spaces
//	offset 12+n                            the body, s3Meta.Size bytes
//
// The file is named after the hex SHA-256 of the key: keys may be 1024
// bytes long and hold "/", ".." or anything else, so they cannot be file
// names themselves. Every file is written under a temporary name, synced,
// renamed into place and the directory synced, so a crash at any moment
// leaves the old object or the new one, never a torn one; temporary files
// a crash left behind are removed when the directory is next loaded.

const (
	s3FileMagic      = "SESIS3"
	s3FileVersion    = 1
	s3FileHeaderSize = len(s3FileMagic) + 2 + 4
	s3ObjectSuffix   = ".obj"
	s3BucketRecord   = "bucket.json"
)

// s3BucketRecordData is the content of bucket.json.
type s3BucketRecordData struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// s3ObjectFileName is the name of the file that holds key's object.
func s3ObjectFileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:]) + s3ObjectSuffix
}

// s3CreateBucketDir makes the directory of a new bucket. A directory
// without a bucket record is what a crash left of a bucket that was being
// created or deleted; it is cleared first so its objects do not come back.
func s3CreateBucketDir(dataDir, name string, created time.Time) (string, error) {
	dir := filepath.Join(dataDir, name)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	rec, err := json.Marshal(s3BucketRecordData{Name: name, Created: created})
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(filepath.Join(dir, s3BucketRecord), rec, 0o644); err != nil {
		return "", err
	}
	return dir, syncDir(dataDir)
}

// s3RemoveBucketDir deletes a bucket's directory. The bucket record goes
// first, so that a crash midway leaves a directory that is not loaded.
func s3RemoveBucketDir(dataDir, dir string) error {
	if err := os.Remove(filepath.Join(dir, s3BucketRecord)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return syncDir(dataDir)
}

// load reads the buckets and the object headers under the data directory;
// bodies stay on disk until read.
//
// A damaged object file fails the load, naming the file, rather than being
// skipped: files are only ever published whole, so damage comes from
// outside (a disk fault, a hand edit), and an emulator that silently
// dropped a stored message would hide it. Removing the named file lets the
// S3 start.
func (s *S3) load() error {
	if err := os.MkdirAll(s.cfg.dataDir, 0o755); err != nil {
		return fmt.Errorf("load s3 data dir: %w", err)
	}
	entries, err := os.ReadDir(s.cfg.dataDir)
	if err != nil {
		return fmt.Errorf("load s3 data dir: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		b, err := s3LoadBucket(filepath.Join(s.cfg.dataDir, e.Name()))
		if err != nil {
			return fmt.Errorf("load s3 bucket %s: %w", e.Name(), err)
		}
		if b != nil {
			s.buckets[b.name] = b
		}
	}
	return nil
}

// s3LoadBucket loads a bucket directory, or returns nil if dir is not one.
func s3LoadBucket(dir string) (*s3Bucket, error) {
	data, err := os.ReadFile(filepath.Join(dir, s3BucketRecord))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec s3BucketRecordData
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, s3BucketRecord), err)
	}
	if rec.Name != filepath.Base(dir) {
		return nil, fmt.Errorf("%s names bucket %q", filepath.Join(dir, s3BucketRecord), rec.Name)
	}
	if err := removeTempFiles(dir); err != nil {
		return nil, err
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	b := &s3Bucket{name: rec.Name, created: rec.Created, dir: dir, objects: map[string]*s3Object{}}
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), s3ObjectSuffix) {
			continue
		}
		path := filepath.Join(dir, f.Name())
		o, err := s3ReadObjectHeader(path)
		if err != nil {
			return nil, fmt.Errorf("damaged object file %s: %w", path, err)
		}
		b.objects[o.Key] = o
		b.keys = append(b.keys, o.Key)
	}
	slices.Sort(b.keys)
	return b, nil
}

// s3ReadObjectHeader reads the metadata at the head of an object file and
// checks that the file is whole.
func s3ReadObjectHeader(path string) (*s3Object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var hdr [s3FileHeaderSize]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return nil, errors.New("shorter than the file header")
	}
	if string(hdr[:len(s3FileMagic)]) != s3FileMagic {
		return nil, errors.New("not an object file")
	}
	if v := binary.BigEndian.Uint16(hdr[len(s3FileMagic):]); v != s3FileVersion {
		return nil, fmt.Errorf("unknown format version %d", v)
	}
	n := int64(binary.BigEndian.Uint32(hdr[len(s3FileMagic)+2:]))
	if n > st.Size()-int64(s3FileHeaderSize) {
		return nil, errors.New("truncated metadata")
	}
	rec := make([]byte, n)
	if _, err := io.ReadFull(f, rec); err != nil {
		return nil, err
	}
	o := &s3Object{file: path, offset: int64(s3FileHeaderSize) + n}
	if err := json.Unmarshal(rec, &o.s3Meta); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if body := st.Size() - o.offset; body != o.Size {
		return nil, fmt.Errorf("the body is %d bytes, the metadata says %d", body, o.Size)
	}
	if filepath.Base(path) != s3ObjectFileName(o.Key) {
		return nil, errors.New("the file name does not match the key")
	}
	return o, nil
}

// s3FileSink writes an object file under a temporary name.
//
// The metadata record goes before the body but its size and ETag are only
// known after it, so the body is written after a slot big enough for the
// record with the longest size and ETag there can be, and the record is
// written into the slot at the end, padded with spaces (JSON whitespace).
type s3FileSink struct {
	f         *os.File
	final     string
	slot      int
	published bool
}

func s3NewFileSink(dir string, meta s3Meta) (*s3FileSink, error) {
	meta.Size = math.MaxInt64
	meta.ETag = `"` + strings.Repeat("f", 32) + `-10000"` // a multipart ETag is the longest
	rec, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return nil, err
	}
	k := &s3FileSink{f: f, final: filepath.Join(dir, s3ObjectFileName(meta.Key)), slot: len(rec)}
	if _, err := f.Seek(int64(s3FileHeaderSize+k.slot), io.SeekStart); err != nil {
		k.discard()
		return nil, err
	}
	return k, nil
}

func (k *s3FileSink) Write(p []byte) (int, error) { return k.f.Write(p) }

// finish writes the header and the record, syncs and closes the file.
func (k *s3FileSink) finish(meta s3Meta) (*s3Object, error) {
	rec, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	if len(rec) > k.slot {
		return nil, fmt.Errorf("object metadata is %d bytes, more than the %d reserved", len(rec), k.slot)
	}
	head := make([]byte, 0, s3FileHeaderSize+k.slot)
	head = append(head, s3FileMagic...)
	head = binary.BigEndian.AppendUint16(head, s3FileVersion)
	head = binary.BigEndian.AppendUint32(head, uint32(k.slot))
	head = append(head, rec...)
	head = append(head, strings.Repeat(" ", k.slot-len(rec))...)
	if _, err := k.f.WriteAt(head, 0); err != nil {
		return nil, err
	}
	if err := k.f.Sync(); err != nil {
		return nil, err
	}
	if err := k.f.Close(); err != nil {
		return nil, err
	}
	return &s3Object{s3Meta: meta, file: k.final, offset: int64(s3FileHeaderSize + k.slot)}, nil
}

// publish renames the finished file into place. The caller syncs the
// directory.
func (k *s3FileSink) publish() error {
	if err := os.Rename(k.f.Name(), k.final); err != nil {
		return err
	}
	k.published = true
	return nil
}

func (k *s3FileSink) discard() {
	if !k.published {
		k.f.Close()
		os.Remove(k.f.Name())
	}
}
