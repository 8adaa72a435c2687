package e2e

import (
	"bufio"
	"bytes"
	be "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The page cache survives kill -9, so a kill test cannot see a missing
// fdatasync. TestSyncBefore250 proves the order from the system calls
// instead: the real binary runs under strace -f, and for every mail the
// bytes of its log record are written to the bucket log, an fdatasync of
// that file starts after them and returns 0, and only then does the 250
// with its ID go to the client.

var (
	straceOnce   sync.Once
	stracePath   string
	straceReason string
)

// straceTool returns strace when it is installed and allowed to trace
// (ptrace may be refused in a container), or why not.
func straceTool() (string, string) {
	straceOnce.Do(func() {
		path, err := exec.LookPath("strace")
		if err != nil {
			straceReason = "strace is not installed (apt-get install strace; .ci/run does): " + err.Error()
			return
		}
		if out, err := exec.Command(path, "-f", "-o", os.DevNull, "true").CombinedOutput(); err != nil {
			straceReason = fmt.Sprintf("strace cannot trace here (ptrace not permitted?): %v: %s", err, bytes.TrimSpace(out))
			return
		}
		stracePath = path
	})
	return stracePath, straceReason
}

func TestSyncBefore250(t *testing.T) {
	path, reason := straceTool()
	need(t, reason)
	dir := t.TempDir()
	trace := filepath.Join(t.TempDir(), "trace")
	wrapper := []string{path, "-f", "-qq", "-ttt", "-xx", "-s", "4194304", "-o", trace,
		"-e", "trace=open,openat,creat,close,write,pwrite64,writev,pwritev,pwritev2,fdatasync,fsync,sync_file_range"}
	inst := startWrapped(t, wrapper, nil, "--data-dir", dir)

	const workers, each = 4, 12
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				body := fmt.Sprintf("Subject: sync %d-%d\r\n\r\n%s", w, i, strings.Repeat("line of the body\r\n", 1+i*40))
				id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte(body))
				if err != nil {
					t.Errorf("send %d-%d: %v", w, i, err)
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	stopTraced(t, inst)

	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := parseTrace(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.records) == 0 {
		t.Fatalf("the trace shows no record written to a bucket log (%d lines); the trace filter or the log format changed", tr.lines)
	}
	batched := 0
	for _, id := range ids {
		rep, ok := tr.replies[id]
		if !ok {
			t.Errorf("message %s: no write of its 250 reply in the trace", id)
			continue
		}
		rec, ok := tr.records[id]
		if !ok {
			t.Errorf("message %s: its 250 (%q) was written, but no log record for it ever was", id, rep.text)
			continue
		}
		if rec.written > rep.seq {
			t.Errorf("message %s: the 250 was written (trace line %d) before its log record was (line %d)", id, rep.line, rec.line)
			continue
		}
		sync := tr.syncAfter(rec.fd, rec.written)
		if sync == nil || sync.done > rep.seq {
			t.Errorf("message %s: no fdatasync of %s after its record (line %d) returned before the 250 was written (line %d)", id, rec.file, rec.line, rep.line)
			continue
		}
		if sync.covered > 1 {
			batched++
		}
	}
	t.Logf("%d mails: each record written, then fdatasync'd, then 250 (%d trace lines, %d syncs, %d mails shared a sync)",
		len(ids), tr.lines, len(tr.syncs), batched)
}

// stopTraced stops the server that strace runs, then waits for strace.
// strace given SIGTERM would detach and leave the server running, so the
// signal goes to the server itself.
func stopTraced(t *testing.T, inst *instance) {
	t.Helper()
	pid := inst.cmd.Process.Pid
	children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, c := range strings.Fields(string(children)) {
		if n, err := strconv.Atoi(c); err == nil {
			syscall.Kill(n, syscall.SIGTERM)
		}
	}
	select {
	case <-inst.done:
	case <-time.After(30 * time.Second):
		inst.cmd.Process.Kill()
		t.Fatalf("the traced server did not stop:\n%s", inst.log)
	}
}

// traceRecord is where a mail's log record was written: the fd, and the
// sequence number (line) of the write that completed its last byte.
type traceRecord struct {
	fd      int
	file    string
	written int
	line    int
}

type traceReply struct {
	seq, line int
	text      string
}

type traceSync struct {
	fd          int
	start, done int
	covered     int
}

type traceResult struct {
	lines   int
	records map[string]traceRecord // by object key (the message ID)
	replies map[string]traceReply  // by the message ID in the 250
	syncs   []traceSync
}

// syncAfter returns the first successful fdatasync (or fsync) of fd that
// started after event seq.
func (r *traceResult) syncAfter(fd, seq int) *traceSync {
	for i := range r.syncs {
		if s := &r.syncs[i]; s.fd == fd && s.start > seq {
			return s
		}
	}
	return nil
}

var (
	// pid [time] rest
	traceLineRE   = regexp.MustCompile(`^(\d+)\s+\d+\.\d+\s+(.*)$`)
	traceResumeRE = regexp.MustCompile(`^<\.\.\. (\w+) resumed>(.*)$`)
	traceRetRE    = regexp.MustCompile(`\)\s+=\s+(-?\d+)`)
	traceStrRE    = regexp.MustCompile(`"((?:\\x[0-9a-f]{2})*)"`)
	reply250RE    = regexp.MustCompile(`^250 `)
)

// parseTrace reads strace -f -ttt -xx output. Each event gets a sequence
// number: its line. strace sees the events of all threads one at a time
// and a traced thread waits at each stop until strace has printed it, so
// when one thread's syscall returning causes another's to start, the
// return has the lower number.
func parseTrace(f *os.File) (*traceResult, error) {
	res := &traceResult{records: map[string]traceRecord{}, replies: map[string]traceReply{}}
	type pending struct {
		call, args string
		start      int
	}
	unfinished := map[string]pending{}
	logFD := map[int]string{}       // fd -> bucket log path, while open
	streams := map[int]*logStream{} // fd -> what was written to it
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<20), 64<<20)
	seq := 0
	for sc.Scan() {
		seq++
		m := traceLineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		pid, rest := m[1], m[2]
		var call, args string
		start := seq
		if r := traceResumeRE.FindStringSubmatch(rest); r != nil {
			p, ok := unfinished[pid]
			if !ok || p.call != r[1] {
				continue
			}
			delete(unfinished, pid)
			call, args, start = p.call, p.args+r[2], p.start
		} else {
			i := strings.IndexByte(rest, '(')
			if i < 0 {
				continue
			}
			call, args = rest[:i], rest[i+1:]
			if strings.HasSuffix(args, "<unfinished ...>") {
				unfinished[pid] = pending{call, strings.TrimSuffix(args, "<unfinished ...>"), seq}
				continue
			}
		}
		ret := -1
		if r := traceRetRE.FindAllStringSubmatch(args, -1); r != nil {
			ret, _ = strconv.Atoi(r[len(r)-1][1])
		}
		fd := -1
		if a, _, ok := strings.Cut(args, ","); ok {
			fd, _ = strconv.Atoi(strings.TrimSpace(a))
		} else if a, _, ok := strings.Cut(args, ")"); ok {
			fd, _ = strconv.Atoi(strings.TrimSpace(a))
		}
		switch call {
		case "open", "openat", "creat":
			s := traceStrRE.FindStringSubmatch(args)
			if s == nil || ret < 0 {
				continue
			}
			p := string(unhex(s[1]))
			if strings.Contains(p, "/s3/") && strings.HasPrefix(filepath.Base(p), "seg-") && strings.HasSuffix(p, ".log") {
				logFD[ret] = p
				streams[ret] = &logStream{}
			}
		case "close":
			delete(logFD, fd)
			delete(streams, fd)
		case "write", "pwrite64":
			s := traceStrRE.FindStringSubmatch(args)
			if s == nil || ret <= 0 {
				continue
			}
			data := unhex(s[1])[:ret]
			if st, ok := streams[fd]; ok {
				off := st.pos
				if call == "pwrite64" {
					parts := strings.Split(args, ",")
					off, _ = strconv.ParseInt(strings.TrimSpace(strings.Split(parts[len(parts)-1], ")")[0]), 10, 64)
				} else {
					st.pos += int64(len(data))
				}
				for _, key := range st.write(off, data) {
					if _, seen := res.records[key]; !seen { // a compaction may copy it later
						res.records[key] = traceRecord{fd: fd, file: logFD[fd], written: seq, line: seq}
					}
				}
			} else if reply250RE.Match(data) {
				text := strings.TrimRight(string(data), "\r\n")
				if id, err := replyID(strings.TrimPrefix(text, "250 ")); err == nil {
					res.replies[id] = traceReply{seq: start, line: start, text: text}
				}
			}
		case "fdatasync", "fsync":
			if ret != 0 {
				continue
			}
			res.syncs = append(res.syncs, traceSync{fd: fd, start: start, done: seq})
		}
	}
	res.lines = seq
	// How many mails each sync covered first.
	for i := range res.syncs {
		s := &res.syncs[i]
		n := 0
		for _, r := range res.records {
			if r.fd == s.fd && r.written < s.start && (i == 0 || prevSyncStart(res.syncs[:i], s.fd) < r.written) {
				n++
			}
		}
		s.covered = n
	}
	return res, sc.Err()
}

func prevSyncStart(syncs []traceSync, fd int) int {
	for i := len(syncs) - 1; i >= 0; i-- {
		if syncs[i].fd == fd {
			return syncs[i].start
		}
	}
	return 0
}

func unhex(s string) []byte {
	b, _ := hex.DecodeString(strings.ReplaceAll(s, `\x`, ""))
	return b
}

// logStream rebuilds a bucket log segment from the writes to it and
// reports each put record once its last byte is written. The format is
// the one fakes/s3log.go documents: a 22-byte header ("SESR", version,
// kind, metadata length m, body length n, CRC), m bytes of JSON metadata,
// n bytes of body, a 4-byte CRC.
type logStream struct {
	pos  int64
	buf  []byte
	next int64 // offset of the next record not yet complete
}

func (s *logStream) write(off int64, p []byte) []string {
	if end := off + int64(len(p)); end > int64(len(s.buf)) {
		s.buf = append(s.buf, make([]byte, end-int64(len(s.buf)))...)
	}
	copy(s.buf[off:], p)
	var keys []string
	for {
		rest := s.buf[s.next:]
		if len(rest) < 22 || string(rest[:4]) != "SESR" {
			return keys
		}
		m := int64(be.BigEndian.Uint32(rest[6:10]))
		n := int64(be.BigEndian.Uint64(rest[10:18]))
		size := 22 + m + n + 4
		if int64(len(rest)) < size {
			return keys
		}
		if rest[5] == 1 {
			var meta struct {
				Key string `json:"key"`
			}
			json.Unmarshal(rest[22:22+m], &meta)
			keys = append(keys, meta.Key)
		}
		s.next += size
	}
}

// TestCrashRestarts crashes the server three times, appends garbage after
// the last record before one restart and sends more mail between restarts:
// a torn tail left in place after the first restart sits in the middle of
// the log at the next one. Every acknowledged mail must still read and
// decrypt after each restart.
func TestCrashRestarts(t *testing.T) {
	dir := t.TempDir()
	var accepted []string
	load := func(inst *instance, round int) {
		t.Helper()
		var mu sync.Mutex
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					body := fmt.Sprintf("Subject: crash %d/%d-%d\r\n\r\n%s", round, w, i, strings.Repeat("z\r\n", 1+i*37%900))
					id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte(body))
					if err != nil {
						return // killed
					}
					mu.Lock()
					accepted = append(accepted, id)
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(300 * time.Millisecond)
		inst.cmd.Process.Signal(syscall.SIGKILL)
		<-inst.done
		close(stop)
		wg.Wait()
	}
	check := func(inst *instance, when string) {
		t.Helper()
		for _, id := range accepted {
			plain, err := decryptV1(inst.AWSURL, "ses-inbound", id)
			if err != nil {
				t.Fatalf("%s: message %s got 250 and does not decrypt: %v", when, id, err)
			}
			if !bytes.Contains(plain, []byte("Subject: crash ")) {
				t.Fatalf("%s: message %s decrypts to something else", when, id)
			}
		}
		t.Logf("%s: all %d acknowledged mails decrypt", when, len(accepted))
	}

	inst := start(t, nil, "--data-dir", dir)
	load(inst, 1)
	// Garbage after the last record, as a torn write or a disk that
	// returned junk leaves it: part of a header, then noise.
	segs, _ := filepath.Glob(filepath.Join(dir, "s3", "ses-inbound", "seg-*.log"))
	if len(segs) == 0 {
		t.Fatalf("no log segment under %s", dir)
	}
	slices.Sort(segs)
	last := segs[len(segs)-1]
	before, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	noise := bytes.Repeat([]byte{0xA5, 0x00, 0x5A}, 10)
	garbage := append([]byte("SESR\x01\x01\x00\x00\x00\x10"), bytes.Repeat(noise, 2000)...)
	f.Write(garbage)
	f.Close()

	inst = start(t, nil, "--data-dir", dir)
	check(inst, "after kill -9 and garbage")
	// The garbage is cut off at startup. The log then goes on from where
	// the last good record ends, and the records written since (the setup
	// notification, at least) may cover the start of the garbage, but no
	// piece of it may remain: once the segment is no longer the last, a
	// restart would find it in the middle of the log.
	if b, err := os.ReadFile(last); err != nil || bytes.Contains(b, noise) {
		t.Errorf("after the restart %s still holds the garbage written after its last record at offset %d (%v): the torn tail was left in place", last, before.Size(), err)
	}
	load(inst, 2)
	inst = start(t, nil, "--data-dir", dir)
	check(inst, "after the second kill -9")
	load(inst, 3)
	inst = start(t, nil, "--data-dir", dir)
	check(inst, "after the third kill -9")
	id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("Subject: crash after\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatalf("after three crashes: %v", err)
	}
	accepted = append(accepted, id)
	inst.stop(t)
	inst = start(t, nil, "--data-dir", dir)
	check(inst, "after a clean stop")
}
