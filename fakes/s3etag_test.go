package fakes

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestS3ETagsComputedInBackground stores objects in-process as the
// pipeline does (a body whole in memory, no checksum, so no ETag at put
// time) and checks that once the staging flusher is done a full listing
// reads no body back, and shows each body's MD5: in memory mode, where
// the staging flusher computes them, and with a data directory, where a
// background hasher does.
func TestS3ETagsComputedInBackground(t *testing.T) {
	for _, mode := range []string{"memory", "data-dir"} {
		t.Run(mode, func(t *testing.T) { testS3ETagsInBackground(t, mode) })
	}
}

func testS3ETagsInBackground(t *testing.T, mode string) {
	var reads atomic.Int64
	opts := []S3Option{WithBuckets("etags"), func(c *s3Config) { c.etagHook = func() { reads.Add(1) } }}
	if mode == "data-dir" {
		opts = append(opts, WithS3DataDir(t.TempDir()))
	}
	s, err := NewS3(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	want := map[string]string{}
	for i := range 300 {
		size := 10000 + i
		if i%100 == 7 {
			size = s3StageMaxBody + 1000 + i // written directly, not staged
		}
		body := bytes.Repeat([]byte{byte(i)}, size)
		key := fmt.Sprintf("mail/%04d", i)
		if _, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("etags"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(body)
		want[key] = `"` + hex.EncodeToString(sum[:]) + `"`
	}
	s.mu.RLock()
	st := cmp.Or(s.buckets["etags"].log.stage, s.buckets["etags"].log.hasher)
	s.mu.RUnlock()
	st.drain()
	got := map[string]string{}
	p := s3.NewListObjectsV2Paginator(s, &s3.ListObjectsV2Input{Bucket: aws.String("etags"), MaxKeys: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			got[*o.Key] = *o.ETag
		}
	}
	if n := reads.Load(); n != 0 {
		t.Errorf("the listing read %d bodies back for their ETag, want none", n)
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d objects, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: ETag %s, want %s", k, got[k], w)
		}
	}
	// GetObject agrees, still without reading bodies for the ETag.
	out, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("etags"), Key: aws.String("mail/0007")})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if *out.ETag != want["mail/0007"] || reads.Load() != 0 {
		t.Errorf("GetObject ETag %s (bodies read %d), want %s", *out.ETag, reads.Load(), want["mail/0007"])
	}
}
