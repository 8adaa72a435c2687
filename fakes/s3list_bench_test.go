package fakes

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BenchmarkS3FirstListing stores objects of 10 KB in-process into the
// default mode, as the pipeline does, waits for the staged records to be
// written, and times the first full listing of the bucket: the one that
// would compute every ETag still missing. SESINBOUND_BENCH_OBJECTS sets
// the number of objects (default 100,000). Run it with -benchtime=1x.
func BenchmarkS3FirstListing(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("SESINBOUND_BENCH_OBJECTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	body := bytes.Repeat([]byte("x"), 10000)
	for range b.N {
		b.StopTimer()
		s, err := NewS3(WithBuckets("bench"))
		if err != nil {
			b.Fatal(err)
		}
		putStart := time.Now()
		for i := range n {
			body[i%len(body)]++ // bodies differ
			if _, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprintf("mail/%08d", i)), Body: bytes.NewReader(body)}); err != nil {
				b.Fatal(err)
			}
		}
		s.mu.RLock()
		st := s.buckets["bench"].log.stage
		s.mu.RUnlock()
		st.drain()
		b.ReportMetric(time.Since(putStart).Seconds(), "s/puts")
		b.StartTimer()
		start := time.Now()
		listed := 0
		p := s3.NewListObjectsV2Paginator(s, &s3.ListObjectsV2Input{Bucket: aws.String("bench")})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			listed += len(page.Contents)
		}
		b.StopTimer()
		if listed != n {
			b.Fatalf("listed %d, want %d", listed, n)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/listing")
		s.Close()
	}
}
