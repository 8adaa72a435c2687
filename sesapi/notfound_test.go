package sesapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// newNotFound serves an SNS (query) and Lambda (REST-JSON) endpoint that
// knows no topic and no function.
func newNotFound(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") {
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(404)
			w.Write([]byte(`{"message":"Function not found"}`))
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(404)
		w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>x</RequestId></ErrorResponse>`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
