// Package endpoint is the one router of the shared AWS port: it decides
// which service a request is for. Nothing else decides where a request goes.
package endpoint

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// ControlPrefix is where sesinbound's own paths live. Bucket names cannot
// start with "_", so it never shadows a bucket.
const ControlPrefix = "/_sesinbound/"

// Router sends /_sesinbound/ to Control, SES requests to SES and
// everything else to AWS (the embedded S3 and KMS).
//
// A request is for SES when its SigV4 credential scope names the service
// ses or email (the signing name of SES v1 and v2 alike, and the endpoint
// prefix some hand-written clients sign with); SES itself tells v1 from v2
// by the /v2/ path. An unsigned request is for SES only when it is a POST /
// whose form body (or query string) has an Action that IsSESAction
// accepts: the body is read to find out, and put back for whoever serves
// the request. Content-Type alone never decides, since an S3 object may be
// uploaded with any.
type Router struct {
	AWS     http.Handler
	Control http.Handler
	// SES, when set, serves SES; IsSESAction names its v1 operations.
	SES         http.Handler
	IsSESAction func(action string) bool
}

// Signing names that mean SES.
const (
	ServiceSES   = "ses"
	ServiceEmail = "email"
)

// maxPeek bounds how much of an unsigned POST / is read to find its Action.
const maxPeek = 1 << 20

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ControlPrefix) {
		rt.Control.ServeHTTP(w, r)
		return
	}
	if rt.SES != nil && rt.isSES(r) {
		rt.SES.ServeHTTP(w, r)
		return
	}
	rt.AWS.ServeHTTP(w, r)
}

func (rt *Router) isSES(r *http.Request) bool {
	if sc, ok := CredentialScope(r); ok {
		return sc.Service == ServiceSES || sc.Service == ServiceEmail
	}
	if r.Header.Get("Authorization") != "" || rt.IsSESAction == nil || r.URL.Path != "/" {
		return false
	}
	if a := r.URL.Query().Get("Action"); a != "" {
		return rt.IsSESAction(a)
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPeek))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	if err != nil {
		return false
	}
	vals, err := url.ParseQuery(string(body))
	return err == nil && rt.IsSESAction(vals.Get("Action"))
}

// RequireToken guards the /_sesinbound/ paths that change state: with a
// token configured, PUT, POST and DELETE need "Authorization: Bearer
// <token>". Reading needs nothing.
func RequireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		default:
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sesinbound"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"send 'Authorization: Bearer <admin token>' to change state"}`+"\n")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Health answers 200 once ready is set, 503 before.
func Health(ready *atomic.Bool, version string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "starting"})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": version})
	})
}
