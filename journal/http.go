package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// MaxWait is the longest a long poll may wait.
const MaxWait = 5 * time.Minute

// CursorHeader carries the cursor on every answer of the list, 204 included.
const CursorHeader = "Sesinbound-Cursor"

// Handler serves:
//
//	GET    /_sesinbound/messages[?limit=N]  {"messages":[...],"cursor":"..."}, oldest first
//	GET    /_sesinbound/messages?wait=30s&after=CURSOR&to=&from=&subject=&rule=&id=&bounced=
//	                                        the long poll: 200 with the matches, 204 at the deadline
//	GET    /_sesinbound/messages/{id}       one message
//	DELETE /_sesinbound/messages            forget them all
//	GET    /_sesinbound/events              Server-Sent Events, one per record (see ServeEvents)
func (j *Journal) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sesinbound/messages", j.serveList)
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
	mux.HandleFunc("GET /_sesinbound/events", j.ServeEvents)
	return mux
}

// listParams are the query parameters of the list and the feed.
var listParams = []string{"wait", "after", "limit", "to", "from", "subject", "rule", "id", "bounced"}

var bounceStatuses = []string{"pending", "sent", "recorded", "skipped", "failed"}

// parseQuery reads the list's parameters; an unknown one is an error, so a
// misspelt filter does not silently match everything.
func parseQuery(v url.Values) (q Query, wait time.Duration, err error) {
	for name := range v {
		if !slices.Contains(listParams, name) {
			return q, 0, fmt.Errorf("unknown parameter %q; the parameters are %v", name, listParams)
		}
	}
	if s := v.Get("wait"); s != "" {
		if wait, err = parseWait(s); err != nil {
			return q, 0, err
		}
	}
	if s := v.Get("after"); s != "" {
		c, err := ParseCursor(s)
		if err != nil {
			return q, 0, fmt.Errorf("after=%q: %v", s, err)
		}
		q.After = &c
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 0 {
			return q, 0, fmt.Errorf("limit=%q: want a whole number, 0 for all", s)
		}
	}
	q.Filter = Filter{To: v.Get("to"), From: v.Get("from"), Subject: v.Get("subject"),
		Rule: v.Get("rule"), ID: v.Get("id"), Bounced: v.Get("bounced")}
	if b := q.Filter.Bounced; b != "" && !slices.Contains(bounceStatuses, b) {
		return q, 0, fmt.Errorf("bounced=%q: want one of %v", b, bounceStatuses)
	}
	return q, wait, nil
}

func parseWait(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.Atoi(s) // plain seconds
		if nerr != nil {
			return 0, fmt.Errorf("wait=%q: want a duration such as 30s or 2m, at most %v", s, MaxWait)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > MaxWait {
		return 0, fmt.Errorf("wait=%q: at most %v, and not negative", s, MaxWait)
	}
	return d, nil
}

func (j *Journal) serveList(w http.ResponseWriter, r *http.Request) {
	if pageParams(r) { // the page's search and paging (search.go)
		j.servePage(w, r)
		return
	}
	q, wait, err := parseQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	var p Page
	if wait > 0 {
		// Long enough for the wait, whatever the server's WriteTimeout.
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + 30*time.Second))
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		p, err = j.Wait(ctx, q)
		cancel()
		if err != nil {
			if r.Context().Err() != nil {
				return // the client went away
			}
			w.Header().Set(CursorHeader, p.Cursor.String())
			w.WriteHeader(http.StatusNoContent)
			return
		}
	} else {
		p = j.Read(q)
	}
	w.Header().Set(CursorHeader, p.Cursor.String())
	writeJSON(w, http.StatusOK, p.body())
}

// body is the JSON of a page: {"messages":[...],"cursor":"...", and
// "more", "dropped", "reset" when true}.
func (p Page) body() []byte {
	var b bytes.Buffer
	b.WriteString(`{"messages":[`)
	for i, it := range p.Items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it.JSON)
	}
	fmt.Fprintf(&b, `],"cursor":%q`, p.Cursor.String())
	for _, flag := range []struct {
		name string
		set  bool
	}{{"more", p.More}, {"dropped", p.Dropped}, {"reset", p.Reset}} {
		if flag.set {
			fmt.Fprintf(&b, `,%q:true`, flag.name)
		}
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func writeError(w http.ResponseWriter, status int, err error) {
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	writeJSON(w, status, append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
