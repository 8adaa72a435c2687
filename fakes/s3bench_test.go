package fakes_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/fakes"
)

// BenchmarkS3Put stores 10 KB objects in-process as the pipeline does:
// a body whole in memory, SES's envelope metadata, no checksum.
func BenchmarkS3Put(b *testing.B) {
	for _, mode := range []string{"memory", "data-dir"} {
		b.Run(mode, func(b *testing.B) {
			opts := []fakes.S3Option{fakes.WithBuckets("bench")}
			if mode == "data-dir" {
				opts = append(opts, fakes.WithS3DataDir(b.TempDir()))
			}
			s, err := fakes.NewS3(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			body := bytes.Repeat([]byte("x"), 10000)
			meta := map[string]string{
				"x-amz-key-v2": string(bytes.Repeat([]byte("k"), 250)), "x-amz-iv": "MDEyMzQ1Njc4OWFi", "x-amz-cek-alg": "AES/GCM/NoPadding",
				"x-amz-wrap-alg": "kms", "x-amz-tag-len": "128", "x-amz-matdesc": string(bytes.Repeat([]byte("m"), 200)),
				"x-amz-unencrypted-content-length": "9984",
			}
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprintf("mail/%p-%d", pb, i)),
						Body: bytes.NewReader(body), Metadata: meta}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkS3IndexGC puts 200,000 small objects in-process, then times a
// full garbage collection: what the index's size costs every GC cycle
// once the store is large (with GOMEMLIMIT, cycles come more often as the
// heap nears the limit). It also reports the heap per object.
func BenchmarkS3IndexGC(b *testing.B) {
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("S3_INDEX_GC_N")); err == nil && v > 0 {
		n = v
	}
	s, err := fakes.NewS3(fakes.WithBuckets("bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	body := []byte("0123456789")
	ctx := context.Background()
	for i := range n {
		if _, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprintf("mail/%040d", i)),
			Body: bytes.NewReader(body)}); err != nil {
			b.Fatal(err)
		}
	}
	s.Close() // the staging drained; the index stays in s
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ResetTimer()
	for range b.N {
		runtime.GC()
	}
	b.StopTimer()
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-B/object")
	runtime.KeepAlive(s)
}
