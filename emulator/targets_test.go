package emulator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sesinbound/sesinbound/events"
)

// TestCheckTopicAndFunction asks real SDK clients, pointed at a local
// server, about a topic and a function: one that exists, one the service
// does not know, and one it refuses to say anything about.
func TestCheckTopicAndFunction(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		name := r.URL.Path + " " + r.Form.Get("TopicArn")
		switch {
		case strings.Contains(name, "missing"):
			if strings.HasPrefix(r.URL.Path, "/2015-03-31/") {
				w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
				w.WriteHeader(http.StatusNotFound)
				w.Write([]byte(`{"Type":"User","Message":"Function not found"}`))
				return
			}
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error></ErrorResponse>`))
		case strings.Contains(name, "secret"):
			if strings.HasPrefix(r.URL.Path, "/2015-03-31/") {
				w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte(`{"Message":"not for you"}`))
				return
			}
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>not for you</Message></Error></ErrorResponse>`))
		case strings.HasPrefix(r.URL.Path, "/2015-03-31/"):
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"Configuration":{"FunctionName":"present"}}`))
		default:
			w.Header().Set("Content-Type", "text/xml")
			w.Write([]byte(`<GetTopicAttributesResponse><GetTopicAttributesResult><Attributes></Attributes></GetTopicAttributesResult></GetTopicAttributesResponse>`))
		}
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(srv.URL)}
	tg := &targets{router: &events.Router{SNS: sns.NewFromConfig(cfg), Lambda: lambda.NewFromConfig(cfg)}}
	arn := func(svc, name string) string { return "arn:aws:" + svc + ":us-east-1:123456789012:" + name }
	ctx := context.Background()

	for _, c := range []struct {
		name  string
		check func() error
		want  string // "" means no error
	}{
		{"topic present", func() error { return tg.CheckTopic(ctx, arn("sns", "present")) }, ""},
		{"topic missing", func() error { return tg.CheckTopic(ctx, arn("sns", "missing")) },
			"no such topic in the configured SNS; create it (aws sns create-topic) or map it to a URL under Topics in the rules file"},
		{"topic refused", func() error { return tg.CheckTopic(ctx, arn("sns", "secret")) }, "the configured SNS cannot be asked: "},
		{"function present", func() error { return tg.CheckFunction(ctx, arn("lambda", "function:present")) }, ""},
		{"function missing", func() error { return tg.CheckFunction(ctx, arn("lambda", "function:missing")) },
			"no such function in the configured Lambda; create it or map it to a URL under Functions in the rules file"},
		{"function refused", func() error { return tg.CheckFunction(ctx, arn("lambda", "function:secret")) }, "the configured Lambda cannot be asked: "},
	} {
		err := c.check()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "":
		case err == nil:
			t.Errorf("%s: no error, want %q", c.name, c.want)
		case strings.HasSuffix(c.want, ": ") && !strings.HasPrefix(err.Error(), c.want):
			t.Errorf("%s: %q, want it to start %q", c.name, err, c.want)
		case !strings.HasSuffix(c.want, ": ") && err.Error() != c.want:
			t.Errorf("%s: %q, want %q", c.name, err, c.want)
		}
	}
}
