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
//
// A browser's GET / (Accept: text/html, unsigned) is redirected to the
// page at /_sesinbound/; an SDK's GET / is S3's ListBuckets as before.
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
	if isBrowserRoot(r) {
		http.Redirect(w, r, ControlPrefix, http.StatusFound)
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

// isBrowserRoot reports a browser opening the endpoint's root: GET / that
// accepts HTML and carries no AWS signature.
func isBrowserRoot(r *http.Request) bool {
	if r.URL.Path != "/" || r.URL.RawQuery != "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	if r.Header.Get("Authorization") != "" || r.Header.Get("X-Amz-Date") != "" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// TokenCookie is the cookie the page keeps the admin token in, so that
// requests it cannot add a header to (the event stream, downloads) carry
// it too. It is SameSite=Strict: other sites' pages never send it.
const TokenCookie = "sesinbound_token"

// openPaths need no token: the health check, the SNS signing certificates
// that subscribers fetch, and the page's own files (which then ask for the
// token).
func openPath(p string) bool {
	return p == ControlPrefix+"health" || p == ControlPrefix ||
		strings.HasPrefix(p, ControlPrefix+"sns/") || strings.HasPrefix(p, ControlPrefix+"assets/")
}

// RequireToken guards /_sesinbound/: with a token configured, every call
// but the open ones (health, SNS certificates, the page's files) needs
// "Authorization: Bearer <token>" or the page's cookie.
func RequireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !openPath(r.URL.Path) {
			got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if c, err := r.Cookie(TokenCookie); got == "" && err == nil {
				got = c.Value
			}
			if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sesinbound"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"send 'Authorization: Bearer <admin token>'"}`+"\n")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// SameSite refuses state-changing calls that a browser made on behalf of
// another site: a request whose Sec-Fetch-Site is cross-site or
// same-site, or whose Origin is not this host. Tools (curl, SDKs, the
// test package) send neither header and pass.
func SameSite(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			site := r.Header.Get("Sec-Fetch-Site")
			origin := r.Header.Get("Origin")
			if (site != "" && site != "same-origin" && site != "none") ||
				(origin != "" && origin != "http://"+r.Host && origin != "https://"+r.Host) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `{"error":"cross-site request refused"}`+"\n")
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
