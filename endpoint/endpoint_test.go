package endpoint_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesinbound/sesinbound/endpoint"
)

// TestRouting: the signing name decides; an unsigned request is SES only as
// a POST / whose form names an SES Action, and whoever serves it still reads
// the whole body.
func TestRouting(t *testing.T) {
	var got, body string
	serve := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got, body = name, string(b)
		})
	}
	rt := &endpoint.Router{AWS: serve("aws"), Control: serve("control"), SES: serve("ses"),
		IsSESAction: func(a string) bool { return a == "CreateReceiptRuleSet" }}
	sig := func(service string) string {
		return "AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/" + service + "/aws4_request, SignedHeaders=host, Signature=00"
	}
	const form = "application/x-www-form-urlencoded"
	sesBody := "Action=CreateReceiptRuleSet&Version=2010-12-01&RuleSetName=x"
	for _, tt := range []struct {
		name, method, path, auth, ctype, body, want string
	}{
		{"signed ses", "POST", "/", sig("ses"), form, sesBody, "ses"},
		{"signed email", "POST", "/", sig("email"), form, sesBody, "ses"},
		{"signed ses v2", "GET", "/v2/email/identities", sig("ses"), "", "", "ses"},
		{"signed kms", "POST", "/", sig("kms"), "application/x-amz-json-1.1", `{"KeyId":"k"}`, "aws"},
		{"signed s3 upload with a form content type", "PUT", "/bucket/key", sig("s3"), form, sesBody, "aws"},
		{"signed s3 POST / with an SES-looking form", "POST", "/", sig("s3"), form, sesBody, "aws"},
		{"unsigned SES form", "POST", "/", "", form, sesBody, "ses"},
		{"unsigned SES form without a content type", "POST", "/", "", "", sesBody, "ses"},
		{"unsigned other action", "POST", "/", "", form, "Action=Publish&TopicArn=t", "aws"},
		{"unsigned upload with a form content type", "PUT", "/bucket/key", "", form, sesBody, "aws"},
		{"unsigned POST to a bucket", "POST", "/bucket", "", form, sesBody, "aws"},
		{"unsigned query action", "GET", "/?Action=CreateReceiptRuleSet&RuleSetName=x", "", "", "", "ses"},
		{"unsigned list buckets", "GET", "/", "", "", "", "aws"},
		{"control", "GET", "/_sesinbound/health", sig("ses"), "", "", "control"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, body = "", ""
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			rt.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Fatalf("routed to %s, want %s", got, tt.want)
			}
			if body != tt.body {
				t.Fatalf("the handler read %q, want the whole body %q", body, tt.body)
			}
		})
	}
}

func TestCredentialScope(t *testing.T) {
	r := httptest.NewRequest("GET", "/b/k?X-Amz-Credential=AKID%2F20261201%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=0", nil)
	if sc, ok := endpoint.CredentialScope(r); !ok || sc.Region != "eu-west-1" || sc.Service != "s3" {
		t.Fatalf("presigned: %+v %v", sc, ok)
	}
	r = httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Authorization", "Bearer token")
	if _, ok := endpoint.CredentialScope(r); ok {
		t.Fatal("a bearer token read as a credential scope")
	}
}
