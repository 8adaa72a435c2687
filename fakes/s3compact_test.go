package fakes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// These tests reach inside the store for compaction's knobs: its garbage
// allowance, and a hook at each of its steps, where they take a copy of the
// data directory as a crash at that moment would leave it.

func withCompaction(slack int64, hook func(step string)) S3Option {
	return func(c *s3Config) { c.compactSlack, c.compactHook = slack, hook }
}

func compactPut(t *testing.T, s *S3, bucket, key string, body []byte) {
	t.Helper()
	if _, err := s.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		Metadata: map[string]string{"k": key}}); err != nil {
		t.Fatal(err)
	}
}

// compactCheck reads back every object of want, and checks that nothing
// else is listed.
func compactCheck(t *testing.T, s *S3, bucket string, want map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	for k, v := range want {
		out, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Errorf("GetObject %s: %v", k, err)
			continue
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(got, v) || out.Metadata["k"] != k {
			t.Errorf("GetObject %s = %d bytes (want %d), metadata %v, %v", k, len(got), len(v), out.Metadata, err)
		}
	}
	n := 0
	p := s3.NewListObjectsV2Paginator(s, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(7)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			if _, ok := want[aws.ToString(o.Key)]; !ok {
				t.Errorf("%s is listed, and was deleted", aws.ToString(o.Key))
			}
			n++
		}
	}
	if n != len(want) {
		t.Errorf("%d objects listed, want %d", n, len(want))
	}
}

func segmentBytes(t *testing.T, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), s3SegmentPrefix) {
			info, _ := e.Info()
			n += info.Size()
		}
	}
	return n
}

// churn overwrites and deletes most of 100 objects of 10 KB, several times
// over, and returns what is live.
func churn(t *testing.T, s *S3, bucket string) map[string][]byte {
	live := map[string][]byte{}
	for round := range 5 {
		for i := range 100 {
			k := fmt.Sprintf("obj-%03d", i)
			body := bytes.Repeat([]byte{byte('a' + round)}, 10000+i)
			compactPut(t, s, bucket, k, body)
			live[k] = body
		}
	}
	for i := range 90 {
		k := fmt.Sprintf("obj-%03d", i)
		if _, err := s.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
		delete(live, k)
	}
	return live
}

// Overwriting and deleting most objects shrinks the log to what is live,
// in memory and on disk, and what is live survives a restart.
func TestS3CompactionReclaims(t *testing.T) {
	t.Run("data dir", func(t *testing.T) {
		dir := t.TempDir()
		s, err := NewS3(WithS3DataDir(dir), WithBuckets("bkt"), withCompaction(64<<10, nil))
		if err != nil {
			t.Fatal(err)
		}
		live := churn(t, s, "bkt")
		compactCheck(t, s, "bkt", live)
		var liveBytes int64
		for _, v := range live {
			liveBytes += int64(len(v))
		}
		// Compaction runs once garbage passes live + slack: the log stays
		// within twice what is live and the slack.
		if got := segmentBytes(t, filepath.Join(dir, "bkt")); got > 2*liveBytes+64<<10+32<<10 {
			t.Errorf("the log holds %d bytes for %d live", got, liveBytes)
		}
		s.Close()
		s2, err := NewS3(WithS3DataDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		compactCheck(t, s2, "bkt", live)
	})
	t.Run("memory", func(t *testing.T) {
		s, err := NewS3(WithBuckets("bkt"), WithS3TempDir(t.TempDir()), withCompaction(64<<10, nil))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		live := churn(t, s, "bkt")
		compactCheck(t, s, "bkt", live)
		l := s.buckets["bkt"].log
		l.wmu.Lock()
		total := l.total
		l.wmu.Unlock()
		var liveBytes int64
		for _, v := range live {
			liveBytes += int64(len(v))
		}
		if total > 2*liveBytes+64<<10+32<<10 {
			t.Errorf("the temporary log holds %d bytes for %d live", total, liveBytes)
		}
	})
}

// A crash at any step of a compaction, or of a reset, leaves every object
// acknowledged before it readable, and none that was deleted: each step's
// data directory, copied as the crash would leave it, is loaded afresh.
func TestS3CompactionCrash(t *testing.T) {
	for _, reset := range []bool{false, true} {
		t.Run(fmt.Sprint("reset=", reset), func(t *testing.T) {
			dir := t.TempDir()
			snapshots := map[string]string{}
			var armed bool
			hook := func(step string) {
				if !armed {
					return
				}
				snap := filepath.Join(t.TempDir(), "data")
				copyTree(t, dir, snap)
				snapshots[fmt.Sprintf("%d-%s", len(snapshots), step)] = snap
			}
			// No compaction by itself: the test starts one by hand.
			s, err := NewS3(WithS3DataDir(dir), WithBuckets("bkt"), withCompaction(1<<40, hook))
			if err != nil {
				t.Fatal(err)
			}
			live := churn(t, s, "bkt")
			// Roll over to more than one segment, so that removal has
			// steps.
			l := s.buckets["bkt"].log
			l.wmu.Lock()
			l.seg = nil
			l.wmu.Unlock()
			compactPut(t, s, "bkt", "obj-099", live["obj-099"])
			armed = true
			if reset {
				if err := s.Reset(context.Background()); err != nil {
					t.Fatal(err)
				}
			} else {
				l.wmu.Lock()
				err := l.compact(false)
				l.wmu.Unlock()
				if err != nil {
					t.Fatal(err)
				}
			}
			armed = false
			after := live
			if reset {
				after = map[string][]byte{}
			}
			compactCheck(t, s, "bkt", after)
			s.Close()
			if len(snapshots) < 3 {
				t.Fatalf("only %d steps seen: %v", len(snapshots), snapshots)
			}
			for name, snap := range snapshots {
				t.Run(name, func(t *testing.T) {
					s, err := NewS3(WithS3DataDir(snap))
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					// Before the rename, the old log; after it, the new.
					want := maps.Clone(live)
					if reset && !strings.HasSuffix(name, "-copied") {
						want = map[string][]byte{}
					}
					compactCheck(t, s, "bkt", want)
					// And the log goes on from there.
					compactPut(t, s, "bkt", "new", []byte("after the crash"))
					want["new"] = []byte("after the crash")
					compactCheck(t, s, "bkt", want)
				})
			}
		})
	}
}

// copyTree copies the regular files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The index is rebuilt through a decoder of its own for the fields it
// keeps; it must agree with encoding/json on every key, and take its fast
// path on the records the store writes.
func TestS3DecodeIndexMeta(t *testing.T) {
	when := time.Date(2026, 12, 1, 21, 0, 0, 123e6, time.UTC)
	for _, key := range []string{"mail/abc", `quo"te`, `back\slash`, "<html>&amp;", "ünï\u2028cödé", "tab\there", "\x01ctl", strings.Repeat("k", 1024)} {
		m := s3Meta{Key: key, Size: 42, ETag: `"0123456789abcdef0123456789abcdef"`, LastModified: when, ContentType: "x/y", Metadata: map[string]string{"a": "b", "k": `{"x":"}"}`}}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s3DecodeIndexMeta(b)
		if err != nil || got.Key != key || got.Size != 42 || got.ETag != m.ETag || !got.LastModified.Equal(when) {
			t.Errorf("%q: decoded %+v, %v", key, got, err)
		}
		if _, ok := s3FastIndexMeta(b); !ok {
			t.Errorf("%q: the fast path refused %s", key, b)
		}
	}
	// What it does not expect goes to encoding/json.
	got, err := s3DecodeIndexMeta([]byte(`{"size":7,"key":"reordered","lastModified":"2026-12-01T21:00:00Z","etag":""}`))
	if err != nil || got.Key != "reordered" || got.Size != 7 {
		t.Errorf("reordered members: %+v, %v", got, err)
	}
}
