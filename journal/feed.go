package journal

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DefaultHeartbeat is how often an idle event stream gets a comment line,
// so proxies and clients see it alive.
const DefaultHeartbeat = 15 * time.Second

// feedCoalesce is how long a stream waits after a wake before it reads, so
// that a burst of records goes out in one write: under load a stream
// costs a wake per burst, not per record, for at most this much latency.
const feedCoalesce = 10 * time.Millisecond

// feedBatch bounds how many records one read of the feed takes.
const feedBatch = 256

// Event names on the stream.
const (
	EventMessage = "message" // data: one record, exactly as GET /_sesinbound/messages/{id}
	EventReset   = "reset"   // the record was emptied; data: {}
	EventDropped = "dropped" // records after the client's cursor are gone; data: {}
	EventSkipped = "skipped" // with newest=N, records left out; data: {"skipped":K}
)

// MaxEvery is the longest a stream may be asked to wait between writes.
const MaxEvery = time.Minute

// MaxNewest is the most records newest=N may ask for in one write.
const MaxNewest = 10000

// ServeEvents is GET /_sesinbound/events: a Server-Sent Events stream with
// one "message" event per record as it is recorded, its id the record's
// cursor. A client resumes with the Last-Event-ID header (EventSource sends
// it on reconnecting) or ?after=CURSOR; without either it gets only what is
// recorded from now on, and after=0 replays everything kept first. The
// list's filters apply. "reset" says the record was emptied (clear what
// you show), "dropped" that records after the cursor are gone. Comment
// lines keep an idle stream alive.
//
// A client that cannot use every record as it comes (a page drawing a
// list, a dashboard) can ask for less:
//
//	every=D    at most one write every D (a duration, at most MaxEvery);
//	           a record that follows a quiet D still goes out at once
//	newest=N   a write carries at most the N newest records waiting; the
//	           older ones are left out, announced by one "skipped" event
//	           whose id is the last one's cursor and whose data counts them
//
// The page's shared worker follows the feed with every=1s&newest=50: a
// page shows fifty rows, and a browser event per record, thousands a
// second under a load test, would make the browser a load of its own.
func (j *Journal) ServeEvents(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		v.Set("after", id)
	}
	v.Del("wait")
	every, newest, err := parsePace(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	v.Del("every")
	v.Del("newest")
	q, _, err := parseQuery(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if q.After == nil {
		head := j.Head()
		q.After = &head
	}
	q.Limit, q.Newest = feedBatch, newest

	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // the stream outlives any WriteTimeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // no buffering in a proxy in front
	h.Del("Content-Encoding")        // never compressed
	w.WriteHeader(http.StatusOK)
	// Each wake's events go out in one Write of one buffer, kept for the
	// stream's life: a burst of records costs a stream a write or two,
	// not one per 4 KB, and no allocation once the buffer has grown.
	buf := []byte("retry: 1000\n: sesinbound events\n\n")

	beat := j.Heartbeat
	if beat <= 0 {
		beat = DefaultHeartbeat
	}
	ticker := time.NewTicker(beat)
	defer ticker.Stop()
	coalesce := time.NewTimer(feedCoalesce)
	coalesce.Stop()
	ctx := r.Context()
	wt := j.watch(q.Filter, false)
	defer j.unwatch(wt)
	var lastWrite time.Time
	for {
		before := len(buf) // what is there already (the preamble, a ping) does not count for every=
		p := j.Read(q)
		buf = appendPage(buf, p)
		after := p.Cursor
		q.After = &after
		if len(buf) > before {
			lastWrite = time.Now()
		}
		if len(buf) > 0 {
			if _, err := w.Write(buf); err != nil || rc.Flush() != nil {
				return
			}
			if cap(buf) > feedBufMax {
				buf = nil // one huge burst does not pin its buffer
			}
			buf = buf[:0]
		}
		if p.More {
			continue
		}
		select {
		case <-wt.ch:
			delay := feedCoalesce
			if d := time.Until(lastWrite.Add(every)); every > 0 && d > delay {
				delay = d
			}
			coalesce.Reset(delay)
			select {
			case <-coalesce.C:
			case <-ctx.Done():
				return
			case <-j.closed:
				return
			}
		case <-ticker.C:
			buf = append(buf, ": ping\n\n"...)
		case <-ctx.Done():
			return
		case <-j.closed:
			return
		}
	}
}

// appendPage appends a page's events: a reset or a drop, what newest=
// left out, then its records.
func appendPage(buf []byte, p Page) []byte {
	if p.Reset {
		buf = appendEvent(buf, EventReset, p.Cursor, []byte("{}"))
	} else if p.Dropped {
		buf = appendEvent(buf, EventDropped, Cursor{}, []byte("{}"))
	}
	if p.Skipped > 0 {
		buf = appendEvent(buf, EventSkipped, p.SkippedTo, []byte(`{"skipped":`+strconv.Itoa(p.Skipped)+`}`))
	}
	for _, it := range p.Items {
		buf = appendEvent(buf, EventMessage, it.Cursor, it.JSON)
	}
	return buf
}

// parsePace reads the feed's every= and newest=.
func parsePace(v url.Values) (every time.Duration, newest int, err error) {
	if s := v.Get("every"); s != "" {
		if every, err = time.ParseDuration(s); err != nil || every <= 0 || every > MaxEvery {
			return 0, 0, fmt.Errorf("every=%q: want a duration such as 1s, more than 0 and at most %v", s, MaxEvery)
		}
	}
	if s := v.Get("newest"); s != "" {
		if newest, err = strconv.Atoi(s); err != nil || newest < 1 || newest > MaxNewest {
			return 0, 0, fmt.Errorf("newest=%q: want a whole number from 1 to %d", s, MaxNewest)
		}
	}
	return every, newest, nil
}

// feedBufMax is the largest write buffer a stream keeps between writes.
const feedBufMax = 1 << 20

// appendEvent appends one event; its id is c, none when c is zero.
// Records are single-line JSON, so data is one line.
func appendEvent(b []byte, name string, c Cursor, data []byte) []byte {
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, '\n')
	if !c.IsZero() {
		b = append(b, "id: "...)
		b = c.Append(b)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
