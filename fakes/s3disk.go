package fakes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// s3BucketRecordData is the content of bucket.json. The objects are in the
// bucket's log (s3log.go).
type s3BucketRecordData struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
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

// load reads the buckets under the data directory and replays their logs;
// bodies stay on disk until read.
//
// Damage before the end of a bucket's log fails the load, naming the
// segment, rather than being skipped: only the tail can be torn by a crash,
// so damage elsewhere comes from outside (a disk fault, a hand edit), and an
// emulator that silently dropped stored messages would hide it.
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
		b, err := s.loadBucket(filepath.Join(s.cfg.dataDir, e.Name()))
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
func (s *S3) loadBucket(dir string) (*s3Bucket, error) {
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
	b := s.newBucket(rec.Name, rec.Created, dir)
	if err := b.log.load(); err != nil {
		return nil, err
	}
	return b, nil
}
