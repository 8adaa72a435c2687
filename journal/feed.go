package journal

import (
	"bufio"
	"net/http"
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
)

// ServeEvents is GET /_sesinbound/events: a Server-Sent Events stream with
// one "message" event per record as it is recorded, its id the record's
// cursor. A client resumes with the Last-Event-ID header (EventSource sends
// it on reconnecting) or ?after=CURSOR; without either it gets only what is
// recorded from now on, and after=0 replays everything kept first. The
// list's filters apply. "reset" says the record was emptied (clear what
// you show), "dropped" that records after the cursor are gone. Comment
// lines keep an idle stream alive.
func (j *Journal) ServeEvents(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		v.Set("after", id)
	}
	v.Del("wait")
	q, _, err := parseQuery(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if q.After == nil {
		head := j.Head()
		q.After = &head
	}
	q.Limit = feedBatch

	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // the stream outlives any WriteTimeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // no buffering in a proxy in front
	h.Del("Content-Encoding")        // never compressed
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	bw.WriteString("retry: 1000\n: sesinbound events\n\n")

	beat := j.Heartbeat
	if beat <= 0 {
		beat = DefaultHeartbeat
	}
	ticker := time.NewTicker(beat)
	defer ticker.Stop()
	ctx := r.Context()
	wt := j.watch(q.Filter, false)
	defer j.unwatch(wt)
	for {
		p := j.Read(q)
		if p.Reset {
			writeEvent(bw, EventReset, p.Cursor.String(), []byte("{}"))
		} else if p.Dropped {
			writeEvent(bw, EventDropped, "", []byte("{}"))
		}
		for _, it := range p.Items {
			writeEvent(bw, EventMessage, it.Cursor.String(), it.JSON)
		}
		after := p.Cursor
		q.After = &after
		if bw.Flush() != nil || rc.Flush() != nil {
			return
		}
		if p.More {
			continue
		}
		select {
		case <-wt.ch:
			select {
			case <-time.After(feedCoalesce):
			case <-ctx.Done():
				return
			}
		case <-ticker.C:
			bw.WriteString(": ping\n\n")
		case <-ctx.Done():
			return
		case <-j.closed:
			return
		}
	}
}

// writeEvent writes one event. Records are single-line JSON, so data is
// one line.
func writeEvent(w *bufio.Writer, name, id string, data []byte) {
	w.WriteString("event: ")
	w.WriteString(name)
	w.WriteByte('\n')
	if id != "" {
		w.WriteString("id: ")
		w.WriteString(id)
		w.WriteByte('\n')
	}
	w.WriteString("data: ")
	w.Write(data)
	w.WriteString("\n\n")
}
