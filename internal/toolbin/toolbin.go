package toolbin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Build returns the path of the executable of the tool module in dir,
// building it on first use. Binaries are cached under
// os.UserCacheDir()/sesinbound-e2e, keyed by the hash of the module's go.mod
// and go.sum, so reruns reuse them and a version bump rebuilds. A build is
// written to a fresh directory and renamed into place, so concurrent callers
// never see a partial file. Progress goes to logw.
func Build(dir string, logw io.Writer) (string, error) {
	name := filepath.Base(dir)
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	gosum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		return "", err
	}
	pkg, err := toolDirective(gomod)
	if err != nil {
		return "", fmt.Errorf("%s: %v", filepath.Join(dir, "go.mod"), err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s/%s\x00%d\x00", runtime.GOOS, runtime.GOARCH, len(gomod))
	h.Write(gomod)
	h.Write([]byte{0})
	h.Write(gosum)
	sum := hex.EncodeToString(h.Sum(nil))[:16]

	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	cache = filepath.Join(cache, "sesinbound-e2e")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	exe := filepath.Join(cache, name+"-"+sum)
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	if fi, err := os.Stat(exe); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
		return exe, nil
	}

	tmp, err := os.MkdirTemp(cache, name+"-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, filepath.Base(exe))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	fmt.Fprintf(logw, "building %s from the module proxy (minutes the first time)\n", name)
	start := time.Now()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("(cd %s && go build -o %s %s): %v\n%s", dir, out, pkg, err, msg)
	}
	if err := os.Rename(out, exe); err != nil {
		return "", err
	}
	fmt.Fprintf(logw, "built %s in %v: %s\n", name, time.Since(start).Round(time.Millisecond), exe)
	return exe, nil
}

// toolDirective returns the package of the single tool directive in a go.mod.
func toolDirective(gomod []byte) (string, error) {
	var pkgs []string
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "tool" && f[1] != "(" {
			pkgs = append(pkgs, f[1])
		}
	}
	if len(pkgs) != 1 {
		return "", fmt.Errorf("want exactly one single-line tool directive, found %q", pkgs)
	}
	return pkgs[0], nil
}
