package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sesinbound/sesinbound/receipt"
)

// DefaultMax is how many messages a Journal keeps by default.
const DefaultMax = 10000

// Journal is a bounded, concurrency-safe record of messages. Every Record
// call gives the record a new, higher sequence number: a message recorded
// again (its DSNs sent) moves to the end, with its new state.
type Journal struct {
	// Epoch tells one run's cursors from another's: a cursor from another
	// epoch (a restarted server) reads as "some records were dropped".
	// Set it before use; the emulator uses its start time. Zero is allowed.
	Epoch uint64
	// Heartbeat is how often an idle event stream gets a comment line;
	// zero means DefaultHeartbeat.
	Heartbeat time.Duration

	max int

	mu       sync.Mutex
	entries  []*entry          // by seq, superseded ones included until compacted
	byID     map[string]*entry // the newest record of each message
	seq      uint64            // the newest sequence number given
	evicted  uint64            // the highest seq dropped for room
	resetSeq uint64            // the seq the last Reset took
	// The waiters, indexed so that Record looks only at those that may
	// match: by message ID, by lower-cased recipient, and the others.
	waitID, waitTo map[string]map[*waiter]struct{}
	waitAny        map[*waiter]struct{}
	// closed is closed by Close: streams end and long polls answer now.
	closed    chan struct{}
	closeOnce sync.Once
}

// waiter is a reader blocked until a record matching its filter comes
// (every record when all). Record signals only the waiters whose filter
// matches, so a waiter for another message costs one Match per record and
// is never woken for nothing.
type waiter struct {
	f   Filter
	all bool
	ch  chan struct{} // capacity 1: signals coalesce
}

// entry is one record: its snapshot and, once someone has read it, its
// JSON. One allocation per Record holds both.
type entry struct {
	seq  uint64
	res  receipt.Result // the snapshot; never changed once stored
	dead bool           // a newer record of the same message exists
	once sync.Once      // encodes json on the first read, once for all readers
	json []byte
}

// encoded is the record's JSON, shared by every reader: the event
// streams, the list, the long polls and the webhook encode it once
// between them, however many read it at the same moment.
func (e *entry) encoded() []byte {
	e.once.Do(func() { e.json = encode(&e.res) })
	return e.json
}

// New returns a Journal keeping the newest max messages (DefaultMax when
// max <= 0).
func New(max int) *Journal {
	if max <= 0 {
		max = DefaultMax
	}
	return &Journal{max: max, byID: map[string]*entry{},
		waitID: map[string]map[*waiter]struct{}{}, waitTo: map[string]map[*waiter]struct{}{}, waitAny: map[*waiter]struct{}{},
		closed: make(chan struct{})}
}

// ErrClosed is what Wait returns once the Journal is closed.
var ErrClosed = errors.New("journal: closed")

// Close ends every event stream and makes every long poll, current or
// later, answer at once with what it has, so that a server's graceful
// Shutdown (which waits for open requests) is not held up by them for its
// whole deadline. Records are still kept and read. Close is for
// http.Server.RegisterOnShutdown; calling it again does nothing.
func (j *Journal) Close() {
	j.closeOnce.Do(func() { close(j.closed) })
}

// Record stores a snapshot of res, replacing an earlier one for the same
// message, and wakes everyone waiting. A snapshot, not the pointer, so that
// later changes by its owner (bounces being sent) are seen only when
// recorded again. Only the parts that change after delivery are copied; the
// rest is never modified again. Encoding waits until someone asks: most
// records are never read. The receipt.Processor calls Record only once a
// message is processed: every rule and action run, every event emitted,
// and the SMTP reply known.
//
// Record is on the SMTP path: it allocates the entry (and a copy of the
// bounces, when there are any) and does O(1) work under the lock besides
// signalling the waiters whose filter matches, which never blocks. It
// encodes nothing and writes to no stream: readers do that on their own
// goroutines.
func (j *Journal) Record(res *receipt.Result) {
	e := &entry{res: *res}
	e.res.Bounces = slices.Clone(res.Bounces)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	e.seq = j.seq
	if old, ok := j.byID[res.MessageID]; ok {
		old.dead = true
	}
	j.byID[res.MessageID] = e
	j.entries = append(j.entries, e)
	for len(j.byID) > j.max {
		first := j.entries[0]
		j.entries[0] = nil
		j.entries = j.entries[1:]
		if !first.dead {
			delete(j.byID, first.res.MessageID)
			j.evicted = first.seq
		}
	}
	if len(j.entries) > 2*len(j.byID)+1024 {
		j.entries = slices.DeleteFunc(j.entries, func(e *entry) bool { return e.dead })
	}
	j.wake(j.waitAny, e)
	if len(j.waitID) > 0 {
		j.wake(j.waitID[res.MessageID], e)
	}
	if len(j.waitTo) > 0 {
		for _, rcpt := range res.Recipients {
			j.wake(j.waitTo[strings.ToLower(rcpt)], e)
		}
	}
}

func (j *Journal) wake(ws map[*waiter]struct{}, e *entry) {
	for w := range ws {
		if w.all || w.f.Match(&e.res) {
			w.signal()
		}
	}
}

// set is where w is indexed, and under which key.
func (j *Journal) set(w *waiter) (m map[string]map[*waiter]struct{}, key string) {
	switch {
	case w.all:
	case w.f.ID != "":
		return j.waitID, w.f.ID
	case w.f.To != "":
		return j.waitTo, strings.ToLower(w.f.To)
	}
	return nil, ""
}

func (w *waiter) signal() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// watch registers a waiter; every record matching f (every record, when
// all) from now on signals it, until unwatch.
func (j *Journal) watch(f Filter, all bool) *waiter {
	w := &waiter{f: f, all: all, ch: make(chan struct{}, 1)}
	j.mu.Lock()
	if m, key := j.set(w); m != nil {
		if m[key] == nil {
			m[key] = map[*waiter]struct{}{}
		}
		m[key][w] = struct{}{}
	} else {
		j.waitAny[w] = struct{}{}
	}
	j.mu.Unlock()
	return w
}

func (j *Journal) unwatch(w *waiter) {
	j.mu.Lock()
	if m, key := j.set(w); m != nil {
		delete(m[key], w)
		if len(m[key]) == 0 {
			delete(m, key)
		}
	} else {
		delete(j.waitAny, w)
	}
	j.mu.Unlock()
}

func encode(res *receipt.Result) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(res.WithNotRun())
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Reset forgets every message. The sequence goes on: cursors stay valid,
// and a reader whose cursor is older than the reset learns of it.
func (j *Journal) Reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	j.resetSeq = j.seq
	j.entries, j.byID = nil, map[string]*entry{}
	// A stream tells its client; a long poll looks again.
	for w := range j.waitAny {
		w.signal()
	}
	for _, m := range []map[string]map[*waiter]struct{}{j.waitID, j.waitTo} {
		for _, ws := range m {
			for w := range ws {
				w.signal()
			}
		}
	}
}

// Get returns the JSON record of one message.
func (j *Journal) Get(id string) ([]byte, bool) {
	j.mu.Lock()
	e, ok := j.byID[id]
	j.mu.Unlock()
	if !ok {
		return nil, false
	}
	return e.encoded(), true
}

// List returns the JSON records of the newest limit messages (all when
// limit <= 0), oldest first.
func (j *Journal) List(limit int) [][]byte {
	p := j.Read(Query{Limit: limit})
	out := make([][]byte, len(p.Items))
	for i, it := range p.Items {
		out[i] = it.JSON
	}
	return out
}

// Query selects records: those matching Filter, newer than After when set.
// Limit > 0 keeps the oldest Limit after After, or, without After, the
// newest Limit.
type Query struct {
	After  *Cursor
	Filter Filter
	Limit  int
	// Newest, with After, keeps only the Newest matching records after
	// it, and counts the others in Page.Skipped (Limit is then ignored).
	// Records left out are never encoded.
	Newest int
}

// Item is one record with its cursor.
type Item struct {
	Cursor Cursor
	ID     string
	JSON   []byte // exactly what GET /_sesinbound/messages/{id} returns
}

// Page is the answer to a Query.
type Page struct {
	Items []Item
	// Cursor is where the next query should start (After) to see only
	// newer records: the last item's when More, else the newest record's.
	Cursor Cursor
	// More says Limit cut the answer short.
	More bool
	// Dropped says records newer than After are gone: dropped for room, or
	// After is from another run.
	Dropped bool
	// Reset says the record was emptied after After.
	Reset bool
	// Skipped counts the records Query.Newest left out, the last of them
	// at SkippedTo.
	Skipped   int
	SkippedTo Cursor
}

// Read answers q now.
func (j *Journal) Read(q Query) Page {
	j.mu.Lock()
	p := Page{Cursor: Cursor{Epoch: j.Epoch, Seq: j.seq}}
	var after uint64
	hasAfter := false
	if c := q.After; c != nil {
		hasAfter = true
		switch {
		case c.IsZero(): // the start: whatever is kept, nothing missed
		case c.Epoch != j.Epoch:
			p.Dropped, p.Reset = true, true
		default:
			after = min(c.Seq, j.seq)
			p.Dropped = after < j.evicted
			p.Reset = after < j.resetSeq
		}
	}
	var picked []*entry
	if q.Newest > 0 && hasAfter {
		q.Limit = 0
	}
	if hasAfter || q.Limit <= 0 {
		i := sort.Search(len(j.entries), func(i int) bool { return j.entries[i].seq > after })
		for _, e := range j.entries[i:] {
			if e.dead || !q.Filter.Match(&e.res) {
				continue
			}
			if q.Limit > 0 && len(picked) == q.Limit {
				p.More = true
				p.Cursor.Seq = picked[len(picked)-1].seq
				break
			}
			picked = append(picked, e)
		}
	} else {
		for i := len(j.entries) - 1; i >= 0 && len(picked) < q.Limit; i-- {
			if e := j.entries[i]; !e.dead && q.Filter.Match(&e.res) {
				picked = append(picked, e)
			}
		}
		slices.Reverse(picked)
	}
	if over := len(picked) - q.Newest; q.Newest > 0 && hasAfter && over > 0 {
		p.Skipped, p.SkippedTo = over, Cursor{Epoch: j.Epoch, Seq: picked[over-1].seq}
		picked = picked[over:]
	}
	j.mu.Unlock()
	// Records are never changed once stored, so they encode outside the lock.
	p.Items = make([]Item, len(picked))
	for i, e := range picked {
		p.Items[i] = Item{Cursor: Cursor{Epoch: j.Epoch, Seq: e.seq}, ID: e.res.MessageID, JSON: e.encoded()}
	}
	return p
}

// Wait answers q as soon as at least one record matches, or returns the
// empty page and ctx's error when ctx ends first. Without q.After, records
// already kept count. Record wakes a waiter only for a record that matches
// its filter; nothing polls.
func (j *Journal) Wait(ctx context.Context, q Query) (Page, error) {
	// Watch before the first read, so that a record stored in between
	// still signals.
	w := j.watch(q.Filter, false)
	defer j.unwatch(w)
	var dropped, reset bool
	for {
		p := j.Read(q)
		dropped, reset = dropped || p.Dropped, reset || p.Reset
		p.Dropped, p.Reset = dropped, reset
		if len(p.Items) > 0 {
			return p, nil
		}
		after := p.Cursor
		q.After = &after
		select {
		case <-w.ch:
		case <-ctx.Done():
			return p, ctx.Err()
		case <-j.closed:
			return p, ErrClosed
		}
	}
}

// Head is the cursor of the newest record: reading after it returns only
// what comes next.
func (j *Journal) Head() Cursor {
	j.mu.Lock()
	defer j.mu.Unlock()
	return Cursor{Epoch: j.Epoch, Seq: j.seq}
}
