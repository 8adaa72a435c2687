package main

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// row is one thing measured in every cell: an SMTP server driven by the
// load generator, or a backend operation called directly.
type row struct {
	key   string // memory, data-dir, ...: what -rows selects and the targets name
	name  string
	smtp  string                          // the server's address, for SMTP rows
	ops   func(size, n, c int) loadResult // for raw backend rows
	reset func() error
	noMB  bool          // the row moves no message bytes (GenerateDataKey)
	proc  *proc         // the server, when the benchmark started it
	cpu0  time.Duration // its CPU once every server had started
}

func (r *row) run(msg []byte, n, c int) loadResult {
	if r.ops != nil {
		return r.ops(len(msg), n, c)
	}
	return drive(r.smtp, msg, n, c)
}

// cell is one message size and connection count, every row in every round.
type cell struct {
	size, conns, n int
	results        map[string][]loadResult // by row key, one per round
}

// report holds everything measured.
type report struct {
	opts    options
	started time.Time
	rows    []*row
	cells   []*cell
	notes   []string
	hooks   []*webhookSink // the watched rows' webhooks

	startup     []time.Duration
	idleRSSKB   int
	peakRSSKB   int
	peakSize    int
	rulesRatios []float64
	rules1      []loadResult
	rules200    []loadResult
	pageLoads   []time.Duration // the page's first list, with pageRecords recorded
	pageRecords int
	scale       *scaleResult
	restart     *restartResult
}

func (rep *report) measure(lb *lab) error {
	o := rep.opts
	rules := filepath.Join(lb.work, "rules.yaml")
	if err := os.WriteFile(rules, []byte(benchRules), 0o644); err != nil {
		return err
	}
	// Startup and memory first, while nothing else runs.
	if o.rows["startup"] {
		if err := rep.measureStartup(lb); err != nil {
			return err
		}
	}
	if o.rows["memory-use"] {
		if err := rep.measurePeakRSS(lb, rules); err != nil {
			return err
		}
	}
	if o.rows["million"] {
		if err := rep.measureScale(lb, rules); err != nil {
			return err
		}
	}
	if o.rows["restart"] {
		if err := rep.measureRestart(lb, rules); err != nil {
			return err
		}
	}
	if !o.rows["memory"] && !o.rows["data-dir"] && !o.rows["backends"] && !o.rows["mailpit"] && !o.rows["watched"] {
		o.sizes = nil // no throughput row: no ceiling to compare with either
	} else if err := rep.startRows(lb, rules); err != nil {
		return err
	}
	for _, rw := range rep.rows {
		if rw.proc != nil {
			rw.cpu0, _ = cpuTime(rw.proc.cmd.Process.Pid)
		}
	}
	for _, size := range o.sizes {
		msg := message(size)
		for _, c := range o.conns {
			cl := &cell{size: size, conns: c, n: o.messagesFor(size, c), results: map[string][]loadResult{}}
			rep.cells = append(rep.cells, cl)
			for r := range o.rounds {
				progress("%s × %d connections, round %d of %d", humanSize(size), c, r+1, o.rounds)
				for i := range rep.rows {
					rw := rep.rows[(i+r)%len(rep.rows)]
					if rw.reset != nil {
						if err := rw.reset(); err != nil {
							return fmt.Errorf("%s: %v", rw.name, err)
						}
					}
					res := rw.run(msg, cl.n, c)
					cl.results[rw.key] = append(cl.results[rw.key], res)
				}
			}
		}
	}
	if len(rep.hooks) > 0 {
		time.Sleep(2 * time.Second) // the webhooks catch up, inside the CPU figures
	}
	for _, h := range rep.hooks {
		rep.notes = append(rep.notes, h.note())
	}
	rep.notes = append(rep.notes, rep.cpuNotes()...)
	for _, cl := range rep.cells {
		for _, ab := range [][2]string{{"watched", "memory"}, {"baseline-watched", "baseline-memory"}, {"memory-pages", "memory"}, {"baseline-memory", "memory"}} {
			if rs := cl.ratios(ab[0], ab[1]); len(rs) > 0 {
				rep.notes = append(rep.notes, fmt.Sprintf("%s × %d: %s ÷ %s msgs/s, per round: %s; median %.2f",
					humanSize(cl.size), cl.conns, ab[0], ab[1], roundRatios(rs), median(rs)))
			}
		}
	}
	if o.rows["rules"] {
		if err := rep.measureRules(lb); err != nil {
			return err
		}
	}
	if o.rows["page-load"] {
		if err := rep.measurePageLoad(lb, rules); err != nil {
			return err
		}
	}
	return nil
}

// benchRules is the rule set of the throughput rows: every recipient, one
// encrypted S3 object per message, as the README's first example does.
const benchRules = `AccountId: "` + accountID + `"
Rules:
  - Name: store
    Enabled: true
    Actions:
      - S3Action: {BucketName: bench, ObjectKeyPrefix: mail/, KmsKeyArn: "arn:aws:kms:us-east-1:` + accountID + `:alias/bench"}
`

const benchKey = "arn:aws:kms:us-east-1:" + accountID + ":alias/bench"

// startRows starts every server the throughput cells compare.
func (rep *report) startRows(lb *lab, rules string) error {
	o := rep.opts
	progress("starting the servers")
	sink, err := lb.startSink()
	if err != nil {
		return err
	}
	rep.rows = append(rep.rows, &row{key: "ceiling", name: sink.name, smtp: sink.smtp, proc: sink.proc})
	add := func(key string, t *target) {
		rep.rows = append(rep.rows, &row{key: key, name: t.name, smtp: t.smtp, reset: t.reset, proc: t.proc})
	}
	if o.rows["memory"] {
		t, err := lb.startSesinbound("sesinbound-memory", sesinboundOpts{rules: rules, bucket: "bench", profile: rep.opts.profileFor("memory")})
		if err != nil {
			return err
		}
		t.name = "sesinbound, embedded, memory only"
		add("memory", t)
		if o.pages > 0 {
			if err := rep.startPagesRow(lb, rules); err != nil {
				return err
			}
		}
	}
	if o.rows["watched"] {
		t, err := rep.startWatched(lb, "sesinbound-watched", sesinboundOpts{rules: rules, bucket: "bench", profile: rep.opts.profileFor("watched")})
		if err != nil {
			return err
		}
		t.name = "sesinbound, embedded, " + t.name
		add("watched", t)
	}
	if o.rows["data-dir"] {
		d, err := lb.startDurableSink()
		if err != nil {
			return err
		}
		add("durable-ceiling", d)
		t, err := lb.startSesinbound("sesinbound-data-dir", sesinboundOpts{rules: rules, dataDir: true, bucket: "bench", profile: rep.opts.profileFor("data-dir")})
		if err != nil {
			return err
		}
		t.name = "sesinbound, embedded, `--data-dir`"
		add("data-dir", t)
	}
	if o.baseline != "" {
		bin, err := lb.buildBaseline(o.baseline)
		if err != nil {
			return err
		}
		if o.rows["memory"] {
			t, err := lb.startSesinbound("baseline-memory", sesinboundOpts{rules: rules, bucket: "bench", bin: bin})
			if err != nil {
				return err
			}
			t.name = "baseline (" + o.baseline + "), memory only"
			add("baseline-memory", t)
		}
		if o.rows["watched"] {
			t, err := rep.startWatched(lb, "baseline-watched", sesinboundOpts{rules: rules, bucket: "bench", bin: bin})
			if err != nil {
				return err
			}
			t.name = "baseline (" + o.baseline + "), " + t.name
			add("baseline-watched", t)
		}
		if o.rows["data-dir"] {
			t, err := lb.startSesinbound("baseline-data-dir", sesinboundOpts{rules: rules, dataDir: true, bucket: "bench", bin: bin})
			if err != nil {
				return err
			}
			t.name = "baseline (" + o.baseline + "), `--data-dir`"
			add("baseline-data-dir", t)
		}
	}
	if o.rows["backends"] {
		b, err := lb.startBackends()
		if err != nil {
			return err
		}
		t, err := lb.startSesinbound("sesinbound-backends", sesinboundOpts{rules: rules, s3: b.s3URL, kms: b.kmsURL, env: b.env(), bucket: "bench", profile: rep.opts.profileFor("backends")})
		if err != nil {
			return err
		}
		t.name = "sesinbound + local-kms + versitygw"
		add("backends", t)
		s3c, kmsc := s3Client(b.s3URL, b.access, b.secret), kmsClient(b.kmsURL)
		if err := createBucket(s3c, "bench-raw"); err != nil {
			return fmt.Errorf("versitygw: %v", err)
		}
		rep.rows = append(rep.rows, &row{
			key: "versitygw-put", name: "versitygw PutObject, raw",
			ops:   func(size, n, c int) loadResult { return rawPut(s3c, "bench-raw", size, n, c) },
			reset: func() error { return emptyBucket(s3c, "bench-raw") },
		}, &row{
			key: "local-kms-gdk", name: "local-kms GenerateDataKey, raw", noMB: true,
			ops: func(size, n, c int) loadResult { return rawGenerateDataKey(kmsc, benchKey, n, c) },
		})
	}
	if o.rows["mailpit"] {
		t, err := lb.startMailpit()
		if err != nil {
			return err
		}
		add("mailpit", t)
	}
	return nil
}

// startWatched starts the watched row: sesinbound with -waiters long
// polls and -feeds event streams open, and with -webhook a webhook to a
// sink of its own.
func (rep *report) startWatched(lb *lab, name string, so sesinboundOpts) (*target, error) {
	o := rep.opts
	var hook *webhookSink
	if o.webhook {
		var err error
		if hook, err = lb.startWebhookSink(); err != nil {
			return nil, err
		}
		so.webhook, so.batch = hook.url, o.batch
	}
	t, err := lb.startSesinbound(name, so)
	if err != nil {
		return nil, err
	}
	if err := lb.watch(t.aws, o.waiters, o.feeds); err != nil {
		return nil, err
	}
	t.name = fmt.Sprintf("memory only, %d waiters + %d event streams", o.waiters, o.feeds)
	if hook != nil {
		t.name += " + a webhook"
		if o.batch > 1 {
			t.name += fmt.Sprintf(" (--webhook-batch %d)", o.batch)
		}
		hook.name, hook.aws = name, t.aws
		rep.hooks = append(rep.hooks, hook)
	}
	return t, nil
}

// ratios returns, for each round, row a's rate over row b's.
func (cl *cell) ratios(a, b string) []float64 {
	ra, rb := cl.results[a], cl.results[b]
	var out []float64
	for i := range min(len(ra), len(rb)) {
		if rb[i].MsgsPerSec() > 0 {
			out = append(out, ra[i].MsgsPerSec()/rb[i].MsgsPerSec())
		}
	}
	return out
}

func (rep *report) cell(size, conns int) *cell {
	for _, cl := range rep.cells {
		if cl.size == size && cl.conns == conns {
			return cl
		}
	}
	return nil
}

func median[T cmp.Ordered](xs []T) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func humanSize(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return fmt.Sprintf("%d MB", n/1000000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%d KB", n/1000)
	}
	return fmt.Sprintf("%d B", n)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// markdown renders the report.
func (rep *report) markdown() string {
	var b strings.Builder
	o := rep.opts
	fmt.Fprintf(&b, "# sesinbound benchmark\n\n")
	fmt.Fprintf(&b, "- Machine: %s\n", machine())
	fmt.Fprintf(&b, "- Run: %s, %d round(s) per cell, took %v\n", rep.started.UTC().Format("2006-01-02 15:04 MST"), o.rounds, time.Since(rep.started).Round(time.Second))
	fmt.Fprintf(&b, "- Command: `go run ./bench %s`\n\n", strings.Join(os.Args[1:], " "))

	b.WriteString("## Targets\n\n| measure | target | measured | met |\n|---|---|---|---|\n")
	for _, t := range rep.targets() {
		met := "no"
		switch {
		case t.measured == "":
			t.measured, met = "not measured", "—"
		case t.ok:
			met = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.measure, t.target, t.measured, met)
	}
	b.WriteString("\n")

	if len(rep.cells) > 0 {
		b.WriteString("## Throughput\n\nmsgs/s and MB/s are the median over rounds; p50 and p99 are the latency from the end of DATA to the reply, over every message of every round; × ceiling is the median of each round's ratio.\n\n")
	}
	for _, cl := range rep.cells {
		fmt.Fprintf(&b, "### %s × %d connection(s), %d messages per row and round\n\n", humanSize(cl.size), cl.conns, cl.n)
		b.WriteString("| row | msgs/s | MB/s | p50 | p99 | × ceiling | × durable ceiling | failed |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, rw := range rep.rows {
			rs := cl.results[rw.key]
			if len(rs) == 0 {
				continue
			}
			var rates, mbs []float64
			var lats []time.Duration
			failed, firstErr := 0, ""
			for _, r := range rs {
				rates = append(rates, r.MsgsPerSec())
				mbs = append(mbs, r.MBPerSec())
				lats = append(lats, r.Latencies...)
				failed += r.Failed
				if firstErr == "" {
					firstErr = r.FirstErr
				}
			}
			slices.Sort(lats)
			mb := fmt.Sprintf("%.1f", median(mbs))
			if rw.noMB {
				mb = "—"
			}
			ratio, durableRatio := "—", "—"
			if rw.key != "ceiling" && rw.ops == nil {
				ratio = fmt.Sprintf("%.2f", median(cl.ratios(rw.key, "ceiling")))
			}
			if (rw.key == "data-dir" || rw.key == "baseline-data-dir") && len(cl.results["durable-ceiling"]) > 0 {
				durableRatio = fmt.Sprintf("%.2f", median(cl.ratios(rw.key, "durable-ceiling")))
			}
			fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %s | %s | %d |\n", rw.name, median(rates), mb, ms(percentile(lats, 50)), ms(percentile(lats, 99)), ratio, durableRatio, failed)
			if failed > 0 {
				rep.notes = append(rep.notes, fmt.Sprintf("%s, %s × %d: %d failed; first: %s", rw.name, humanSize(cl.size), cl.conns, failed, firstErr))
			}
		}
		b.WriteString("\n")
	}

	if len(rep.startup) > 0 || rep.peakRSSKB > 0 {
		b.WriteString("## Startup and memory\n\n")
	}
	if len(rep.startup) > 0 {
		s := slices.Clone(rep.startup)
		slices.Sort(s)
		fmt.Fprintf(&b, "- Exec to the first 220 greeting, embedded, memory only, %d starts: median %s, fastest %s, slowest %s.\n", len(s), ms(median(s)), ms(s[0]), ms(s[len(s)-1]))
		fmt.Fprintf(&b, "- Idle RSS one second after startup: %.1f MB.\n", float64(rep.idleRSSKB)/1024)
	}
	if rep.peakRSSKB > 0 {
		inflight := 8 * rep.peakSize
		fmt.Fprintf(&b, "- Peak RSS (VmHWM) while 8 connections each send a %s mail, `--data-dir`: %.0f MB; in flight %.0f MB, so the bound 1.5 × in flight + 50 MB is %.0f MB.\n",
			humanSize(rep.peakSize), float64(rep.peakRSSKB)/1024, float64(inflight)/(1<<20), rssBoundMB(rep.peakSize))
	}
	if rep.scale != nil || rep.restart != nil {
		b.WriteString("\n## Scale\n\n")
	}
	if rep.scale != nil {
		rep.scale.markdown(&b)
	}
	if rep.restart != nil {
		rep.restart.markdown(&b)
	}
	if len(rep.rulesRatios) > 0 {
		fmt.Fprintf(&b, "\n## Rule set size\n\n10 KB × 8 connections, to the last recipient of the last rule: 200 rules of 100 recipients each run at %.2f × the rate of a 1-rule set (median over %d rounds; %.0f against %.0f msgs/s).\n",
			median(rep.rulesRatios), len(rep.rulesRatios), medianRate(rep.rules200), medianRate(rep.rules1))
	}
	rep.pageMarkdown(&b)
	if len(rep.notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range rep.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

// cpuNotes gives, for the watched rows and the rows they are compared
// with, the CPU the sesinbound process used over the rounds (user and
// system, its every thread) per message it accepted: unlike msgs/s, a
// figure that other load on the machine hardly moves. The watchers' own
// side (the stream readers, the webhook's sink) runs in this process and
// is not in it.
func (rep *report) cpuNotes() []string {
	var out []string
	perMsg := map[string]float64{}
	for _, key := range []string{"ceiling", "memory", "watched", "baseline-memory", "baseline-watched", "memory-pages"} {
		var rw *row
		for _, r := range rep.rows {
			if r.key == key && r.proc != nil {
				rw = r
			}
		}
		if rw == nil {
			continue
		}
		cpu, err := cpuTime(rw.proc.cmd.Process.Pid)
		if err != nil {
			continue
		}
		ok := 0
		for _, cl := range rep.cells {
			for _, res := range cl.results[key] {
				ok += res.OK
			}
		}
		if ok == 0 {
			continue
		}
		cpu -= rw.cpu0
		perMsg[key] = float64(cpu.Microseconds()) / float64(ok)
		who := "sesinbound"
		if key == "ceiling" {
			who = "the discard sink"
		}
		line := fmt.Sprintf("%s: %s used %.2f s of CPU over the rounds, %.0f µs per message accepted", key, who, cpu.Seconds(), perMsg[key])
		if base := perMsg[strings.TrimSuffix(key, "watched")+"memory"]; base > 0 && strings.HasSuffix(key, "watched") {
			line += fmt.Sprintf(" (%.2f × the memory-only row's)", perMsg[key]/base)
		}
		out = append(out, line)
	}
	return out
}

func roundRatios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(parts, ", ")
}

func medianRate(rs []loadResult) float64 {
	var x []float64
	for _, r := range rs {
		x = append(x, r.MsgsPerSec())
	}
	return median(x)
}

func rssBoundMB(size int) float64 { return 1.5*float64(8*size)/(1<<20) + 50 }

// goal is one line of the targets table.
type goal struct {
	measure, target, measured string
	ok                        bool
}

// targets compares the figures with the goals in BENCHMARKS.md.
func (rep *report) targets() []goal {
	var gs []goal
	ratio := func(measure, target string, size, conns int, a, b string, want float64) {
		g := goal{measure: measure, target: target}
		if cl := rep.cell(size, conns); cl != nil {
			if rs := cl.ratios(a, b); len(rs) > 0 {
				m := median(rs)
				g.measured, g.ok = fmt.Sprintf("%.2f ×", m), m >= want
			}
		}
		gs = append(gs, g)
	}
	ratio("embedded, memory only, 10 KB × 8 connections", "≥ 0.9 × ceiling msgs/s", 10000, 8, "memory", "ceiling", 0.9)
	ratio("embedded, memory only, 10 KB × 8 connections", "≥ 5 × Mailpit msgs/s", 10000, 8, "memory", "mailpit", 5)
	ratio("embedded, `--data-dir`, 10 KB × 8 connections", "≥ 0.9 × durable ceiling msgs/s", 10000, 8, "data-dir", "durable-ceiling", 0.9)
	ratio("local-kms + versitygw, 10 KB × 8 connections", "≥ 0.85 × versitygw's raw PutObject rate", 10000, 8, "backends", "versitygw-put", 0.85)
	ratio("embedded, memory only, 1 MB × 8 connections", "≥ 0.7 × ceiling MB/s", 1000000, 8, "memory", "ceiling", 0.7)
	watched := fmt.Sprintf("memory only with %d waiters and %d event streams", rep.opts.waiters, rep.opts.feeds)
	if rep.opts.webhook {
		watched += " and a webhook"
	}
	ratio(watched+", 10 KB × 8 connections", "≥ 0.95 × memory only msgs/s, same round", 10000, 8, "watched", "memory", 0.95)
	g := goal{measure: "200 rules against 1 rule", target: "≥ 0.95 ×"}
	if len(rep.rulesRatios) > 0 {
		m := median(rep.rulesRatios)
		g.measured, g.ok = fmt.Sprintf("%.2f ×", m), m >= 0.95
	}
	gs = append(gs, g)
	g = goal{measure: "startup to the 220 greeting, embedded", target: "median ≤ 10 ms"}
	if len(rep.startup) > 0 {
		m := median(rep.startup)
		g.measured, g.ok = ms(m), m <= 10*time.Millisecond
	}
	gs = append(gs, g)
	g = goal{measure: "idle RSS", target: "≤ 20 MB"}
	if rep.idleRSSKB > 0 {
		g.measured, g.ok = fmt.Sprintf("%.1f MB", float64(rep.idleRSSKB)/1024), rep.idleRSSKB <= 20*1024
	}
	gs = append(gs, g)
	g = goal{measure: "8 × 40 MB concurrent, peak RSS", target: "≤ 1.5 × in-flight bytes + 50 MB"}
	if rep.peakRSSKB > 0 {
		bound := rssBoundMB(rep.peakSize)
		peak := float64(rep.peakRSSKB) / 1024
		g.measured, g.ok = fmt.Sprintf("%.0f MB (bound %.0f MB)", peak, bound), peak <= bound
		if rep.peakSize != 40000000 {
			g.measure = fmt.Sprintf("8 × %s concurrent, peak RSS", humanSize(rep.peakSize))
		}
	}
	gs = append(gs, g)
	if sc := rep.scale; sc != nil && len(sc.slices) > 0 {
		g = goal{measure: fmt.Sprintf("%d × 10 KB, default mode: peak RSS", sc.n), target: "< 300 MB, every object readable",
			measured: fmt.Sprintf("%.0f MB, %d of %d read back", float64(sc.peakRSSKB)/1024, sc.readBack, sc.readBack+sc.readFailed)}
		g.ok = sc.peakRSSKB < 300*1024 && sc.readFailed == 0 && (sc.listKeys >= sc.n || sc.listKeys == 0) // and SES's setup notification
		gs = append(gs, g)
		first, last := sc.slices[0], sc.slices[len(sc.slices)-1]
		// The machine's speed moves over minutes, so the slices' own rates
		// are reported and the probes, each against a fresh server at the
		// same moment, decide.
		g = goal{measure: "the same: the last tenth against the first", target: "no decay (≥ 0.9 ×, against a fresh server at the same moment)",
			measured: fmt.Sprintf("probe after the last tenth: %.2f × a fresh server's rate at %.2f × its CPU a mail (after the first: %.2f × at %.2f ×); the slices' own rates %.2f × (%.0f against %.0f msgs/s)",
				last.probe, last.probeCPU, first.probe, first.probeCPU, last.rate/first.rate, last.rate, first.rate)}
		g.ok = last.probe >= 0.9 && last.probeCPU <= 1/0.9
		gs = append(gs, g)
		if sc.listKeys > 0 {
			gs = append(gs, goal{measure: fmt.Sprintf("ListObjectsV2 over %d keys, every page", sc.listKeys), target: "linear (reported)",
				measured: fmt.Sprintf("%s (again: %s)", sc.listTime.Round(time.Millisecond), sc.relist.Round(time.Millisecond)), ok: true})
		}
	}
	if r := rep.restart; r != nil {
		gs = append(gs, goal{measure: fmt.Sprintf("restart on %d objects, `--data-dir`: exec to the 220", r.n), target: "seconds (≤ 10 s)",
			measured: r.startup.Round(time.Millisecond).String(), ok: r.startup <= 10*time.Second})
		gs = append(gs, goal{measure: fmt.Sprintf("ListObjectsV2 over those %d keys, every page", r.listKeys), target: "linear (reported)",
			measured: fmt.Sprintf("%s (again: %s)", r.listed.Round(time.Millisecond), r.relisted.Round(time.Millisecond)), ok: true})
	}
	return gs
}
