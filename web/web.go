package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/amazon-s3-encryption-client-go/v3/materials"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/journal"
	"github.com/sesinbound/sesinbound/receipt"
)

//go:embed assets
var assets embed.FS

// CSP is the page's Content-Security-Policy: scripts only from the page's
// own files (no inline script, no eval), no plugins, no framing by other
// sites. Inline styles are allowed because a mail's HTML, shown in a
// srcdoc iframe, inherits this policy; that iframe adds its own stricter
// policy (see app.js) and is sandboxed without allow-scripts.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: http: https:; font-src 'self' data:; connect-src 'self'; frame-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"

// Server serves the page and the APIs that read stored messages.
type Server struct {
	Journal *journal.Journal
	// S3 and KMS read the stored objects, through s3object (the official
	// S3 Encryption Client); S3 also deletes them.
	S3  *s3.Client
	KMS materials.KmsAPIClient
	// Timeout bounds one read of the backends; zero means 30 seconds.
	Timeout time.Duration
	Log     *slog.Logger
}

// Register mounts the page at /_sesinbound/ and its APIs under
// /_sesinbound/messages/{id}/ on mux.
func (s *Server) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix("/_sesinbound/assets/", http.FileServerFS(static))
	mux.HandleFunc("GET /_sesinbound/{$}", s.index)
	mux.Handle("GET /_sesinbound/assets/", securityHeaders(files))
	mux.HandleFunc("GET /_sesinbound/messages/{id}/mail", s.mail)
	mux.HandleFunc("GET /_sesinbound/messages/{id}/raw", s.raw)
	mux.HandleFunc("GET /_sesinbound/messages/{id}/stored", s.stored)
	mux.HandleFunc("GET /_sesinbound/messages/{id}/parts/{part}", s.part)
	mux.HandleFunc("DELETE /_sesinbound/messages/{id}", s.delete)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	b, _ := assets.ReadFile("assets/index.html")
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b)
}

// record returns the message's record, or answers 404.
func (s *Server) record(w http.ResponseWriter, r *http.Request) (*receipt.Result, bool) {
	b, ok := s.Journal.Get(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such message")
		return nil, false
	}
	var res receipt.Result
	if err := json.Unmarshal(b, &res); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return nil, false
	}
	return &res, true
}

// StoredObject is one S3 object an S3 action wrote for a message.
type StoredObject struct {
	Rule      string `json:"rule"`
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	KMSKeyArn string `json:"kmsKeyArn,omitempty"`
	Error     string `json:"error,omitempty"` // the action's failure: nothing was stored
}

// Objects lists the S3 objects of a record, in the order the actions ran.
func Objects(res *receipt.Result) []StoredObject {
	var out []StoredObject
	for _, rr := range res.Rules {
		for _, a := range rr.Actions {
			if a.Type == "S3Action" && a.Key != "" {
				out = append(out, StoredObject{Rule: rr.Name, Bucket: a.Bucket, Key: a.Key, KMSKeyArn: a.KMSKeyArn, Error: a.Error})
			}
		}
	}
	return out
}

// object picks the ?object=N'th stored object (the first by default).
func object(w http.ResponseWriter, r *http.Request, res *receipt.Result) (StoredObject, int, bool) {
	objs := Objects(res)
	n := 0
	if v := r.URL.Query().Get("object"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 || n >= len(objs) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("object must be between 0 and %d", len(objs)-1))
			return StoredObject{}, 0, false
		}
	}
	if len(objs) == 0 {
		writeError(w, http.StatusNotFound, "no S3 action stored this message")
		return StoredObject{}, 0, false
	}
	if objs[n].Error != "" {
		writeError(w, http.StatusNotFound, "the S3 action failed, nothing was stored: "+objs[n].Error)
		return StoredObject{}, 0, false
	}
	return objs[n], n, true
}

// recordObject returns the message's record and its ?object=N'th stored
// object, or answers the error.
func (s *Server) recordObject(w http.ResponseWriter, r *http.Request) (*receipt.Result, StoredObject, bool) {
	res, ok := s.record(w, r)
	if !ok {
		return nil, StoredObject{}, false
	}
	o, _, ok := object(w, r, res)
	if !ok {
		return nil, StoredObject{}, false
	}
	return res, o, true
}

func (s *Server) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	d := s.Timeout
	if d == 0 {
		d = 30 * time.Second
	}
	return context.WithTimeout(r.Context(), d)
}

func (s *Server) stored(w http.ResponseWriter, r *http.Request) {
	res, o, ok := s.recordObject(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key)})
	if err != nil {
		writeError(w, http.StatusBadGateway, fmt.Sprintf("s3://%s/%s: %v", o.Bucket, o.Key, err))
		return
	}
	defer out.Body.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", attachment(res.MessageID+".encrypted"))
	copyBody(w, out.Body)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	res, ok := s.Journal.Delete(id)
	if !ok {
		writeError(w, http.StatusNotFound, "no such message")
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	var errs []error
	for _, o := range Objects(res) {
		if o.Error != "" {
			continue
		}
		if _, err := s.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key)}); err != nil {
			errs = append(errs, fmt.Errorf("s3://%s/%s: %w", o.Bucket, o.Key, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		writeError(w, http.StatusBadGateway, "the record is gone, but deleting its objects failed: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func jsonDecoder(r io.Reader) *json.Decoder { return json.NewDecoder(r) }
