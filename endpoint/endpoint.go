// Package endpoint is the one router of the shared AWS port: it decides
// which service a request is for. Nothing else decides where a request goes.
package endpoint

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// ControlPrefix is where sesinbound's own paths live. Bucket names cannot
// start with "_", so it never shadows a bucket.
const ControlPrefix = "/_sesinbound/"

// Router sends /_sesinbound/ to Control and everything else to AWS (the
// embedded S3 and KMS).
type Router struct {
	AWS     http.Handler
	Control http.Handler
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ControlPrefix) {
		rt.Control.ServeHTTP(w, r)
		return
	}
	rt.AWS.ServeHTTP(w, r)
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
