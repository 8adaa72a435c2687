package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the sesinbound executable, built once for the package.
var (
	binDir    string
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sesinbound-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sesinbound returns the path of the binary, building it on first use.
// It runs inside a test (not in TestMain) so that the source files it reads
// become part of go test's cache key.
func sesinbound(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		touchSources()
		binary = filepath.Join(binDir, "sesinbound")
		build := exec.Command("go", "build", "-o", binary, "../cmd/sesinbound")
		out, err := build.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build sesinbound: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// touchSources opens every source file of the module. The test binary does
// not import cmd/sesinbound, so without this go test would reuse a cached
// pass after the program under test changed; files a test opens are part of
// its cache key.
func touchSources() {
	filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if n := d.Name(); strings.HasSuffix(n, ".go") || n == "go.mod" || n == "go.sum" {
			if f, err := os.Open(path); err == nil {
				f.Close()
			}
		}
		return nil
	})
}

// instance is a running sesinbound process.
type instance struct {
	cmd      *exec.Cmd
	SMTPAddr string
	AWSURL   string // http://127.0.0.1:port
	log      *syncBuffer
	done     chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var readyRE = regexp.MustCompile(`msg="sesinbound ready" smtp=(\S+) aws=(\S+)`)

// readyJSON is readyRE for --log-format json.
func readyJSON(line string) []string {
	var m struct{ Msg, SMTP, AWS string }
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &m) != nil || m.Msg != "sesinbound ready" {
		return nil
	}
	return []string{line, m.SMTP, m.AWS}
}

// start runs sesinbound with args on random loopback ports and waits until
// its health check passes. The process is stopped at the end of the test.
func start(t *testing.T, env []string, args ...string) *instance {
	t.Helper()
	return startWrapped(t, nil, env, args...)
}

// startWrapped is start with the binary run by another program: wrapper
// is its command line, to which the binary and its arguments are added
// (strace -f -o FILE, say).
func startWrapped(t *testing.T, wrapper []string, env []string, args ...string) *instance {
	t.Helper()
	args = append([]string{"--smtp-addr", "127.0.0.1:0", "--aws-addr", "127.0.0.1:0"}, args...)
	argv := append(append(append([]string(nil), wrapper...), sesinbound(t)), args...)
	inst := &instance{cmd: exec.Command(argv[0], argv[1:]...), log: &syncBuffer{}, done: make(chan struct{})}
	inst.cmd.Env = append(cleanEnv(), env...)
	stderr, err := inst.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan []string, 1)
	go func() {
		defer close(inst.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(inst.log, line)
			if m := readyRE.FindStringSubmatch(line); m != nil {
				ready <- m
			} else if m := readyJSON(line); m != nil {
				ready <- m
			}
		}
		inst.cmd.Wait()
	}()
	t.Cleanup(func() { inst.stop(t) })
	select {
	case m := <-ready:
		inst.SMTPAddr, inst.AWSURL = m[1], m[2]
	case <-inst.done:
		t.Fatalf("sesinbound exited before it was ready:\n%s", inst.log)
	case <-time.After(30 * time.Second):
		t.Fatalf("sesinbound was not ready after 30s:\n%s", inst.log)
	}
	resp, err := http.Get(inst.AWSURL + "/_sesinbound/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health = %d after the ready line", resp.StatusCode)
	}
	return inst
}

// waitLog waits for the log to contain s; the log arrives through a pipe,
// a moment after the SMTP reply.
func (i *instance) waitLog(t *testing.T, s string) bool {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(i.log.String(), s) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// stop sends SIGTERM and waits for a clean exit.
func (i *instance) stop(t *testing.T) {
	t.Helper()
	if i.cmd.ProcessState != nil {
		return
	}
	i.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-i.done:
	case <-time.After(30 * time.Second):
		i.cmd.Process.Kill()
		<-i.done
		t.Errorf("sesinbound did not stop within 30s of SIGTERM:\n%s", i.log)
	}
	if st := i.cmd.ProcessState; st != nil && !st.Success() {
		t.Errorf("sesinbound exited with %v after SIGTERM:\n%s", st, i.log)
	}
}

// runCmd runs the binary to completion and returns its output and exit code.
func runCmd(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sesinbound(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// cleanEnv is the test's environment without the variables that would point
// sesinbound or the AWS SDK somewhere else.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SESINBOUND_") || strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
