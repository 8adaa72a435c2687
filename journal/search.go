package journal

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/sesinbound/sesinbound/receipt"
)

// Search is a parsed search box: every term must match. Field terms are
// to:, from:, subject:, rule: and id:; a plain word matches any of them.
// Matching is a case-insensitive substring test; "double quotes" keep
// spaces in one term.
type Search struct {
	terms []term
}

type term struct {
	field string // "", "to", "from", "subject", "rule", "id"
	text  string // lower case
}

// ParseSearch parses a search box's text. Unknown prefixes are plain words.
func ParseSearch(s string) Search {
	var q Search
	for _, tok := range splitQuoted(s) {
		t := term{text: strings.ToLower(tok)}
		if f, v, ok := strings.Cut(tok, ":"); ok {
			switch f := strings.ToLower(f); f {
			case "to", "from", "subject", "rule", "id":
				t = term{field: f, text: strings.ToLower(strings.Trim(v, `"`))}
			}
		}
		if t.text != "" {
			q.terms = append(q.terms, t)
		}
	}
	return q
}

func splitQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case unicode.IsSpace(r) && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// Matches reports whether res satisfies every term.
func (q Search) Matches(res *receipt.Result) bool {
	for _, t := range q.terms {
		if !t.matches(res) {
			return false
		}
	}
	return true
}

func (t term) matches(res *receipt.Result) bool {
	has := func(s string) bool { return hasFold(s, t.text) }
	to := func() bool {
		for _, r := range res.Recipients {
			if has(r) {
				return true
			}
		}
		return false
	}
	rule := func() bool {
		for _, r := range res.Rules {
			if has(r.Name) {
				return true
			}
		}
		return false
	}
	switch t.field {
	case "to":
		return to()
	case "from":
		return has(res.From)
	case "subject":
		return has(res.Subject)
	case "rule":
		return rule()
	case "id":
		return has(res.MessageID)
	}
	return to() || has(res.From) || has(res.Subject) || rule() || has(res.MessageID)
}

// hasFold is strings.Contains ignoring case; sub is lower case.
func hasFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), sub)
}

// SearchPage returns the records matching q, newest first, skipping
// offset and returning at most limit of them, how many match in all, and
// the cursor of the newest record (where the feed should start).
func (j *Journal) SearchPage(q Search, offset, limit int) (total int, page [][]byte, head Cursor) {
	var hits []*entry
	j.mu.Lock()
	head = Cursor{Epoch: j.Epoch, Seq: j.seq}
	for i := len(j.entries) - 1; i >= 0; i-- {
		e := j.entries[i]
		if e.dead || !q.Matches(&e.res) {
			continue
		}
		if total >= offset && len(hits) < limit {
			hits = append(hits, e)
		}
		total++
	}
	j.mu.Unlock()
	page = make([][]byte, len(hits))
	for i, e := range hits {
		page[i] = e.encoded()
	}
	return total, page, head
}

// Delete forgets one message and returns its record. Cursors stay valid:
// the feed and the long poll simply never see it again.
func (j *Journal) Delete(id string) (*receipt.Result, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.byID[id]
	if !ok {
		return nil, false
	}
	e.dead = true
	delete(j.byID, id)
	return &e.res, true
}

// pageParams reports whether a list request asks for a page: a search q,
// an offset, or order=newest.
func pageParams(r *http.Request) bool {
	v := r.URL.Query()
	return v.Has("q") || v.Has("offset") || v.Get("order") == "newest"
}

// servePage answers GET /_sesinbound/messages?order=newest&q=&offset=&limit=
// with {"total":N,"offset":O,"cursor":C,"messages":[...newest first]}; C is
// the newest record's cursor, for the feed to go on from.
func (j *Journal) servePage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	offset, err := strconv.Atoi(v.Get("offset"))
	if v.Get("offset") != "" && (err != nil || offset < 0) {
		writeJSON(w, http.StatusBadRequest, []byte(`{"error":"offset must be a whole number"}`+"\n"))
		return
	}
	limit := 50
	if s := v.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 || limit > 1000 {
			writeJSON(w, http.StatusBadRequest, []byte(`{"error":"limit must be between 1 and 1000"}`+"\n"))
			return
		}
	}
	total, page, head := j.SearchPage(ParseSearch(v.Get("q")), offset, limit)
	w.Header().Set(CursorHeader, head.String())
	var b bytes.Buffer
	b.WriteString(`{"total":` + strconv.Itoa(total) + `,"offset":` + strconv.Itoa(offset) + `,"cursor":"` + head.String() + `","messages":[`)
	for i, e := range page {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e)
	}
	b.WriteString("]}\n")
	writeJSON(w, http.StatusOK, b.Bytes())
}
