package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The scale row (-rows million, not part of the default run): -million
// mails of 10 KB over 8 connections into a fresh sesinbound in the default
// mode (no --data-dir), in slices of a tenth, with the rate of each slice
// and the RSS after it; then a full ListObjectsV2 listing of the bucket
// through the AWS endpoint, timed, and a sample of the objects read back.

// sliceResult is one tenth of the scale run.
type sliceResult struct {
	sent     int // mails sent so far
	rate     float64
	rssKB    int
	failed   int
	firstErr string
	cpuPerUS float64 // the server's CPU per mail of the slice, µs
	sysPerUS float64 // of which in the kernel
	// The probe after the slice: scaleProbe mails to the grown server
	// and as many to a fresh one (emptied before each probe), one right
	// after the other, in turns first: the grown one's rate over the
	// fresh one's, a figure the machine's own speed changes little, and
	// its CPU a mail over the fresh one's.
	probe, probeCPU float64
	freshCPU        float64 // the fresh server's CPU a mail in the probe, µs
}

// scaleProbe is the mails of each probe, to each server.
const scaleProbe = 10000

// scaleResult is the scale row.
type scaleResult struct {
	n         int
	slices    []sliceResult
	peakRSSKB int
	listKeys  int
	listTime  time.Duration // the first listing, which computes the ETags left to first use
	relist    time.Duration // the second

	readBack   int
	readFailed int
	elapsed    time.Duration
	probeSent  int // the probes' mails into the grown server, besides n

	// Every listed object read back after the listings, its body's MD5
	// checked against the ETag the listing gave.
	readAll, readAllFailed int
	readAllTime            time.Duration
	readAllErr             string
}

func (rep *report) measureScale(lb *lab, rules string) error {
	n := rep.opts.million
	if rep.opts.quick {
		n = 2000
	}
	progress("scale: %d × 10 KB into the default mode", n)
	smtpAddr, awsAddr := freeAddr(), freeAddr()
	var env []string
	if rep.opts.scaleTmp != "" {
		env = []string{"TMPDIR=" + rep.opts.scaleTmp}
	}
	p, err := lb.start("sesinbound-scale", lb.sesinbound, []string{"--smtp-addr", smtpAddr, "--aws-addr", awsAddr, "--config", rules}, env)
	if err != nil {
		return err
	}
	defer p.stop()
	if err := waitGreeting(smtpAddr, 60*time.Second, 20*time.Millisecond); err != nil {
		return p.failed(err)
	}
	fresh, err := lb.startSesinbound("sesinbound-scale-fresh", sesinboundOpts{rules: rules, bucket: "bench", env: env})
	if err != nil {
		return err
	}
	defer fresh.proc.stop()
	res := &scaleResult{n: n}
	msg := message(10000)
	start := time.Now()
	step := max(n/10, 1)
	probe := min(scaleProbe, step)
	for sent := 0; sent < n; {
		k := min(step, n-sent)
		user0, sys0, _ := cpuTimes(p.cmd.Process.Pid)
		r := drive(smtpAddr, msg, k, 8)
		user1, sys1, _ := cpuTimes(p.cmd.Process.Pid)
		sent += k
		rss, _ := rssKB(p.cmd.Process.Pid, "VmRSS")
		sl := sliceResult{sent: sent, rate: r.MsgsPerSec(), rssKB: rss, failed: r.Failed, firstErr: r.FirstErr}
		if r.OK > 0 {
			sl.cpuPerUS = float64((user1 + sys1 - user0 - sys0).Microseconds()) / float64(r.OK)
			sl.sysPerUS = float64((sys1 - sys0).Microseconds()) / float64(r.OK)
		}
		if err := fresh.reset(); err != nil {
			return fmt.Errorf("scale: emptying the fresh server: %v", err)
		}
		sl.probe, sl.probeCPU, sl.freshCPU = probeBoth(len(res.slices)%2 == 0,
			func() (loadResult, time.Duration) { return driveCPU(p.cmd.Process.Pid, smtpAddr, msg, probe/2) },
			func() (loadResult, time.Duration) {
				return driveCPU(fresh.proc.cmd.Process.Pid, fresh.smtp, msg, probe/2)
			})
		res.probeSent += probe
		res.slices = append(res.slices, sl)
		progress("scale: %d sent, %.0f msgs/s in this slice, %.0f µs of CPU a mail (%.0f in the kernel), RSS %d MiB; probe: %.2f × a fresh server's rate, %.2f × its CPU a mail (%.0f µs)", sent, r.MsgsPerSec(), sl.cpuPerUS, sl.sysPerUS, rss/1024, sl.probe, sl.probeCPU, sl.freshCPU)
	}
	res.elapsed = time.Since(start)

	client := s3Client("http://"+awsAddr, "test", "test")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	// Read back the first and last keys written, and a random sample
	// between, before any listing computes ETags.
	res.readBack, res.readFailed = readSample(ctx, client, n, len(msg))
	res.peakRSSKB, _ = rssKB(p.cmd.Process.Pid, "VmHWM")
	if rep.opts.scaleList {
		keys, etags, first, again, err := listTwice(ctx, client, "bench")
		if err != nil {
			return err
		}
		res.listKeys, res.listTime, res.relist = len(keys), first, again
		progress("scale: reading back all %d objects", len(keys))
		readStart := time.Now()
		res.readAll, res.readAllFailed, res.readAllErr = readAll(ctx, client, "bench", keys, etags, 8)
		res.readAllTime = time.Since(readStart)
		res.peakRSSKB, _ = rssKB(p.cmd.Process.Pid, "VmHWM")
	}
	rep.scale = res
	return nil
}

// probeBoth runs the probe of the grown server and of the fresh one in
// two halves each, in the order grown, fresh, fresh, grown (or the
// reverse, if not grownFirst), so that the machine's speed drifting during
// the probe weighs on both alike. It returns the grown one's rate and CPU
// a mail over the fresh one's, and the fresh one's CPU a mail in µs.
func probeBoth(grownFirst bool, grown, fresh func() (loadResult, time.Duration)) (rate, cpu, freshUS float64) {
	type total struct {
		ok      int
		elapsed time.Duration
		cpu     time.Duration
	}
	var g, f total
	run := func(t *total, leg func() (loadResult, time.Duration)) {
		r, c := leg()
		t.ok += r.OK
		t.elapsed += r.Elapsed
		t.cpu += c
	}
	order := []*total{&g, &f, &f, &g}
	if !grownFirst {
		order = []*total{&f, &g, &g, &f}
	}
	for _, t := range order {
		if t == &g {
			run(t, grown)
		} else {
			run(t, fresh)
		}
	}
	if g.ok == 0 || f.ok == 0 || g.elapsed <= 0 || f.cpu <= 0 {
		return 0, 0, 0
	}
	rate = (float64(g.ok) / g.elapsed.Seconds()) / (float64(f.ok) / f.elapsed.Seconds())
	cpu = (float64(g.cpu) / float64(g.ok)) / (float64(f.cpu) / float64(f.ok))
	return rate, cpu, float64(f.cpu.Microseconds()) / float64(f.ok)
}

// driveCPU sends n mails over 8 connections to addr and returns the
// result and the CPU the server (pid) used meanwhile.
func driveCPU(pid int, addr string, msg []byte, n int) (loadResult, time.Duration) {
	before, _ := cpuTime(pid)
	r := drive(addr, msg, n, 8)
	after, _ := cpuTime(pid)
	return r, after - before
}

// readSample reads objects back by their keys: the message IDs are not
// known to the load generator, so it lists the first page for the first
// keys and takes random keys from pages at random start points.
func readSample(ctx context.Context, client *s3.Client, n, minSize int) (ok, failed int) {
	rng := rand.New(rand.NewPCG(1, 2))
	var keys []string
	for i := range 20 {
		in := &s3.ListObjectsV2Input{Bucket: aws.String("bench"), MaxKeys: aws.Int32(50)}
		if i > 0 {
			// A random point in the key space of base32hex message IDs.
			const digits = "0123456789abcdefghijklmnopqrstuv"
			in.StartAfter = aws.String("mail/" + string(digits[rng.IntN(32)]) + string(digits[rng.IntN(32)]))
		}
		page, err := client.ListObjectsV2(ctx, in)
		if err != nil {
			failed++
			continue
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	for _, k := range keys {
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bench"), Key: aws.String(k)})
		if err != nil {
			failed++
			continue
		}
		got, err := io.Copy(io.Discard, out.Body)
		out.Body.Close()
		// The object is the encrypted mail with SES's headers: longer than
		// what was sent.
		if err != nil || got < int64(minSize) {
			failed++
			continue
		}
		ok++
	}
	return ok, failed
}

func (res *scaleResult) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "### %d × 10 KB into the default mode\n\n", res.n)
	fmt.Fprintf(b, "8 connections, in slices of a tenth; one process from start to end (%s in all). After each slice, a probe: %d mails to this server and %d to a fresh one emptied before each probe, in halves, in the order this, fresh, fresh, this (the reverse after every other slice), so that the machine's drift weighs on both alike (%d probe mails in all went into this server besides the %d).\n\n",
		res.elapsed.Round(time.Second), scaleProbe, scaleProbe, res.probeSent, res.n)
	b.WriteString("| mails sent | msgs/s in the slice | server CPU a mail (in the kernel) | RSS after it | probe: rate × a fresh server's | probe: CPU a mail × a fresh server's (the fresh one's) | failed |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range res.slices {
		fmt.Fprintf(b, "| %d | %.0f | %.0f µs (%.0f) | %.0f MB | %.2f | %.2f (%.0f µs) | %d |\n", s.sent, s.rate, s.cpuPerUS, s.sysPerUS, float64(s.rssKB)/1024, s.probe, s.probeCPU, s.freshCPU, s.failed)
	}
	if len(res.slices) > 1 {
		first, last := res.slices[0], res.slices[len(res.slices)-1]
		fmt.Fprintf(b, "\nThe last slice ran at %.2f × the rate of the first, at %.2f × its CPU a mail; the last probe made %.2f × a fresh server's rate at %.2f × its CPU a mail, the first %.2f × at %.2f ×.\n",
			last.rate/first.rate, last.cpuPerUS/first.cpuPerUS, last.probe, last.probeCPU, first.probe, first.probeCPU)
	}
	for _, s := range res.slices {
		if s.firstErr != "" {
			fmt.Fprintf(b, "\nFirst failure (after %d): %s\n", s.sent, s.firstErr)
			break
		}
	}
	fmt.Fprintf(b, "\n- Peak RSS (VmHWM): %.0f MB.\n", float64(res.peakRSSKB)/1024)
	if res.listKeys == 0 {
		b.WriteString("- Not listed (-scale-list=false).\n")
	} else {
		fmt.Fprintf(b, "- ListObjectsV2, every page of 1000 through the SDK over HTTP: %d keys in %s the first time (which computes the MD5 ETags that in-process puts leave to first use), %s the second.\n",
			res.listKeys, res.listTime.Round(time.Millisecond), res.relist.Round(time.Millisecond))
	}
	fmt.Fprintf(b, "- Read back with GetObject, before any listing: %d of %d sampled objects (pages of 50 keys from random points of the key space), %d failed.\n", res.readBack, res.readBack+res.readFailed, res.readFailed)
	if res.listKeys > 0 {
		fmt.Fprintf(b, "- Then every listed object read back with GetObject over 8 connections, the MD5 of each body checked against the listing's ETag: %d of %d in %s, %d failed.",
			res.readAll, res.listKeys, res.readAllTime.Round(time.Second), res.readAllFailed)
		if res.readAllErr != "" {
			fmt.Fprintf(b, " First failure: %s.", res.readAllErr)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// readAll reads every key with c workers and checks each body's MD5
// against its ETag.
func readAll(ctx context.Context, client *s3.Client, bucket string, keys []string, etags map[string]string, c int) (ok, failed int, firstErr string) {
	var mu sync.Mutex
	next := make(chan string, 1024)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for k := range next {
				err := func() error {
					out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
					if err != nil {
						return err
					}
					defer out.Body.Close()
					h := md5.New()
					if _, err := io.CopyBuffer(h, out.Body, buf); err != nil {
						return err
					}
					if got, want := `"`+hex.EncodeToString(h.Sum(nil))+`"`, etags[k]; got != want {
						return fmt.Errorf("%s: body MD5 %s, listed ETag %s", k, got, want)
					}
					return nil
				}()
				mu.Lock()
				if err != nil {
					failed++
					if firstErr == "" {
						firstErr = err.Error()
					}
				} else {
					ok++
				}
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		next <- k
	}
	close(next)
	wg.Wait()
	return ok, failed, firstErr
}

// listTwice lists a bucket in full twice, with every page of 1000 through
// the SDK, and times each.
func listTwice(ctx context.Context, client *s3.Client, bucket string) (keys []string, etags map[string]string, first, again time.Duration, err error) {
	for i := range 2 {
		keys = keys[:0]
		etags = map[string]string{}
		listStart := time.Now()
		pager := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		for pager.HasMorePages() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, nil, 0, 0, fmt.Errorf("list %s: %w", bucket, err)
			}
			for _, o := range page.Contents {
				keys = append(keys, aws.ToString(o.Key))
				etags[aws.ToString(o.Key)] = aws.ToString(o.ETag)
			}
		}
		took := time.Since(listStart)
		if i == 0 {
			first = took
		} else {
			again = took
		}
		progress("listed %d keys in %s", len(keys), took.Round(time.Millisecond))
	}
	return keys, etags, first, again, nil
}
