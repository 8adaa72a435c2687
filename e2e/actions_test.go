package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/sesinbound/sesinbound/events"
	"github.com/sesinbound/sesinbound/receipt"
)

const acct = "111122223333"

func arn(service, name string) string {
	if service == "lambda" {
		return "arn:aws:lambda:us-east-1:" + acct + ":function:" + name
	}
	return "arn:aws:" + service + ":us-east-1:" + acct + ":" + name
}

// everyAction is a rules file that uses every action SES has.
func everyAction(h *hook) string {
	return fmt.Sprintf(`
AccountId: "%s"
Topics:
  %s: %s
  %s: %s
  %s: %s
  %s: %s
Functions:
  %s: %s
  %s: %s
Rules:
  - Name: bounce-postmaster
    Enabled: true
    Recipients: [postmaster@example.com]
    Actions:
      - BounceAction: {SmtpReplyCode: "550", StatusCode: "5.1.1", Message: "Mailbox does not exist", Sender: "mailer-daemon@example.com", TopicArn: "%s"}
      - StopAction: {Scope: RuleSet, TopicArn: "%s"}
  - Name: store
    Enabled: true
    ScanEnabled: true
    Recipients: [example.com]
    Actions:
      - AddHeaderAction: {HeaderName: X-Emulated, HeaderValue: "yes"}
      - S3Action: {BucketName: mail, ObjectKeyPrefix: inbound, KmsKeyArn: "arn:aws:kms:us-east-1:%s:alias/aws/ses", TopicArn: "%s"}
      - LambdaAction: {FunctionArn: "%s", InvocationType: RequestResponse}
      - SNSAction: {TopicArn: "%s", Encoding: Base64}
  - Name: after
    Enabled: true
    Recipients: [example.com]
    Actions:
      - LambdaAction: {FunctionArn: "%s"}
      - WorkmailAction: {OrganizationArn: "arn:aws:workmail:us-east-1:%s:organization/m-1"}
`, acct,
		arn("sns", "s3-events"), h.url("/sns/s3-events"), arn("sns", "raw"), h.url("/sns/raw"),
		arn("sns", "stops"), h.url("/sns/stops"), arn("sns", "bounces"), h.url("/sns/bounces"),
		arn("lambda", "filter"), h.url("/lambda/filter"), arn("lambda", "notify"), h.url("/lambda/notify"),
		arn("sns", "bounces"), arn("sns", "stops"), acct, arn("sns", "s3-events"), arn("lambda", "filter"),
		arn("sns", "raw"), arn("lambda", "notify"), acct)
}

// filterReply is the filter function: it reads the subject and answers
// with a disposition, as users' Lambdas do.
func filterReply(path string, body []byte) string {
	if path != "/lambda/filter" {
		return ""
	}
	var ev lambdaevents.SimpleEmailEvent
	json.Unmarshal(body, &ev)
	switch subject := ev.Records[0].SES.Mail.CommonHeaders.Subject; {
	case strings.Contains(subject, "stop-rule-set"):
		return `{"disposition":"stop_rule_set"}` // lower case, as AWS's own example
	case strings.Contains(subject, "stop-rule"):
		return `{"disposition":"STOP_RULE"}`
	}
	return `{"disposition":"CONTINUE"}`
}

// snsMessage checks an SNS post the way a subscriber does (headers,
// signature against the served certificate) and returns the SES
// notification inside it.
func snsMessage(t *testing.T, p post) (events.Message, []byte) {
	t.Helper()
	var m events.Message
	if err := json.Unmarshal(p.body, &m); err != nil {
		t.Fatalf("SNS body: %v\n%s", err, p.body)
	}
	if p.header.Get("x-amz-sns-message-type") != "Notification" || p.header.Get("x-amz-sns-topic-arn") != m.TopicArn {
		t.Errorf("SNS headers = %v", p.header)
	}
	cert := fetchSNSCert(t, m.SigningCertURL)
	if err := events.Verify(&m, cert); err != nil {
		t.Fatalf("SNS signature does not verify against %s: %v", m.SigningCertURL, err)
	}
	if m.Subject != "Amazon SES Email Receipt Notification" {
		t.Errorf("Subject = %q", m.Subject)
	}
	return m, []byte(m.Message)
}

func TestEveryAction(t *testing.T) {
	h := newHook(t, filterReply)
	rl := newRelay(t)
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", everyAction(h)), "--relay-addr", rl.addr)
	msg := []byte("From: Peter <peter@example.org>\r\nTo: Inbox <inbox@example.com>, other@example.net\r\nCc: cc@example.com\r\n" +
		"Reply-To: r1@example.org, \"Last, First\" <r2@example.org>\r\nSubject: quarterly report\r\n" +
		"Date: Mon, 23 Nov 2026 05:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\nReceived: from a\r\n        by b\r\n\r\nbody\r\n")
	id, err := sendMail(inst.SMTPAddr, "bounce+x@example.org", []string{"inbox@example.com", "cc@example.com"}, msg)
	if err != nil {
		t.Fatal(err)
	}

	// The S3 action's notification, then the stored object it describes.
	m, raw := snsMessage(t, h.got(t, "/sns/s3-events", 1)[0])
	if got := jsonKeys(t, raw); !slices.Equal(got, []string{"notificationType", "mail", "receipt"}) {
		t.Errorf("notification keys = %v", got)
	}
	var n receipt.Notification
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatal(err)
	}
	if m.TopicArn != arn("sns", "s3-events") || n.NotificationType != "Received" || n.Mail.MessageID != id || n.Mail.Source != "bounce+x@example.org" {
		t.Errorf("notification = %+v", n)
	}
	if !slices.Equal(n.Mail.Destination, []string{"inbox@example.com", "other@example.net", "cc@example.com"}) {
		t.Errorf("mail.destination = %v (To then Cc, bare addresses)", n.Mail.Destination)
	}
	if !slices.Equal(n.Receipt.Recipients, []string{"inbox@example.com", "cc@example.com"}) {
		t.Errorf("receipt.recipients = %v", n.Receipt.Recipients)
	}
	ch := n.Mail.CommonHeaders
	if *ch.ReturnPath != "bounce+x@example.org" || !slices.Equal(ch.From, []string{"Peter <peter@example.org>"}) ||
		!slices.Equal(ch.To, []string{"Inbox <inbox@example.com>", "other@example.net"}) || *ch.Subject != "quarterly report" ||
		!slices.Equal(ch.ReplyTo, []string{"r1@example.org", `"Last, First" <r2@example.org>`}) || *ch.MessageID != "<m1@example.org>" ||
		ch.Sender != nil || ch.Bcc != nil {
		t.Errorf("commonHeaders = %+v", ch)
	}
	var names []string
	for _, hd := range n.Mail.Headers {
		names = append(names, hd.Name)
	}
	if names[0] != "Return-Path" || names[1] != "Received" || names[len(names)-1] != "X-Emulated" || n.Mail.HeadersTruncated {
		t.Errorf("mail.headers = %v (SES's first, the added header last)", names)
	}
	for _, hd := range n.Mail.Headers {
		if hd.Name == "Received" && hd.Value == "from a by b" {
			goto unfolded
		}
	}
	t.Errorf("folded Received header is not unfolded to %q", "from a by b")
unfolded:
	rc := n.Receipt
	if rc.Timestamp != n.Mail.Timestamp || !strings.HasSuffix(rc.Timestamp, "Z") || len(rc.Timestamp) != len("2006-01-02T15:04:05.000Z") ||
		rc.SpamVerdict.Status != "PASS" || rc.VirusVerdict.Status != "PASS" || rc.DKIMVerdict.Status != "PASS" || rc.DMARCPolicy != "" {
		t.Errorf("receipt = %+v", rc)
	}
	if !strings.Contains(string(raw), `"processingTimeMillis":`) || strings.Contains(string(raw), `"processingTimeMillis":"`) {
		t.Errorf("processingTimeMillis is not a number")
	}
	if a := rc.Action; a.Type != "S3" || a.BucketName != "mail" || *a.ObjectKeyPrefix != "inbound" || a.ObjectKey != "inbound/"+id || a.TopicArn != arn("sns", "s3-events") {
		t.Errorf("action = %+v", a)
	}
	stored, err := decryptV1(inst.AWSURL, "mail", "inbound/"+id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(stored, []byte("body\r\n")) || !bytes.Contains(stored, []byte("\r\nX-Emulated: yes\r\n\r\nbody")) ||
		!bytes.Contains(stored, []byte("X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n")) {
		t.Errorf("stored message:\n%s", stored)
	}

	// The RequestResponse function got an event real Lambdas decode.
	var ev lambdaevents.SimpleEmailEvent
	if err := json.Unmarshal(h.got(t, "/lambda/filter", 1)[0].body, &ev); err != nil {
		t.Fatal(err)
	}
	rec := ev.Records[0]
	if rec.EventSource != "aws:ses" || rec.EventVersion != "1.0" || rec.SES.Mail.MessageID != id ||
		rec.SES.Receipt.Action.Type != "Lambda" || rec.SES.Receipt.Action.FunctionARN != arn("lambda", "filter") ||
		rec.SES.Receipt.Action.InvocationType != "RequestResponse" || rec.SES.Mail.CommonHeaders.Subject != "quarterly report" ||
		rec.SES.Receipt.Timestamp.IsZero() {
		t.Errorf("lambda event = %+v", rec)
	}

	// The SNS action carries the message, Base64-encoded, after the added header.
	_, raw = snsMessage(t, h.got(t, "/sns/raw", 1)[0])
	var sn receipt.Notification
	json.Unmarshal(raw, &sn)
	if got := jsonKeys(t, raw); !slices.Equal(got, []string{"notificationType", "mail", "receipt", "content"}) {
		t.Errorf("SNS action notification keys = %v", got)
	}
	content, _ := base64.StdEncoding.DecodeString(*sn.Content)
	if sn.Receipt.Action.Type != "SNS" || sn.Receipt.Action.Encoding != "BASE64" || !bytes.Equal(content, stored) {
		t.Errorf("SNS action: %+v, content equal to stored: %v", sn.Receipt.Action, bytes.Equal(content, stored))
	}

	// The second rule ran too: the Event function.
	var ev2 lambdaevents.SimpleEmailEvent
	json.Unmarshal(h.got(t, "/lambda/notify", 1)[0].body, &ev2)
	if ev2.Records[0].SES.Receipt.Action.InvocationType != "Event" {
		t.Errorf("notify event = %+v", ev2)
	}

	// The record agrees, rule by rule and action by action.
	rec2 := message(t, inst, id)
	var types []string
	for _, r := range rec2["rules"].([]any) {
		rule := r.(map[string]any)
		for _, a := range rule["actions"].([]any) {
			types = append(types, rule["name"].(string)+":"+a.(map[string]any)["type"].(string))
		}
	}
	want := []string{"store:AddHeaderAction", "store:S3Action", "store:LambdaAction", "store:SNSAction", "after:LambdaAction", "after:WorkmailAction"}
	if !slices.Equal(types, want) {
		t.Errorf("recorded actions = %v, want %v", types, want)
	}
	if r := rec2["reply"].(map[string]any); r["code"].(float64) != 250 {
		t.Errorf("recorded reply = %v", r)
	}
	s3rec := rec2["rules"].([]any)[0].(map[string]any)["actions"].([]any)[1].(map[string]any)
	payload, _ := json.Marshal(s3rec["event"].(map[string]any)["payload"])
	var recorded receipt.Notification
	json.Unmarshal(payload, &recorded)
	if recorded.Mail.MessageID != id || recorded.Receipt.Action.ObjectKey != "inbound/"+id || s3rec["event"].(map[string]any)["delivery"] != h.url("/sns/s3-events") {
		t.Errorf("recorded S3 notification = %s", payload)
	}
	if note := rec2["rules"].([]any)[1].(map[string]any)["actions"].([]any)[1].(map[string]any)["note"]; note == nil {
		t.Errorf("WorkMail action not marked as not emulated")
	}
}

func TestLambdaDispositions(t *testing.T) {
	h := newHook(t, filterReply)
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", everyAction(h)))
	send := func(subject string) string {
		id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{"inbox@example.com"}, []byte("Subject: "+subject+"\r\n\r\nx\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	send("stop-rule please")
	if h.count("/sns/raw") != 0 {
		t.Errorf("STOP_RULE did not stop the rest of the rule")
	}
	if h.count("/lambda/notify") != 1 {
		t.Errorf("STOP_RULE stopped the rule set")
	}
	id := send("stop-rule-set please")
	if h.count("/lambda/notify") != 1 {
		t.Errorf("stop_rule_set (lower case) did not stop the rule set")
	}
	rules := message(t, inst, id)["rules"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["actions"].([]any)[2].(map[string]any)["disposition"] != "STOP_RULE_SET" {
		t.Errorf("record = %v", rules)
	}
}

func TestBounceAction(t *testing.T) {
	h := newHook(t, nil)
	rl := newRelay(t)
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", everyAction(h)), "--relay-addr", rl.addr)
	id, err := sendMail(inst.SMTPAddr, "sender@example.org", []string{"postmaster@example.com"}, []byte("Subject: hi\r\nFrom: sender@example.org\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatalf("the bounced message must still get 250: %v", err)
	}
	dsn := rl.wait(t, 1)[0]
	if dsn.from != "" || !slices.Equal(dsn.to, []string{"sender@example.org"}) {
		t.Errorf("DSN envelope = MAIL FROM:<%s> RCPT TO:%v", dsn.from, dsn.to)
	}
	for _, want := range []string{"From: mailer-daemon@example.com\r\n", "Content-Type: multipart/report; report-type=delivery-status;",
		"Final-Recipient: rfc822; postmaster@example.com\r\n", "Status: 5.1.1\r\n", "Diagnostic-Code: smtp; 550 5.1.1 Mailbox does not exist\r\n",
		"Action: failed\r\n", "Subject: hi\r\n"} {
		if !strings.Contains(dsn.data, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn.data)
		}
	}
	_, raw := snsMessage(t, h.got(t, "/sns/bounces", 1)[0])
	var n receipt.Notification
	json.Unmarshal(raw, &n)
	if a := n.Receipt.Action; a.Type != "Bounce" || a.SMTPReplyCode != "550" || a.StatusCode != "5.1.1" || a.Sender != "mailer-daemon@example.com" || a.Message != "Mailbox does not exist" {
		t.Errorf("bounce action = %+v", a)
	}
	_, raw = snsMessage(t, h.got(t, "/sns/stops", 1)[0])
	json.Unmarshal(raw, &n)
	if n.Receipt.Action.Type != "Stop" {
		t.Errorf("stop action = %+v", n.Receipt.Action)
	}
	// The record says the DSN went out (it is sent after the reply).
	deadline := time.Now().Add(5 * time.Second)
	for {
		b := message(t, inst, id)["bounces"].([]any)[0].(map[string]any)
		if b["status"] == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bounce record = %v", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestVerdicts(t *testing.T) {
	h := newHook(t, nil)
	rules := fmt.Sprintf(`
Topics: {"arn:aws:sns:us-east-1:000000000000:n": "%s", "arn:aws:sns:us-east-1:000000000000:m": "%s"}
Rules:
  - Name: scanned
    Enabled: true
    ScanEnabled: true
    Recipients: [scan.example.com]
    Actions:
      - S3Action: {BucketName: verdicts, ObjectKeyPrefix: scanned, TopicArn: "arn:aws:sns:us-east-1:000000000000:n"}
  - Name: unscanned
    Enabled: true
    Recipients: [plain.example.com]
    Actions:
      - S3Action: {BucketName: verdicts, ObjectKeyPrefix: plain, TopicArn: "arn:aws:sns:us-east-1:000000000000:m"}
`, h.url("/n"), h.url("/m"))
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", rules))
	for _, tt := range []struct {
		name, rcpt, headers, body string
		spam, virus, spf, dmarc   string
		policy                    string
		stored                    []string
	}{
		{"defaults, scanning", "a@scan.example.com", "", "hello", "PASS", "PASS", "PASS", "PASS", "",
			[]string{"X-SES-Spam-Verdict: PASS\r\n", "X-SES-Virus-Verdict: PASS\r\n", "Received-SPF: pass ", " dkim=pass ", " dmarc=pass "}},
		{"defaults, no scanning", "a@plain.example.com", "", "hello", "DISABLED", "DISABLED", "PASS", "PASS", "", nil},
		{"forced by control headers", "a@scan.example.com",
			"X-SESInbound-Spam-Verdict: FAIL\r\nX-SESInbound-SPF-Verdict: gray\r\nX-SESInbound-DMARC-Verdict: FAIL\r\nX-SESInbound-DMARC-Policy: reject\r\n", "hello",
			"FAIL", "PASS", "GRAY", "FAIL", "reject",
			[]string{"X-SES-Spam-Verdict: FAIL\r\n", "Received-SPF: none ", " spf=none ", " dmarc=fail "}},
		{"EICAR in a base64 attachment", "a@scan.example.com",
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n",
			"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
				base64.StdEncoding.EncodeToString([]byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`)) + "\r\n--b--\r\n",
			"PASS", "FAIL", "PASS", "PASS", "", []string{"X-SES-Virus-Verdict: FAIL\r\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg := "From: a@example.org\r\nSubject: verdicts\r\n" + tt.headers + "\r\n" + tt.body + "\r\n"
			id, err := sendMail(inst.SMTPAddr, "a@example.org", []string{tt.rcpt}, []byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			path, prefix := "/n", "scanned/"
			if strings.Contains(tt.rcpt, "plain") {
				path, prefix = "/m", "plain/"
			}
			posts := h.got(t, path, 1)
			_, raw := snsMessage(t, posts[len(posts)-1])
			var n receipt.Notification
			json.Unmarshal(raw, &n)
			r := n.Receipt
			if n.Mail.MessageID != id || r.SpamVerdict.Status != tt.spam || r.VirusVerdict.Status != tt.virus ||
				r.SPFVerdict.Status != tt.spf || r.DMARCVerdict.Status != tt.dmarc || r.DMARCPolicy != tt.policy {
				t.Errorf("verdicts = %+v", r)
			}
			stored, _ := getObject(t, inst.AWSURL, "verdicts", prefix+id)
			for _, want := range tt.stored {
				if !bytes.Contains(stored, []byte(want)) {
					t.Errorf("stored message lacks %q", want)
				}
			}
			if tt.spam == "DISABLED" && bytes.Contains(stored, []byte("X-SES-Spam-Verdict")) {
				t.Errorf("verdict headers without ScanEnabled")
			}
			if bytes.Contains(bytes.ToLower(stored), []byte("x-sesinbound-")) {
				t.Errorf("control headers reached the stored message:\n%s", stored)
			}
		})
	}
}

// A notification for mail with non-ASCII headers carries them decoded in
// commonHeaders (a Japanese ISO-2022-JP subject and display name) and as
// written in mail.headers, through the real binary and its SNS action.
func TestNotificationNonASCIIHeaders(t *testing.T) {
	h := newHook(t, nil)
	inst := start(t, nil, "--config", writeFile(t, "rules.yaml", everyAction(h)))
	msg, err := os.ReadFile(filepath.Join("..", "receipt", "testdata", "mime", "iso-2022-jp-subject.eml"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := sendMail(inst.SMTPAddr, "taro@example.jp", []string{"inbox@example.com"}, msg)
	if err != nil {
		t.Fatal(err)
	}
	s3rec := message(t, inst, id)["rules"].([]any)[0].(map[string]any)["actions"].([]any)[1].(map[string]any)
	payload, _ := json.Marshal(s3rec["event"].(map[string]any)["payload"])
	var n receipt.Notification
	if err := json.Unmarshal(payload, &n); err != nil {
		t.Fatal(err)
	}
	ch := n.Mail.CommonHeaders
	if ch.Subject == nil || *ch.Subject != "会議の議事録" || len(ch.From) != 1 || ch.From[0] != "山田太郎 <taro@example.jp>" {
		t.Errorf("commonHeaders = %s", payload)
	}
	for _, hd := range n.Mail.Headers {
		if hd.Name == "Subject" && !strings.HasPrefix(hd.Value, "=?ISO-2022-JP?B?") {
			t.Errorf("mail.headers Subject = %q, want it as written", hd.Value)
		}
	}
}
