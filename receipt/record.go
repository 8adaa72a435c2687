package receipt

import (
	"bytes"
	"mime"
	"net/netip"
	"time"
)

// Client describes the SMTP client that sent a message.
type Client struct {
	Addr netip.Addr `json:"ip"`
	Helo string     `json:"helo"`
	TLS  bool       `json:"tls"`
}

// Result is the record of one message: what came in, what every rule and
// action did, and (once Replied is called) the SMTP reply.
type Result struct {
	MessageID  string       `json:"messageId"`
	Received   time.Time    `json:"time"`
	From       string       `json:"from"`
	Recipients []string     `json:"recipients"`
	Client     Client       `json:"client"`
	Size       int          `json:"size"`
	Subject    string       `json:"subject,omitempty"` // the Subject header, RFC 2047 words decoded
	RuleSet    string       `json:"ruleSet"`           // the receipt rule set that ran
	Verdicts   Verdicts     `json:"verdicts"`
	Reply      *Reply       `json:"reply,omitempty"`
	Rules      []RuleResult `json:"rules"`
	Bounces    []Bounce     `json:"bounces,omitempty"`
	// NotRun is the rules that did not run and why; see Result.WithNotRun.
	NotRun []NotRunRule `json:"notRun,omitempty"`

	snapshot *Snapshot // the configuration the message ran under
}

// Reply is the SMTP reply a message got.
type Reply struct {
	Code int    `json:"code"`
	Text string `json:"text"`
}

// RuleResult is one rule that ran, with the recipients it matched.
type RuleResult struct {
	Name       string         `json:"name"`
	Recipients []string       `json:"recipients"`
	Actions    []ActionResult `json:"actions"`
}

// ActionResult is one action that ran. Which fields are set depends on
// Type; Error says why it failed, Note what was not emulated.
type ActionResult struct {
	Type           string       `json:"type"` // the API name: S3Action, SNSAction, ...
	Bucket         string       `json:"bucket,omitempty"`
	Key            string       `json:"key,omitempty"`
	KMSKeyArn      string       `json:"kmsKeyArn,omitempty"`
	TopicArn       string       `json:"topicArn,omitempty"`
	FunctionArn    string       `json:"functionArn,omitempty"`
	InvocationType string       `json:"invocationType,omitempty"`
	Disposition    string       `json:"disposition,omitempty"`
	Header         string       `json:"header,omitempty"`
	Event          *EventRecord `json:"event,omitempty"` // the notification or invocation this action emitted
	Error          string       `json:"error,omitempty"`
	Note           string       `json:"note,omitempty"`
}

// subjectOf returns the first Subject field of a header block, its RFC 2047
// encoded words decoded when they can be.
func subjectOf(header []byte) string {
	for f := range HeaderFields(header) {
		if f.Name != nil && bytes.EqualFold(f.Name, []byte("Subject")) {
			v := f.Value()
			if dec, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
				return dec
			}
			return v
		}
	}
	return ""
}
