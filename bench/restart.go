package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/fakes"
)

// The restart row (-rows restart, not part of the default run): a data
// directory whose bucket log holds -million objects, each with the seven
// envelope entries SES writes as metadata and a 1 KB body, written through
// the embedded S3 in-process (64 writers, so the group commit batches);
// then sesinbound started on it with --data-dir, timed from exec to the 220
// greeting, which comes only once every bucket's index is rebuilt. The
// restart reads each record's header and metadata, not its body, so the
// body size changes what is written, not what the restart reads.

type restartResult struct {
	n                int
	fill             time.Duration
	startup          time.Duration
	rssKB            int
	settledKB        int // a second later
	listKeys         int
	listed, relisted time.Duration
}

func (rep *report) measureRestart(lb *lab, rules string) error {
	n := rep.opts.million
	if rep.opts.quick {
		n = 2000
	}
	dataDir := filepath.Join(lb.work, "restart-data")
	// A first start makes what a data directory keeps besides objects (KMS
	// keys, the TLS certificate, the SNS signing key), so that the timed
	// start is a restart.
	smtpAddr, awsAddr := freeAddr(), freeAddr()
	first, err := lb.start("sesinbound-restart-first", lb.sesinbound, []string{"--smtp-addr", smtpAddr, "--aws-addr", awsAddr, "--config", rules, "--data-dir", dataDir}, nil)
	if err != nil {
		return err
	}
	if err := waitGreeting(smtpAddr, time.Minute, 5*time.Millisecond); err != nil {
		return first.failed(err)
	}
	first.stop()
	progress("restart: writing %d objects into a data directory", n)
	start := time.Now()
	if err := fillDataDir(filepath.Join(dataDir, "s3"), "bench", n); err != nil {
		return err
	}
	res := &restartResult{n: n, fill: time.Since(start)}
	progress("restart: written in %s; starting sesinbound on it", res.fill.Round(time.Second))
	smtpAddr, awsAddr = freeAddr(), freeAddr()
	start = time.Now()
	p, err := lb.start("sesinbound-restart", lb.sesinbound, []string{"--smtp-addr", smtpAddr, "--aws-addr", awsAddr, "--config", rules, "--data-dir", dataDir}, nil)
	if err != nil {
		return err
	}
	defer p.stop()
	if err := waitGreeting(smtpAddr, 10*time.Minute, time.Millisecond); err != nil {
		return p.failed(err)
	}
	res.startup = time.Since(start)
	res.rssKB, _ = rssKB(p.cmd.Process.Pid, "VmRSS")
	// It serves what it loaded.
	client := s3Client("http://"+awsAddr, "test", "test")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bench"), Key: aws.String(restartKey(n - 1))}); err != nil {
		return fmt.Errorf("restart: the last object written: %w", err)
	}
	time.Sleep(time.Second)
	res.settledKB, _ = rssKB(p.cmd.Process.Pid, "VmRSS")
	progress("restart: 220 after %s, RSS %d MiB", res.startup.Round(time.Millisecond), res.rssKB/1024)
	// And a million keys listed, with the ETags of 1 KB bodies to compute
	// on the first pass.
	lctx, lcancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer lcancel()
	keys, _, listed, relisted, err := listTwice(lctx, client, "bench")
	if err != nil {
		return err
	}
	res.listKeys, res.listed, res.relisted = len(keys), listed, relisted
	rep.restart = res
	return nil
}

func restartKey(i int) string { return fmt.Sprintf("mail/%040d", i) }

// fillDataDir writes n objects into bucket under dir.
func fillDataDir(dir, bucket string, n int) error {
	s, err := fakes.NewS3(fakes.WithS3DataDir(dir), fakes.WithBuckets(bucket))
	if err != nil {
		return err
	}
	defer s.Close()
	body := bytes.Repeat([]byte("e"), 1000)
	meta := map[string]string{
		"x-amz-key-v2":                     base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 184)),
		"x-amz-iv":                         base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("i"), 12)),
		"x-amz-cek-alg":                    "AES/GCM/NoPadding",
		"x-amz-wrap-alg":                   "kms",
		"x-amz-tag-len":                    "128",
		"x-amz-matdesc":                    `{"aws:ses:message-id":"` + strings.Repeat("m", 40) + `","aws:ses:rule-name":"store","aws:ses:source-account":"111122223333","kms_cmk_id":"` + benchKey + `"}`,
		"x-amz-unencrypted-content-length": "984",
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				_, err := s.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(restartKey(i)), Body: bytes.NewReader(body), Metadata: meta})
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return nil
}

func (res *restartResult) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "### Restart on %d objects, `--data-dir`\n\n", res.n)
	fmt.Fprintf(b, "- Written in-process in %s (64 writers, 1 KB bodies, SES's seven envelope entries as metadata).\n", res.fill.Round(time.Second))
	fmt.Fprintf(b, "- Exec to the 220 greeting, every bucket's index rebuilt from its log: %s.\n", res.startup.Round(time.Millisecond))
	fmt.Fprintf(b, "- RSS once serving, with the index in memory: %.0f MB at the greeting, %.0f MB a second later.\n", float64(res.rssKB)/1024, float64(res.settledKB)/1024)
	fmt.Fprintf(b, "- ListObjectsV2 over the %d keys, every page of 1000 through the SDK over HTTP: %s the first time (which computes the ETags), %s the second.\n\n",
		res.listKeys, res.listed.Round(time.Millisecond), res.relisted.Round(time.Millisecond))
}
