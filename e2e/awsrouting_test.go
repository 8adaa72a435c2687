package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// awsCall is one request that reached a stand-in for an AWS service.
type awsCall struct {
	path   string
	header http.Header
	form   url.Values // SNS: the query-protocol form
	body   []byte
}

// awsStandIn answers SNS Publish (query protocol) and Lambda Invoke as the
// real services do, enough for aws-sdk-go-v2, and records every call.
type awsStandIn struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []awsCall
}

func newAWSStandIn(t *testing.T, lambdaReply string) *awsStandIn {
	t.Helper()
	a := &awsStandIn{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c := awsCall{path: r.URL.Path, header: r.Header.Clone(), body: b}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			c.form, _ = url.ParseQuery(string(b))
		}
		a.mu.Lock()
		a.calls = append(a.calls, c)
		n := len(a.calls)
		a.mu.Unlock()
		switch {
		case c.form.Get("Action") == "Publish":
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-%d</MessageId></PublishResult><ResponseMetadata><RequestId>r-%d</RequestId></ResponseMetadata></PublishResponse>`, n, n)
		case strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") && strings.HasSuffix(r.URL.Path, "/invocations"):
			if r.Header.Get("X-Amz-Invocation-Type") == "Event" {
				w.WriteHeader(http.StatusAccepted)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, lambdaReply)
		default:
			http.Error(w, "not a call this stand-in knows", http.StatusBadRequest)
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// wait returns the calls once there are n, or fails after 10 s.
func (a *awsStandIn) wait(t *testing.T, n int) []awsCall {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.mu.Lock()
		c := append([]awsCall(nil), a.calls...)
		a.mu.Unlock()
		if len(c) >= n || time.Now().After(deadline) {
			if len(c) < n {
				t.Fatalf("%d calls reached %s, want %d", len(c), a.srv.URL, n)
			}
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// With no Topics or Functions in the rules file, AWS_ENDPOINT_URL_SNS and
// AWS_ENDPOINT_URL_LAMBDA route the events to SNS Publish and Lambda
// Invoke through the SDK.
func TestSNSAndLambdaFromEnvironment(t *testing.T) {
	snsSrv := newAWSStandIn(t, "")
	lambdaSrv := newAWSStandIn(t, `{"disposition":"CONTINUE"}`)
	const topic = "arn:aws:sns:us-east-1:111122223333:inbound"
	const fn = "arn:aws:lambda:us-east-1:111122223333:function:filter"
	rules := writeFile(t, "rules.yaml", fmt.Sprintf(`
AccountId: "111122223333"
Rules:
  - Name: route
    Enabled: true
    Actions:
      - LambdaAction: {FunctionArn: "%s", InvocationType: RequestResponse}
      - S3Action: {BucketName: ses-inbound, TopicArn: "%s"}
      - SNSAction: {TopicArn: "%s"}
`, fn, topic, topic))
	env := []string{"AWS_ENDPOINT_URL_SNS=" + snsSrv.srv.URL, "AWS_ENDPOINT_URL_LAMBDA=" + lambdaSrv.srv.URL,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1"}
	inst := start(t, env, "--config", rules)
	id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"b@example.com"}, []byte("From: a@example.org\r\nSubject: routed\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}

	inv := lambdaSrv.wait(t, 1)[0]
	if want := "/2015-03-31/functions/" + url.PathEscape(fn) + "/invocations"; inv.path != want && inv.path != "/2015-03-31/functions/"+fn+"/invocations" {
		t.Errorf("Lambda Invoke path %q, want %q", inv.path, want)
	}
	if got := inv.header.Get("X-Amz-Invocation-Type"); got != "RequestResponse" {
		t.Errorf("X-Amz-Invocation-Type = %q", got)
	}
	if !strings.HasPrefix(inv.header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		t.Errorf("the Invoke is not SigV4-signed: %v", inv.header)
	}
	var ev struct {
		Records []struct {
			EventSource string
			SES         struct{ Mail struct{ MessageID string } }
		}
	}
	if err := json.Unmarshal(inv.body, &ev); err != nil || len(ev.Records) != 1 || ev.Records[0].SES.Mail.MessageID != id || ev.Records[0].EventSource != "aws:ses" {
		t.Errorf("the Lambda event is not the SES event for %s (%v): %s", id, err, inv.body)
	}

	pubs := snsSrv.wait(t, 2)
	types := map[string]bool{}
	for _, p := range pubs {
		if p.form.Get("Action") != "Publish" || p.form.Get("TopicArn") != topic {
			t.Errorf("SNS call %v, want Publish to %s", p.form, topic)
			continue
		}
		if !strings.HasPrefix(p.header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			t.Errorf("the Publish is not SigV4-signed")
		}
		var n struct {
			NotificationType string
			Mail             struct{ MessageID string }
			Receipt          struct{ Action struct{ Type string } }
			Content          string
		}
		if err := json.Unmarshal([]byte(p.form.Get("Message")), &n); err != nil || n.Mail.MessageID != id || n.NotificationType != "Received" {
			t.Errorf("the published message is not the SES notification for %s (%v): %s", id, err, p.form.Get("Message"))
		}
		types[n.Receipt.Action.Type] = true
		if n.Receipt.Action.Type == "SNS" && !strings.Contains(n.Content, "Subject: routed") {
			t.Errorf("the SNSAction notification lacks the content")
		}
		if got := p.form.Get("Subject"); got != "Amazon SES Email Receipt Notification" {
			t.Errorf("Publish Subject = %q", got)
		}
	}
	if !types["S3"] || !types["SNS"] {
		t.Errorf("published action types %v, want S3 and SNS", types)
	}
}
