// Command bench measures sesinbound against the loopback ceiling and its
// peers, in one run, interleaved, and prints the figures as Markdown.
//
//	go run ./bench                 the full run (about 10 minutes on 2 cores)
//	go run ./bench -quick          every row once with a few messages: a smoke test
//	go run ./bench sink -addr A    only the discard sink, for outside load generators
//	                               (-durable FILE: the durable sink)
//	go run ./bench -rows million   a million mails of 10 KB into the default mode:
//	                               RSS and rate as it grows, then a full listing
//	go run ./bench -rows restart   sesinbound --data-dir restarted on a million objects
//	go run ./bench -rows memory -sizes 10KB -c 8 -cpuprofile prof
//	                               one cell, with a CPU profile of sesinbound in prof/
//	go run ./bench -rows memory -pages 20 -sizes 10KB -c 8
//	                               the memory-only row against a second one with
//	                               20 browser tabs open on its web page
//	go run ./bench -rows memory,watched -sizes 10KB -c 8
//	                               memory only, alone and with 100 waiters,
//	                               10 event streams open and a webhook
//	                               (-waiters, -feeds, -webhook=false)
//
// Each row drives real SMTP: N messages over C persistent connections, and
// the latency of each from the end of DATA to the reply. The machines are
// noisy, so rows are run in rotating order within each round and compared
// with the ceiling of the same round; a ratio is the median over rounds.
// See BENCHMARKS.md for the figures and what they mean.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const accountID = "111122223333"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sink" {
		if err := runSink(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench sink:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the benchmark's flags.
type options struct {
	quick     bool
	rounds    int
	n         int
	sizes     []int
	conns     []int
	rows      map[string]bool
	startups  int
	out       string
	keep      bool
	profiles  string // a directory for the sesinbound rows' CPU profiles
	pages     int    // browser tabs open on the page for the memory-pages row
	waiters   int    // long polls held open on the "watched" row
	feeds     int    // event streams read on the "watched" row
	webhook   bool   // the "watched" row also posts every record to a webhook sink
	batch     int    // its --webhook-batch
	million   int    // mails in the scale row
	baseline  string // another checkout, whose memory-only row runs alongside
	scaleList bool   // list the scale row's bucket in full
	scaleTmp  string // the scale row's servers' TMPDIR, or "" for the default
}

// profileFor names the CPU profile of a sesinbound row, or "" for none.
func (o options) profileFor(row string) string {
	if o.profiles == "" {
		return ""
	}
	return filepath.Join(o.profiles, "sesinbound-"+row+".pprof")
}

func parseOptions(args []string) (options, error) {
	o := options{rows: map[string]bool{}}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.BoolVar(&o.quick, "quick", false, "every row once, with a few messages (a smoke test)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per cell; ratios are the median over rounds")
	fs.IntVar(&o.n, "n", 0, "messages per row and round (default: 2000, fewer for large sizes)")
	sizes := fs.String("sizes", "1KB,10KB,1MB,40MB", "message sizes (decimal: 1KB is 1000 bytes)")
	conns := fs.String("c", "1,8", "connection counts")
	rows := fs.String("rows", "memory,data-dir,backends,mailpit,rules,startup,memory-use,page-load", "what to measure besides the ceiling")
	fs.IntVar(&o.startups, "startups", 20, "startups timed for the startup median")
	fs.StringVar(&o.out, "o", "", "also write the report to this file")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, data) after the run")
	fs.IntVar(&o.pages, "pages", 0, "add a memory-only row with this many headless Chromium tabs open on its web page")
	fs.IntVar(&o.waiters, "waiters", 100, `long polls held open against the "watched" row (-rows memory,watched)`)
	fs.IntVar(&o.feeds, "feeds", 10, `event streams read from the "watched" row`)
	fs.BoolVar(&o.webhook, "webhook", true, `the "watched" row also runs with --webhook, to a sink in this process that accepts every POST`)
	fs.IntVar(&o.batch, "webhook-batch", 1, `the "watched" row's --webhook-batch: records per POST at most`)
	fs.IntVar(&o.million, "million", 1000000, "mails of 10 KB in the scale row (-rows million), objects in the restart row (-rows restart); neither is in the default run")
	fs.StringVar(&o.scaleTmp, "scale-tmpdir", "", "TMPDIR of the scale row's servers, where the default mode's segment files go (e.g. /dev/shm, to take the disk's writeback out of the row)")
	fs.BoolVar(&o.scaleList, "scale-list", true, "list the scale row's bucket in full, twice (the first listing computes every ETag)")
	fs.StringVar(&o.baseline, "baseline", "", "also run the memory-only and --data-dir rows of sesinbound built from this checkout (an A/B in one run)")
	fs.StringVar(&o.profiles, "cpuprofile", "", "write a CPU profile of each sesinbound row into this directory (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.profiles != "" {
		if err := os.MkdirAll(o.profiles, 0o755); err != nil {
			return o, err
		}
		if abs, err := filepath.Abs(o.profiles); err == nil {
			o.profiles = abs
		}
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := parseSize(s)
		if err != nil {
			return o, err
		}
		o.sizes = append(o.sizes, n)
	}
	for _, s := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-c: %q is not a connection count", s)
		}
		o.conns = append(o.conns, n)
	}
	for _, r := range strings.Split(*rows, ",") {
		o.rows[strings.TrimSpace(r)] = true
	}
	if o.quick {
		o.rounds, o.startups = 1, 3
		if o.n == 0 {
			o.n = 16
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["sizes"] {
			o.sizes = []int{10000, 1000000}
		}
	}
	return o, nil
}

func parseSize(s string) (int, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"MB", 1000000}, {"KB", 1000}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n*mult < 100 {
		return 0, fmt.Errorf("-sizes: %q is not a size of at least 100 bytes, such as 10KB", s)
	}
	return n * mult, nil
}

// messagesFor is how many messages a row sends per round: 2000, or fewer
// when they are large, but at least two per connection.
func (o options) messagesFor(size, conns int) int {
	if o.n > 0 {
		return max(o.n, conns)
	}
	return max(min(2000, 256000000/size), 2*conns)
}

func run(args []string, stdout io.Writer) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "sesinbound-bench-")
	if err != nil {
		return err
	}
	lb := &lab{root: root, work: work}
	defer func() {
		lb.stopAll()
		if o.keep {
			fmt.Fprintln(os.Stderr, "work directory kept:", work)
		} else {
			os.RemoveAll(work)
		}
	}()
	progress("building sesinbound")
	if err := lb.buildSesinbound(); err != nil {
		return err
	}
	rep := &report{opts: o, started: time.Now()}
	if err := rep.measure(lb); err != nil {
		return err
	}
	text := rep.markdown()
	fmt.Fprint(stdout, text)
	if o.out != "" {
		return os.WriteFile(o.out, []byte(text), 0o644)
	}
	return nil
}

// moduleRoot finds the sesinbound module from the working directory.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run the benchmark from the sesinbound checkout: go run ./bench")
	}
	return filepath.Dir(gomod), nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// machine describes where the figures were taken.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d CPUs (%s), %s %s/%s%s", runtime.NumCPU(), cpu, runtime.Version(), runtime.GOOS, runtime.GOARCH, kernel)
}
