package journal

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/sesinbound/sesinbound/receipt"
)

// DefaultMax is how many messages a Journal keeps by default.
const DefaultMax = 10000

// Journal is a bounded, concurrency-safe record of messages.
type Journal struct {
	max int

	mu      sync.RWMutex
	order   []string                   // message IDs, oldest first
	entries map[string]*receipt.Result // snapshots by message ID
}

// New returns a Journal keeping the newest max messages (DefaultMax when
// max <= 0).
func New(max int) *Journal {
	if max <= 0 {
		max = DefaultMax
	}
	return &Journal{max: max, entries: map[string]*receipt.Result{}}
}

// Record stores a snapshot of res, replacing an earlier one for the same
// message. A snapshot, not the pointer, so that later changes by its owner
// (bounces being sent) are seen only when recorded again. Only the parts
// that change after delivery are copied; the rest is never modified again.
// Encoding waits until someone asks: most records are never read.
func (j *Journal) Record(res *receipt.Result) {
	snapshot := *res
	snapshot.Bounces = slices.Clone(res.Bounces)
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.entries[res.MessageID]; !ok {
		j.order = append(j.order, res.MessageID)
		if len(j.order) > j.max {
			delete(j.entries, j.order[0])
			j.order = j.order[1:]
		}
	}
	j.entries[res.MessageID] = &snapshot
}

func encode(res *receipt.Result) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(res)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Reset forgets every message.
func (j *Journal) Reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.order, j.entries = nil, map[string]*receipt.Result{}
}

// Get returns the JSON record of one message.
func (j *Journal) Get(id string) ([]byte, bool) {
	j.mu.RLock()
	res, ok := j.entries[id]
	j.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return encode(res), true
}

// List returns the JSON records of the newest limit messages (all when
// limit <= 0), oldest first.
func (j *Journal) List(limit int) [][]byte {
	j.mu.RLock()
	ids := j.order
	if limit > 0 && len(ids) > limit {
		ids = ids[len(ids)-limit:]
	}
	results := make([]*receipt.Result, len(ids))
	for i, id := range ids {
		results[i] = j.entries[id]
	}
	j.mu.RUnlock()
	out := make([][]byte, len(results))
	for i, res := range results {
		out[i] = encode(res)
	}
	return out
}

// Handler serves:
//
//	GET    /_sesinbound/messages[?limit=N]  {"messages":[...]}, oldest first
//	GET    /_sesinbound/messages/{id}       one message
//	DELETE /_sesinbound/messages            forget them all
func (j *Journal) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sesinbound/messages", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		var b bytes.Buffer
		b.WriteString(`{"messages":[`)
		for i, e := range j.List(limit) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(e)
		}
		b.WriteString("]}\n")
		writeJSON(w, http.StatusOK, b.Bytes())
	})
	mux.HandleFunc("GET /_sesinbound/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		e, ok := j.Get(r.PathValue("id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, []byte(`{"error":"no such message"}`+"\n"))
			return
		}
		writeJSON(w, http.StatusOK, append(e, '\n'))
	})
	mux.HandleFunc("DELETE /_sesinbound/messages", func(w http.ResponseWriter, r *http.Request) {
		j.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
