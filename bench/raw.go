package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// runOps calls op n times from c goroutines and times each call, for the
// raw backend rates the sesinbound rows are compared with.
func runOps(n, c, size int, op func(i int) error) loadResult {
	var (
		next atomic.Int64
		mu   sync.Mutex
		res  loadResult
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lats []time.Duration
			for {
				i := next.Add(1)
				if i > int64(n) {
					break
				}
				t := time.Now()
				err := op(int(i))
				if err != nil {
					mu.Lock()
					res.Failed++
					if res.FirstErr == "" {
						res.FirstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				lats = append(lats, time.Since(t))
			}
			mu.Lock()
			res.OK += len(lats)
			res.Bytes += int64(len(lats) * size)
			res.Latencies = append(res.Latencies, lats...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(res.Latencies)
	return res
}

// rawPut measures PutObject of size-byte bodies, as sesinbound would write
// them (an encrypted body, its 16-byte tag, and SES's seven metadata keys).
func rawPut(c *s3.Client, bucket string, size, n, conc int) loadResult {
	body := bytes.Repeat([]byte{'z'}, size+16)
	meta := map[string]string{
		"x-amz-key-v2": "AQIDAHhBenchmarkBenchmarkBenchmarkBenchmarkBenchmarkBenchmarkBenchmarkBenchmark==",
		"x-amz-iv":     "AAAAAAAAAAAAAAAA", "x-amz-cek-alg": "AES/GCM/NoPadding", "x-amz-wrap-alg": "kms",
		"x-amz-tag-len": "128", "x-amz-unencrypted-content-length": fmt.Sprint(size),
		"x-amz-matdesc": `{"aws:ses:message-id":"bench","aws:ses:rule-name":"store","aws:ses:source-account":"111122223333","kms_cmk_id":"alias/bench"}`,
	}
	return runOps(n, conc, size, func(i int) error {
		_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("raw/%d", i)),
			Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
			ContentType: aws.String("application/octet-stream"), Metadata: meta,
		})
		return err
	})
}

// rawGenerateDataKey measures GenerateDataKey under an SES-shaped context.
func rawGenerateDataKey(c *kms.Client, keyID string, n, conc int) loadResult {
	return runOps(n, conc, 0, func(i int) error {
		_, err := c.GenerateDataKey(context.Background(), &kms.GenerateDataKeyInput{
			KeyId: aws.String(keyID), KeySpec: kmstypes.DataKeySpecAes256,
			EncryptionContext: map[string]string{
				"aws:ses:message-id": fmt.Sprintf("bench%035d", i), "aws:ses:rule-name": "store",
				"aws:ses:source-account": accountID, "kms_cmk_id": keyID,
			},
		})
		return err
	})
}
