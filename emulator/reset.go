package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// ResetResult says what a Reset emptied.
type ResetResult struct {
	Messages bool   `json:"messages"` // the record was emptied
	S3       string `json:"s3"`       // what happened to the objects
}

// Reset empties the record and, unless onlyMessages, deletes every object
// in the embedded S3, giving their space in the data directory back.
// Buckets, keys and the rules stay. An external S3 is never touched: it is
// not ours to empty.
func (e *Emulator) Reset(ctx context.Context, onlyMessages bool) (ResetResult, error) {
	e.Journal.Reset()
	res := ResetResult{Messages: true}
	switch fs := e.Backends.FakeS3; {
	case onlyMessages:
		res.S3 = "kept (only=messages)"
	case fs == nil:
		res.S3 = "external S3 (" + e.Backends.S3Name + "): not emptied"
	default:
		if err := fs.Reset(ctx); err != nil {
			return res, fmt.Errorf("reset s3: %w", err)
		}
		res.S3 = "every object deleted, buckets kept"
	}
	return res, nil
}

// resetHandler is POST /_sesinbound/reset[?only=messages].
func (e *Emulator) resetHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			w.WriteHeader(http.StatusMethodNotAllowed)
			fmt.Fprintln(w, `{"error":"POST /_sesinbound/reset empties the record and the embedded S3; ?only=messages the record only"}`)
			return
		}
		only := r.URL.Query().Get("only")
		if only != "" && only != "messages" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "{\"error\":%q}\n", "only="+only+": the only choice is only=messages")
			return
		}
		res, err := e.Reset(r.Context(), only == "messages")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			b, _ := json.Marshal(map[string]any{"error": err.Error(), "done": res})
			w.Write(append(b, '\n'))
			return
		}
		json.NewEncoder(w).Encode(res)
	})
}
