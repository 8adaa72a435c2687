package endpoint

import (
	"net/http"
	"strings"
)

// Scope is the SigV4 credential scope of a request: the region and the
// signing name of the service it was signed for.
type Scope struct {
	Region, Service string
}

// CredentialScope reads the scope from "Authorization: AWS4-HMAC-SHA256
// Credential=AKID/DATE/REGION/SERVICE/aws4_request, ..." or, for a presigned
// URL, from X-Amz-Credential. ok is false for an unsigned request or one
// whose scope cannot be read.
func CredentialScope(r *http.Request) (Scope, bool) {
	cred := ""
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, rest, found := strings.Cut(auth, "Credential=")
		if !found {
			return Scope{}, false
		}
		cred, _, _ = strings.Cut(rest, ",")
	} else if c := r.URL.Query().Get("X-Amz-Credential"); c != "" {
		cred = c
	} else {
		return Scope{}, false
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return Scope{}, false
	}
	return Scope{Region: parts[2], Service: parts[3]}, true
}
