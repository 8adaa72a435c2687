package e2e

// Real S3, KMS and SMTP servers for the tests, built from the Go module
// proxy and run as local processes (no Docker). Each server is pinned by its
// own module under tools/<name>: one module per tool, because a shared module
// would unify their dependencies and MinIO would no longer compile. Nested
// modules are not part of this module's ./... pattern.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/internal/toolbin"
)

// toolBuilds holds one *toolBuild per tool name, so each tool is built at
// most once per test binary.
var toolBuilds sync.Map

type toolBuild struct {
	once sync.Once
	path string
	err  error
}

// buildTool returns the path of the executable of tools/<name>, built and
// cached by toolbin.Build.
func buildTool(t *testing.T, name string) string {
	t.Helper()
	v, _ := toolBuilds.LoadOrStore(name, &toolBuild{})
	b := v.(*toolBuild)
	b.once.Do(func() { b.path, b.err = toolbin.Build(filepath.Join("tools", name), os.Stderr) })
	if b.err != nil {
		t.Fatalf("build tool %s: %v", name, b.err)
	}
	return b.path
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a server process that can be stopped, killed and started again
// with the same arguments: the same ports and the same data directory. It is
// stopped at the end of the test that created it.
//
// Start, Stop, Kill and Restart end the test on failure and so must run on
// the test's goroutine; from other goroutines (a chaos loop under load) use
// StartErr, StopErr and KillErr.
type proc struct {
	Name string

	bin     string
	args    []string
	env     []string
	timeout time.Duration                   // how long to wait for ready
	ready   func(ctx context.Context) error // one cheap real request
	log     *tailBuffer                     // output of every run, appended

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current run has exited
	runs int
}

// newProc prepares a process and registers its stop in t.Cleanup; the
// caller then calls Start.
func newProc(t *testing.T, name, bin string, args, env []string, timeout time.Duration, ready func(context.Context) error) *proc {
	t.Helper()
	p := &proc{Name: name, bin: bin, args: args, env: append(serverEnv(), env...), timeout: timeout, ready: ready, log: &tailBuffer{max: 1 << 20}}
	t.Cleanup(func() {
		if err := p.StopErr(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if t.Failed() {
			t.Logf("%s output (last %d bytes at most):\n%s", name, p.log.max, p.log)
		}
	})
	return p
}

// serverEnv is the test's environment without variables that configure any
// of the servers or the AWS SDK.
func serverEnv() []string {
	var env []string
	for _, kv := range cleanEnv() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "MINIO_"), strings.HasPrefix(k, "VGW_"), strings.HasPrefix(k, "ROOT_"),
			strings.HasPrefix(k, "KMS_"), strings.HasPrefix(k, "MP_"),
			k == "PORT", k == "ACCOUNT_ID", k == "REGION", k == "DATA_PATH", k == "SEED_PATH", k == "LOGFILE", k == "WEBHOOK":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Output returns the process's output so far (the last megabyte).
func (p *proc) Output() string { return p.log.String() }

// Running reports whether the process is running.
func (p *proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// PID returns the current process ID, or 0 when not running.
func (p *proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *proc) Start(t *testing.T) {
	t.Helper()
	if err := p.StartErr(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) Stop(t *testing.T) {
	t.Helper()
	if err := p.StopErr(); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) Kill(t *testing.T) {
	t.Helper()
	if err := p.KillErr(); err != nil {
		t.Fatal(err)
	}
}

// Restart stops the process gracefully and starts it again.
func (p *proc) Restart(t *testing.T) {
	t.Helper()
	p.Stop(t)
	p.Start(t)
}

// StartErr starts the process and waits until it serves. It is an error to
// start a running process.
func (p *proc) StartErr(ctx context.Context) error {
	p.mu.Lock()
	if p.done != nil {
		select {
		case <-p.done:
		default:
			p.mu.Unlock()
			return fmt.Errorf("%s: already running", p.Name)
		}
	}
	p.runs++
	fmt.Fprintf(p.log, "=== %s run %d: %s %s\n", p.Name, p.runs, filepath.Base(p.bin), strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.WaitDelay = 5 * time.Second // don't hang on a grandchild holding the pipe
	cmd.SysProcAttr = toolbin.DieWithParent()
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s: %v", p.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(p.log, "=== %s run exited: %v\n", p.Name, errOr(err, "exit status 0"))
		close(done)
	}()

	started := time.Now()
	deadline := started.Add(p.timeout)
	var last error
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = p.ready(rctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%s exited before it was ready (%v):\n%s", p.Name, cmd.ProcessState, p.log)
		case <-ctx.Done():
			p.KillErr()
			return fmt.Errorf("%s: %v while waiting for it to be ready", p.Name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.KillErr()
			return fmt.Errorf("%s not ready after %v: %v\n%s", p.Name, p.timeout, last, p.log)
		}
	}
}

// StopErr sends SIGTERM, then SIGKILL after 10 s, and waits for the exit.
// Stopping a process that is not running does nothing.
func (p *proc) StopErr() error { return p.signal(syscall.SIGTERM, 10*time.Second) }

// KillErr sends SIGKILL and waits for the exit.
func (p *proc) KillErr() error { return p.signal(syscall.SIGKILL, 10*time.Second) }

func (p *proc) signal(sig syscall.Signal, grace time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	cmd.Process.Kill()
	select {
	case <-done:
		if sig == syscall.SIGKILL {
			return nil
		}
		return fmt.Errorf("%s (pid %d) ignored %v for %v and was killed", p.Name, cmd.Process.Pid, sig, grace)
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, cmd.Process.Pid)
	}
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// tailBuffer keeps the last max bytes written to it (roughly: it trims in
// chunks), so a server logging every request under load stays bounded.
type tailBuffer struct {
	mu  sync.Mutex
	b   []byte
	max int
	cut bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	if len(b.b) > 2*b.max {
		b.b = append(b.b[:0], b.b[len(b.b)-b.max:]...)
		b.cut = true
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return "[... earlier output dropped ...]\n" + string(b.b)
	}
	return string(b.b)
}

// readyTimeout is how long a server may take to serve after it started.
const (
	readyTimeout      = 30 * time.Second
	readyTimeoutMinIO = 60 * time.Second
)

// awsClientConfig is an AWS SDK config for a local server: static
// credentials, us-east-1, and no retries (a readiness probe or a chaos test
// wants to see each failure).
func awsClientConfig(accessKey, secretKey string) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// s3ClientFor is an S3 client for a server that checks credentials.
func s3ClientFor(endpoint, accessKey, secretKey string) *s3.Client {
	cfg := awsClientConfig(accessKey, secretKey)
	cfg.Retryer = nil
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
}

func s3Ready(endpoint, accessKey, secretKey string) func(context.Context) error {
	c := s3.NewFromConfig(awsClientConfig(accessKey, secretKey), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
	return func(ctx context.Context) error {
		_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		return err
	}
}

// localKMS is a running local-kms.
type localKMS struct {
	*proc
	Endpoint  string // http://127.0.0.1:port
	AccountID string
	Region    string
	DataDir   string
}

type localKMSOptions struct {
	AccountID string // default 111122223333
	Region    string // default us-east-1
	// Seed is the YAML of local-kms's seed file (keys and aliases created
	// at start, skipped when they exist). Seeding is the only way to get an
	// alias under alias/aws/: CreateAlias refuses that prefix.
	Seed string
}

// startLocalKMS runs local-kms with default options and returns its endpoint.
func startLocalKMS(t *testing.T) (endpoint string) {
	t.Helper()
	return runLocalKMS(t, localKMSOptions{}).Endpoint
}

// runLocalKMS runs local-kms on a free port with its own data directory.
// local-kms listens on all interfaces; we only ever talk to 127.0.0.1.
func runLocalKMS(t *testing.T, opt localKMSOptions) *localKMS {
	t.Helper()
	if opt.AccountID == "" {
		opt.AccountID = "111122223333"
	}
	if opt.Region == "" {
		opt.Region = "us-east-1"
	}
	bin := buildTool(t, "localkms")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	// Without KMS_SEED_PATH local-kms would read /init/seed.yaml; a path
	// that does not exist means "no seeding".
	seed := filepath.Join(dir, "seed.yaml")
	if opt.Seed != "" {
		if err := os.WriteFile(seed, []byte(opt.Seed), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	k := &localKMS{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), AccountID: opt.AccountID, Region: opt.Region, DataDir: data}
	c := kms.NewFromConfig(awsClientConfig("test", "test"), func(o *kms.Options) { o.BaseEndpoint = aws.String(k.Endpoint) })
	k.proc = newProc(t, "local-kms", bin, nil, []string{
		"PORT=" + strconv.Itoa(port),
		"KMS_DATA_PATH=" + data,
		"KMS_SEED_PATH=" + seed,
		"KMS_ACCOUNT_ID=" + opt.AccountID,
		"KMS_REGION=" + opt.Region,
	}, readyTimeout, func(ctx context.Context) error {
		_, err := c.ListKeys(ctx, &kms.ListKeysInput{})
		return err
	})
	k.Start(t)
	return k
}

// s3Server is a running S3-compatible server.
type s3Server struct {
	*proc
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	DataDir   string
}

// Client returns an S3 client with the server's credentials.
func (s *s3Server) Client() *s3.Client { return s3ClientFor(s.Endpoint, s.AccessKey, s.SecretKey) }

// startVersityGW runs versitygw on a POSIX directory.
func startVersityGW(t *testing.T) (endpoint, accessKey, secretKey string) {
	t.Helper()
	s := runVersityGW(t)
	return s.Endpoint, s.AccessKey, s.SecretKey
}

func runVersityGW(t *testing.T) *s3Server {
	t.Helper()
	bin := buildTool(t, "versitygw")
	dir := t.TempDir()
	port := freePort(t)
	s := &s3Server{
		Endpoint:  "http://127.0.0.1:" + strconv.Itoa(port),
		AccessKey: "versityaccess",
		SecretKey: "versitysecret",
		DataDir:   dir,
	}
	s.proc = newProc(t, "versitygw", bin, []string{
		"--access", s.AccessKey, "--secret", s.SecretKey,
		"--port", "127.0.0.1:" + strconv.Itoa(port),
		"posix", dir,
	}, nil, readyTimeout, s3Ready(s.Endpoint, s.AccessKey, s.SecretKey))
	s.Start(t)
	return s
}

// startMinIO runs a single-drive MinIO.
func startMinIO(t *testing.T) (endpoint, accessKey, secretKey string) {
	t.Helper()
	s := runMinIO(t)
	return s.Endpoint, s.AccessKey, s.SecretKey
}

func runMinIO(t *testing.T) *s3Server {
	t.Helper()
	bin := buildTool(t, "minio")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	port, console := freePort(t), freePort(t)
	s := &s3Server{
		Endpoint:  "http://127.0.0.1:" + strconv.Itoa(port),
		AccessKey: "minioaccess",
		SecretKey: "miniosecret",
		DataDir:   data,
	}
	s.proc = newProc(t, "minio", bin, []string{
		"server", data,
		"--address", "127.0.0.1:" + strconv.Itoa(port),
		"--console-address", "127.0.0.1:" + strconv.Itoa(console),
		"--certs-dir", filepath.Join(dir, "certs"), // not ~/.minio
	}, []string{
		"MINIO_ROOT_USER=" + s.AccessKey,
		"MINIO_ROOT_PASSWORD=" + s.SecretKey,
		"MINIO_UPDATE=off",
		"MINIO_CALLHOME_ENABLE=off",
	}, readyTimeoutMinIO, s3Ready(s.Endpoint, s.AccessKey, s.SecretKey))
	s.Start(t)
	return s
}

// mailpitServer is a running Mailpit.
type mailpitServer struct {
	*proc
	SMTPAddr string // 127.0.0.1:port
	HTTPURL  string // http://127.0.0.1:port
}

// startMailpit runs Mailpit with an on-disk database, no message limit, no
// version check and no reverse DNS.
func startMailpit(t *testing.T) (smtpAddr, httpURL string) {
	t.Helper()
	m := runMailpit(t)
	return m.SMTPAddr, m.HTTPURL
}

func runMailpit(t *testing.T) *mailpitServer {
	t.Helper()
	bin := buildTool(t, "mailpit")
	dir := t.TempDir()
	m := &mailpitServer{
		SMTPAddr: "127.0.0.1:" + strconv.Itoa(freePort(t)),
		HTTPURL:  "http://127.0.0.1:" + strconv.Itoa(freePort(t)),
	}
	m.proc = newProc(t, "mailpit", bin, []string{
		"-s", m.SMTPAddr,
		"-l", strings.TrimPrefix(m.HTTPURL, "http://"),
		"-d", filepath.Join(dir, "mailpit.db"),
		"--max", "0",
		"--disable-version-check",
		"--smtp-disable-rdns",
	}, nil, readyTimeout, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.HTTPURL+"/api/v1/info", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /api/v1/info: %s", resp.Status)
		}
		// The SMTP listener must greet too.
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", m.SMTPAddr)
		if err != nil {
			return err
		}
		defer conn.Close()
		if dl, ok := ctx.Deadline(); ok {
			conn.SetDeadline(dl)
		}
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "220") {
			return errors.New("SMTP greeting: " + strings.TrimSpace(line))
		}
		fmt.Fprintf(conn, "QUIT\r\n")
		return nil
	})
	m.Start(t)
	return m
}
