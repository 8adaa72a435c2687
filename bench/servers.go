package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sesinbound/sesinbound/internal/toolbin"
)

// lab is where the benchmark keeps its binaries, data and logs, and the
// servers it started.
type lab struct {
	root       string // the sesinbound module
	work       string // a temporary directory for this run
	sesinbound string // the binary under test
	procs      []*proc
	cleanups   []func() // run by stopAll, before the processes stop
}

// proc is a server process.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string // file with its output
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs bin with args and extra environment, its output in a log file.
func (lb *lab) start(name, bin string, args, env []string) (*proc, error) {
	logPath := filepath.Join(lb.work, fmt.Sprintf("%s-%d.log", name, len(lb.procs)))
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = toolbin.DieWithParent()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	lb.procs = append(lb.procs, p)
	return p, nil
}

// stop ends a server with SIGTERM, then SIGKILL after 10 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// failed describes a server that did not come up, with its log's tail.
func (p *proc) failed(err error) error {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return fmt.Errorf("%s: %v\n%s", p.name, err, b)
}

func (lb *lab) stopAll() {
	for _, f := range lb.cleanups {
		f()
	}
	for _, p := range lb.procs {
		p.stop()
	}
}

// cleanEnv is the environment without AWS settings from the caller's shell,
// so that every server sees only what the benchmark gives it.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "SESINBOUND_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// waitGreeting waits until addr sends a 220 greeting, trying every poll.
func waitGreeting(addr string, timeout, poll time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			line, rerr := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if rerr == nil && strings.HasPrefix(line, "220") {
				return nil
			}
			err = fmt.Errorf("greeting %q: %v", line, rerr)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(poll)
	}
}

// waitHTTP waits until url answers, with any status.
func waitHTTP(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// releaseBuild builds ./cmd/sesinbound in dir into bin as the Dockerfile
// builds the image's binary: static (no cgo, so no dynamic loader at
// exec), without the symbol table and paths.
func releaseBuild(dir, bin string) *exec.Cmd {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/sesinbound")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	return cmd
}

// buildSesinbound builds the binary under test from this checkout.
func (lb *lab) buildSesinbound() error {
	lb.sesinbound = filepath.Join(lb.work, "sesinbound")
	cmd := releaseBuild(lb.root, lb.sesinbound)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/sesinbound: %v\n%s", err, out)
	}
	return nil
}

// buildBaseline builds sesinbound from another checkout (-baseline), to be
// measured in the same rounds as the one under test.
func (lb *lab) buildBaseline(dir string) (string, error) {
	bin := filepath.Join(lb.work, "sesinbound-baseline")
	cmd := releaseBuild(dir, bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/sesinbound in %s: %v\n%s", dir, err, out)
	}
	return bin, nil
}

// tool builds (or finds in the cache) one of the real servers in e2e/tools.
func (lb *lab) tool(name string) (string, error) {
	return toolbin.Build(filepath.Join(lb.root, "e2e", "tools", name), os.Stderr)
}

// target is an SMTP server the load generator can drive.
type target struct {
	name  string
	smtp  string
	aws   string // sesinbound's AWS endpoint address, "" for the others
	proc  *proc
	reset func() error // forget what earlier runs stored; may be nil
}

// sesinboundOpts says how to run sesinbound.
type sesinboundOpts struct {
	rules   string // rules file
	dataDir bool
	s3, kms string   // external endpoints, or "" for the embedded ones
	env     []string // e.g. credentials for the external S3
	bucket  string   // what reset empties
	profile string   // a CPU profile file, or ""
	webhook string   // a --webhook URL, or ""
	batch   int      // its --webhook-batch, when above 1
	bin     string   // the binary; "" for the one under test
}

// startSesinbound runs sesinbound and waits for its greeting. Its reset
// empties the bucket, so that the embedded S3 in memory does not grow
// through the run.
func (lb *lab) startSesinbound(name string, o sesinboundOpts) (*target, error) {
	smtpAddr, awsAddr := freeAddr(), freeAddr()
	args := []string{"--smtp-addr", smtpAddr, "--aws-addr", awsAddr, "--config", o.rules}
	if o.dataDir {
		args = append(args, "--data-dir", filepath.Join(lb.work, name+"-data"))
	}
	s3URL := "http://" + awsAddr
	if o.s3 != "" {
		args = append(args, "--s3-endpoint", o.s3)
		s3URL = o.s3
	}
	if o.kms != "" {
		args = append(args, "--kms-endpoint", o.kms)
	}
	if o.profile != "" {
		args = append(args, "--cpu-profile", o.profile)
	}
	if o.webhook != "" {
		args = append(args, "--webhook", o.webhook)
		if o.batch > 1 {
			args = append(args, "--webhook-batch", strconv.Itoa(o.batch))
		}
	}
	bin := lb.sesinbound
	if o.bin != "" {
		bin = o.bin
	}
	p, err := lb.start(name, bin, args, o.env)
	if err != nil {
		return nil, err
	}
	if err := waitGreeting(smtpAddr, 60*time.Second, 20*time.Millisecond); err != nil {
		return nil, p.failed(err)
	}
	access, secret := envValue(o.env, "AWS_ACCESS_KEY_ID", "test"), envValue(o.env, "AWS_SECRET_ACCESS_KEY", "test")
	client := s3Client(s3URL, access, secret)
	return &target{name: name, smtp: smtpAddr, aws: awsAddr, proc: p, reset: func() error { return emptyBucket(client, o.bucket) }}, nil
}

func envValue(env []string, key, def string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return def
}

// startSink runs this program's own discard sink: go-smtp accepting every
// message and throwing it away, the ceiling every other row is held to.
func (lb *lab) startSink() (*target, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr := freeAddr()
	p, err := lb.start("ceiling", self, []string{"sink", "-addr", addr}, nil)
	if err != nil {
		return nil, err
	}
	if err := waitGreeting(addr, 30*time.Second, 20*time.Millisecond); err != nil {
		return nil, p.failed(err)
	}
	return &target{name: "ceiling (go-smtp discard)", smtp: addr, proc: p}, nil
}

// startDurableSink runs the durable sink: go-smtp appending every message
// to one log, 250 after a group-commit fdatasync. It is the ceiling of the
// --data-dir row; its log is on the same disk as sesinbound's data.
func (lb *lab) startDurableSink() (*target, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr := freeAddr()
	logFile := filepath.Join(lb.work, "durable-sink.log")
	p, err := lb.start("durable-ceiling", self, []string{"sink", "-addr", addr, "-durable", logFile}, nil)
	if err != nil {
		return nil, err
	}
	if err := waitGreeting(addr, 30*time.Second, 20*time.Millisecond); err != nil {
		return nil, p.failed(err)
	}
	return &target{name: "durable ceiling (go-smtp, one log, group fdatasync)", smtp: addr, proc: p,
		reset: func() error { return os.Truncate(logFile, 0) }}, nil
}

// startMailpit runs Mailpit with an on-disk database and no message limit.
func (lb *lab) startMailpit() (*target, error) {
	bin, err := lb.tool("mailpit")
	if err != nil {
		return nil, err
	}
	smtpAddr, httpAddr := freeAddr(), freeAddr()
	p, err := lb.start("mailpit", bin, []string{
		"-s", smtpAddr, "-l", httpAddr, "-d", filepath.Join(lb.work, "mailpit.db"),
		"--max", "0", "--disable-version-check", "--smtp-disable-rdns",
	}, nil)
	if err != nil {
		return nil, err
	}
	if err := waitGreeting(smtpAddr, 60*time.Second, 20*time.Millisecond); err != nil {
		return nil, p.failed(err)
	}
	reset := func() error {
		req, _ := http.NewRequest(http.MethodDelete, "http://"+httpAddr+"/api/v1/messages", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("mailpit: DELETE /api/v1/messages: %s", resp.Status)
		}
		return nil
	}
	return &target{name: "Mailpit v1.27.11", smtp: smtpAddr, proc: p, reset: reset}, nil
}

// backends are local-kms and versitygw, running.
type backends struct {
	kmsURL, s3URL  string
	access, secret string
}

// startBackends runs local-kms and versitygw.
func (lb *lab) startBackends() (*backends, error) {
	kmsBin, err := lb.tool("localkms")
	if err != nil {
		return nil, err
	}
	gwBin, err := lb.tool("versitygw")
	if err != nil {
		return nil, err
	}
	b := &backends{access: "benchaccess", secret: "benchsecret"}
	kmsAddr := freeAddr()
	_, port, _ := net.SplitHostPort(kmsAddr)
	kdir := filepath.Join(lb.work, "local-kms")
	os.MkdirAll(kdir, 0o755)
	kp, err := lb.start("local-kms", kmsBin, nil, []string{
		"PORT=" + port, "KMS_DATA_PATH=" + filepath.Join(kdir, "data"),
		"KMS_SEED_PATH=" + filepath.Join(kdir, "no-seed.yaml"),
		"KMS_ACCOUNT_ID=" + accountID, "KMS_REGION=us-east-1",
	})
	if err != nil {
		return nil, err
	}
	b.kmsURL = "http://" + kmsAddr
	if err := waitHTTP(b.kmsURL, 30*time.Second); err != nil {
		return nil, kp.failed(err)
	}
	gwAddr := freeAddr()
	gdir := filepath.Join(lb.work, "versitygw")
	os.MkdirAll(gdir, 0o755)
	gp, err := lb.start("versitygw", gwBin, []string{"--access", b.access, "--secret", b.secret, "--port", gwAddr, "posix", gdir}, nil)
	if err != nil {
		return nil, err
	}
	b.s3URL = "http://" + gwAddr
	if err := waitHTTP(b.s3URL, 30*time.Second); err != nil {
		return nil, gp.failed(err)
	}
	return b, nil
}

func (b *backends) env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + b.access, "AWS_SECRET_ACCESS_KEY=" + b.secret, "AWS_REGION=us-east-1"}
}

func awsConfig(access, secret string) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
}

func s3Client(endpoint, access, secret string) *s3.Client {
	return s3.NewFromConfig(awsConfig(access, secret), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	})
}

func kmsClient(endpoint string) *kms.Client {
	return kms.NewFromConfig(awsConfig("test", "test"), func(o *kms.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// emptyBucket deletes every object in bucket.
func emptyBucket(c *s3.Client, bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		var nsb *s3types.NoSuchBucket
		if errors.As(err, &nsb) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("empty %s: %w", bucket, err)
		}
		if len(out.Contents) == 0 {
			return nil
		}
		var ids []s3types.ObjectIdentifier
		for _, o := range out.Contents {
			ids = append(ids, s3types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("empty %s: %w", bucket, err)
		}
	}
}

// rssKB reads a process's resident set (VmRSS) or its peak (VmHWM), in KiB,
// from /proc.
func rssKB(pid int, field string) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// cpuTime is the CPU a process has used so far, user and system, from
// /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	user, sys, err := cpuTimes(pid)
	return user + sys, err
}

// cpuTimes is the CPU time pid has used, in user space and in the kernel.
func cpuTimes(pid int) (user, sys time.Duration, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name, in parentheses, may hold spaces: count after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14 of the line
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: utime or stime not a number", pid)
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime) * time.Second / ticks, time.Duration(stime) * time.Second / ticks, nil
}
