package receipt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sesinbound/sesinbound/encrypt"
)

// Limits SES applies to actions.
const (
	// MaxSNSContentBytes is the largest message an SNSAction publishes.
	MaxSNSContentBytes = 150 << 10
	// LambdaTimeout bounds a RequestResponse invocation.
	LambdaTimeout = 30 * time.Second
	// eventTimeout bounds the delivery of a notification or an Event
	// invocation, so a stuck receiver cannot hold the SMTP reply.
	eventTimeout = 10 * time.Second
)

// Lambda dispositions, matched case-insensitively (AWS's own example
// returns "stop_rule_set").
const (
	DispositionContinue    = "CONTINUE"
	DispositionStopRule    = "STOP_RULE"
	DispositionStopRuleSet = "STOP_RULE_SET"
)

// contentPool recycles the buffers messages are assembled in.
var contentPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// maxPooledContent keeps huge buffers out of the pool.
const maxPooledContent = 4 << 20

// ruleRun is one rule running over one message.
type ruleRun struct {
	d       *delivery
	rule    *Rule
	rcpts   []string
	rr      *RuleResult
	content []byte      // the message as this rule stores it
	mail    *MailObject // content's mail object, built on first use
}

// run runs the rule's actions in order and reports whether the rule set
// must stop (StopAction, or a Lambda's STOP_RULE_SET).
func (r *ruleRun) run(ctx context.Context) (stopSet bool, err error) {
	t := r.d.trace
	t.rcpt = r.rcpts[0]
	t.scan = r.rule.ScanEnabled
	t.verdicts = r.d.res.Verdicts.forRule(r.rule)
	release, err := r.assemble(&t)
	if err != nil {
		return false, err
	}
	defer release()
	last := r.lastContentUse()
	for i := range r.rule.Actions {
		a := &r.rule.Actions[i]
		ar := ActionResult{Type: a.Type()}
		stopRule := false
		switch {
		case a.S3Action != nil:
			err = r.s3(ctx, a.S3Action, i == last, &ar)
		case a.SNSAction != nil:
			r.sns(ctx, a.SNSAction, &ar)
		case a.LambdaAction != nil:
			stopRule, stopSet = r.lambda(ctx, a.LambdaAction, &ar)
		case a.BounceAction != nil:
			r.bounce(ctx, a.BounceAction, &ar)
		case a.AddHeaderAction != nil:
			r.addHeader(a.AddHeaderAction, &ar)
		case a.StopAction != nil:
			r.notify(ctx, a.StopAction.TopicArn, ActionObject{Type: "Stop", TopicArn: a.StopAction.TopicArn}, nil, &ar)
			stopSet = true
		case a.WorkmailAction != nil:
			ar.Note = "WorkMail is not emulated; the action is recorded"
			r.notify(ctx, a.WorkmailAction.TopicArn, ActionObject{Type: "WorkMail", TopicArn: a.WorkmailAction.TopicArn,
				OrganizationArn: a.WorkmailAction.OrganizationArn}, nil, &ar)
		case a.ConnectAction != nil:
			ar.Note = "Amazon Connect is not emulated; the action is recorded"
		}
		if ar.Note != "" {
			r.d.p.logger().LogAttrs(ctx, slog.LevelInfo, ar.Note, slog.String("msg_id", r.d.res.MessageID), slog.String("rule", r.rule.Name))
		}
		r.rr.Actions = append(r.rr.Actions, ar)
		if err != nil {
			return false, err
		}
		if stopSet || stopRule {
			return stopSet, nil
		}
	}
	return false, nil
}

// assemble builds the rule's content: SES's headers, then the message, with
// room for the GCM tag after it so that the last reader of the content can
// encrypt it in place. When Deliver lent it the message's own frame, the
// headers go in the frame's headroom and nothing is copied. Otherwise the
// content is a copy in a pooled buffer, which release gives back: every
// action copies what it keeps (S3 stores a copy, notifications encode one).
func (r *ruleRun) assemble(t *trace) (release func(), err error) {
	bp := contentPool.Get().(*[]byte)
	buf := (*bp)[:0]
	release = func() {
		if cap(buf) <= maxPooledContent {
			*bp = buf[:0]
			contentPool.Put(bp)
		}
	}
	if buf, err = t.appendSESHeaders(buf); err != nil {
		release()
		return nil, err
	}
	if f := r.d.frame; f != nil {
		if room := len(f) - len(r.d.data); len(buf) <= room {
			start := room - len(buf)
			copy(f[start:room], buf)
			r.content = f[start:]
			return release, nil
		}
	}
	if need := len(buf) + len(r.d.data) + FrameTailroom; cap(buf) < need {
		nb := make([]byte, len(buf), need)
		copy(nb, buf)
		buf = nb
	}
	r.content = append(buf, r.d.data...)
	return release, nil
}

// variant is the envelope this rule writes: the message's control header,
// else the rule's configured variant, else SES's own.
func (r *ruleRun) variant() encrypt.Variant {
	if v, ok := r.d.controls[ctlEnvelope]; ok {
		if v := encrypt.Variant(strings.ToLower(v)); slices.Contains(encrypt.Variants(), v) {
			return v
		}
		r.d.p.logger().Warn("ignoring an unknown envelope variant in X-SESInbound-Envelope", slog.String("msg_id", r.d.res.MessageID), slog.String("variant", v))
	}
	if r.d.p.Envelopes != nil {
		return r.d.p.Envelopes.Envelope(r.rule.Name)
	}
	return encrypt.VariantSES
}

// lastContentUse returns the index of the last action that reads the
// content, or -1; only that action may consume the buffer.
func (r *ruleRun) lastContentUse() int {
	last := -1
	for i, a := range r.rule.Actions {
		switch {
		case a.StopAction != nil && a.StopAction.TopicArn == "",
			a.WorkmailAction != nil && a.WorkmailAction.TopicArn == "",
			a.ConnectAction != nil:
		default:
			last = i
		}
	}
	return last
}

func (r *ruleRun) s3(ctx context.Context, a *S3Action, consume bool, ar *ActionResult) error {
	if a.TopicArn != "" {
		r.mailObject() // before the content may be encrypted in place
	}
	if err := r.d.p.storeS3(ctx, r.d.res.MessageID, r.rule.Name, a, r.content, consume, r.variant(), ar); err != nil {
		return err
	}
	if consume {
		r.content = nil
	}
	prefix := a.ObjectKeyPrefix
	r.notify(ctx, a.TopicArn, ActionObject{Type: "S3", TopicArn: a.TopicArn, BucketName: a.BucketName,
		ObjectKeyPrefix: &prefix, ObjectKey: ar.Key}, nil, ar)
	return nil
}

func (r *ruleRun) sns(ctx context.Context, a *SNSAction, ar *ActionResult) {
	ar.TopicArn = a.TopicArn
	if len(r.content) > MaxSNSContentBytes {
		// SES documents that larger mail bounces; users report that
		// nothing arrives at all. Either way the topic gets nothing.
		ar.Error = fmt.Sprintf("the message is %d bytes; SNS actions publish at most %d (150 KB), so nothing was published", len(r.content), MaxSNSContentBytes)
		r.d.p.logger().LogAttrs(ctx, slog.LevelWarn, "sns action skipped: message over 150 KB",
			slog.String("msg_id", r.d.res.MessageID), slog.String("rule", r.rule.Name), slog.Int("size", len(r.content)))
		return
	}
	var content, encoding string
	if a.Encoding == EncodingBase64 {
		content, encoding = base64.StdEncoding.EncodeToString(r.content), "BASE64"
	} else {
		content, encoding = string(r.content), "UTF8"
	}
	r.notify(ctx, a.TopicArn, ActionObject{Type: "SNS", TopicArn: a.TopicArn, Encoding: encoding}, &content, ar)
}

func (r *ruleRun) lambda(ctx context.Context, a *LambdaAction, ar *ActionResult) (stopRule, stopSet bool) {
	ar.FunctionArn, ar.InvocationType = a.FunctionArn, a.InvocationType
	action := ActionObject{Type: "Lambda", TopicArn: a.TopicArn, FunctionArn: a.FunctionArn, InvocationType: a.InvocationType}
	event := Event{Records: []EventRecordSES{{EventSource: "aws:ses", EventVersion: "1.0",
		SES: EventSES{Mail: r.mailObject(), Receipt: r.receiptObject(action)}}}}
	payload := marshal(event)
	rec := &EventRecord{Target: a.FunctionArn, Payload: payload, Delivery: DeliveryRecorded}
	ar.Event = rec
	if ev := r.d.p.Events; ev != nil {
		timeout := eventTimeout
		if a.InvocationType == InvocationRequestResponse {
			timeout = LambdaTimeout
		}
		ictx, cancel := context.WithTimeout(ctx, timeout)
		delivery, reply, err := ev.Invoke(ictx, a.FunctionArn, a.InvocationType, payload)
		cancel()
		rec.Delivery = delivery
		if err != nil {
			rec.Error = err.Error()
			r.d.p.logger().LogAttrs(ctx, slog.LevelWarn, "lambda invocation failed", slog.String("msg_id", r.d.res.MessageID),
				slog.String("rule", r.rule.Name), slog.String("function", a.FunctionArn), slog.Any("err", err))
		}
		if a.InvocationType == InvocationRequestResponse && len(reply) > 0 {
			if json.Valid(reply) {
				rec.Reply = reply
			}
			ar.Disposition = disposition(reply)
		}
	}
	r.notify(ctx, a.TopicArn, action, nil, ar)
	switch ar.Disposition {
	case DispositionStopRule:
		return true, false
	case DispositionStopRuleSet:
		return false, true
	}
	return false, false
}

// disposition reads a RequestResponse function's answer; anything but
// STOP_RULE or STOP_RULE_SET, in any case, means CONTINUE.
func disposition(reply []byte) string {
	var out struct {
		Disposition string `json:"disposition"`
	}
	if json.Unmarshal(reply, &out) != nil {
		return DispositionContinue
	}
	switch d := strings.ToUpper(strings.TrimSpace(out.Disposition)); d {
	case DispositionStopRule, DispositionStopRuleSet:
		return d
	}
	return DispositionContinue
}

func (r *ruleRun) bounce(ctx context.Context, a *BounceAction, ar *ActionResult) {
	b := Bounce{
		Rule: r.rule.Name, Sender: a.Sender, To: r.d.res.From, Recipients: r.rcpts,
		SMTPReplyCode: a.SmtpReplyCode, StatusCode: a.StatusCode, Message: a.Message, Status: BouncePending,
	}
	b.DSN = string(r.d.buildDSN(a, r.rcpts, r.content))
	r.d.res.Bounces = append(r.d.res.Bounces, b)
	r.notify(ctx, a.TopicArn, ActionObject{Type: "Bounce", TopicArn: a.TopicArn, SMTPReplyCode: a.SmtpReplyCode,
		StatusCode: a.StatusCode, Message: a.Message, Sender: a.Sender}, nil, ar)
}

// addHeader appends a header at the end of the header block, where the
// rule's later actions see it (SES's placement: after the last original
// header, before the blank line).
func (r *ruleRun) addHeader(a *AddHeaderAction, ar *ActionResult) {
	ar.Header = a.HeaderName + ": " + a.HeaderValue
	end := HeaderEnd(r.content)
	r.content = slices.Insert(r.content, end, []byte(ar.Header+"\r\n")...)
	r.mail = nil
}

// mailObject returns the notification's mail object for the content as it
// is now.
func (r *ruleRun) mailObject() MailObject {
	if r.mail == nil {
		m := newMailObject(r.d.res.MessageID, r.d.res.Received, r.d.res.From, r.content)
		r.mail = &m
	}
	return *r.mail
}

func (r *ruleRun) receiptObject(action ActionObject) ReceiptObject {
	v := r.d.res.Verdicts.forRule(r.rule)
	return ReceiptObject{
		Timestamp:            r.d.res.Received.UTC().Format(timestampFormat),
		ProcessingTimeMillis: r.d.p.now().Sub(r.d.res.Received).Milliseconds(),
		Recipients:           r.rcpts,
		SpamVerdict:          VerdictObject{v.Spam},
		VirusVerdict:         VerdictObject{v.Virus},
		SPFVerdict:           VerdictObject{v.SPF},
		DKIMVerdict:          VerdictObject{v.DKIM},
		DMARCVerdict:         VerdictObject{v.DMARC},
		DMARCPolicy:          v.DMARCPolicy,
		Action:               action,
	}
}

// notify publishes a Received notification about action to topicArn, if
// the action names a topic, and records it on ar.
func (r *ruleRun) notify(ctx context.Context, topicArn string, action ActionObject, content *string, ar *ActionResult) {
	if topicArn == "" {
		return
	}
	ar.TopicArn = topicArn
	n := Notification{NotificationType: "Received", Mail: r.mailObject(), Receipt: r.receiptObject(action), Content: content}
	ar.Event = r.d.p.publish(ctx, r.d.res.MessageID, topicArn, marshal(n))
}

// publish hands a notification to Events and records the outcome.
func (p *Processor) publish(ctx context.Context, msgID, topicArn string, payload []byte) *EventRecord {
	rec := &EventRecord{Target: topicArn, Payload: payload, Delivery: DeliveryRecorded}
	if p.Events == nil {
		return rec
	}
	ctx, cancel := context.WithTimeout(ctx, eventTimeout)
	defer cancel()
	delivery, err := p.Events.Publish(ctx, topicArn, payload)
	rec.Delivery = delivery
	if err != nil {
		rec.Error = err.Error()
		p.logger().LogAttrs(ctx, slog.LevelWarn, "notification not delivered", slog.String("msg_id", msgID),
			slog.String("topic", topicArn), slog.Any("err", err))
	}
	return rec
}

// marshal encodes JSON as SES does: compact, and without Go's escaping of
// <, > and &, which would mangle addresses like "Peter <p@example.com>".
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // the types here always encode
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
