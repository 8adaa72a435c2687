package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// measureStartup times exec to the first 220 greeting, with the built-in
// rules and nothing on disk, as `go run ./cmd/sesinbound` starts (without
// the compile), and reads the idle RSS of the last start.
func (rep *report) measureStartup(lb *lab) error {
	progress("timing %d startups", rep.opts.startups)
	for i := range rep.opts.startups {
		smtpAddr, awsAddr := freeAddr(), freeAddr()
		start := time.Now()
		p, err := lb.start("startup", lb.sesinbound, []string{"--smtp-addr", smtpAddr, "--aws-addr", awsAddr}, nil)
		if err != nil {
			return err
		}
		// Polled tightly: the figure is only as fine as the poll.
		if err := waitGreeting(smtpAddr, 30*time.Second, 100*time.Microsecond); err != nil {
			p.stop()
			return p.failed(err)
		}
		rep.startup = append(rep.startup, time.Since(start))
		if i == rep.opts.startups-1 {
			time.Sleep(time.Second)
			if rep.idleRSSKB, err = rssKB(p.cmd.Process.Pid, "VmRSS"); err != nil {
				return err
			}
		}
		p.stop()
	}
	return nil
}

// measurePeakRSS sends one large mail on each of 8 connections at once to a
// fresh sesinbound with --data-dir, and reads its peak RSS.
func (rep *report) measurePeakRSS(lb *lab, rules string) error {
	rep.peakSize = 40000000
	if rep.opts.quick {
		rep.peakSize = 4000000
	}
	progress("peak RSS with 8 × %s in flight", humanSize(rep.peakSize))
	t, err := lb.startSesinbound("sesinbound-peak", sesinboundOpts{rules: rules, dataDir: true, bucket: "bench"})
	if err != nil {
		return err
	}
	defer t.proc.stop()
	res := drive(t.smtp, message(rep.peakSize), 8, 8)
	if res.Failed > 0 {
		return fmt.Errorf("peak RSS run: %d of 8 failed: %s", res.Failed, res.FirstErr)
	}
	rep.peakRSSKB, err = rssKB(t.proc.cmd.Process.Pid, "VmHWM")
	return err
}

// measureRules compares a 200-rule set of 100 recipients each with a
// 1-rule set, mail going to the last recipient of the last rule.
func (rep *report) measureRules(lb *lab) error {
	one := filepath.Join(lb.work, "rules-1.yaml")
	many := filepath.Join(lb.work, "rules-200.yaml")
	if err := os.WriteFile(one, []byte(ruleSet(1)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(many, []byte(ruleSet(200)), 0o644); err != nil {
		return err
	}
	t1, err := lb.startSesinbound("sesinbound-rules-1", sesinboundOpts{rules: one, bucket: "bench"})
	if err != nil {
		return err
	}
	defer t1.proc.stop()
	t200, err := lb.startSesinbound("sesinbound-rules-200", sesinboundOpts{rules: many, bucket: "bench"})
	if err != nil {
		return err
	}
	defer t200.proc.stop()
	// Each round is short, so there are more of them than elsewhere: the
	// ratio is a median of noisy pairs.
	msg := message(10000)
	n := rep.opts.messagesFor(10000, 8)
	rounds := 7
	if rep.opts.quick {
		rounds = 1
	}
	for r := range rounds {
		progress("200 rules against 1, round %d", r+1)
		pair := []*target{t1, t200}
		if r%2 == 1 {
			pair = []*target{t200, t1}
		}
		got := map[*target]loadResult{}
		for _, t := range pair {
			if err := t.reset(); err != nil {
				return err
			}
			got[t] = drive(t.smtp, msg, n, 8)
			if got[t].Failed > 0 {
				return fmt.Errorf("%s: %d failed: %s", t.name, got[t].Failed, got[t].FirstErr)
			}
		}
		rep.rules1 = append(rep.rules1, got[t1])
		rep.rules200 = append(rep.rules200, got[t200])
		rep.rulesRatios = append(rep.rulesRatios, got[t200].MsgsPerSec()/got[t1].MsgsPerSec())
	}
	return nil
}

// ruleSet writes n rules of 100 recipients each (one if n is 1): addresses
// in several domains, whole domains and subdomain wildcards, as a real rule
// set mixes them. The last recipient of the last rule is the address the
// load generator sends to.
func ruleSet(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "AccountId: %q\nRules:\n", accountID)
	for i := range n {
		fmt.Fprintf(&b, "  - Name: rule-%03d\n    Enabled: true\n    Recipients:\n", i)
		if n > 1 {
			fmt.Fprintf(&b, "      - tenant%d.example.net\n      - .tenant%d.example.org\n", i, i)
			for j := range 97 {
				fmt.Fprintf(&b, "      - user%d@dept%d.example-%d.com\n", j, j%7, i)
			}
		}
		if i == n-1 {
			b.WriteString("      - inbox@example.com\n")
		} else {
			fmt.Fprintf(&b, "      - user%d-99@example.com\n", i)
		}
		fmt.Fprintf(&b, "    Actions:\n      - S3Action: {BucketName: bench, ObjectKeyPrefix: mail/, KmsKeyArn: %q}\n", benchKey)
	}
	return b.String()
}

func createBucket(c *s3.Client, bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	return err
}
