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

// maxPooledContent keeps huge buffers out of the pool.
const maxPooledContent = 4 << 20

// ruleRun is one rule running over one message.
type ruleRun struct {
	d       *delivery
	rule    *Rule
	rcpts   []string
	rr      *RuleResult
	content *Frame      // the message as this rule stores it
	copied  Frame       // content, when it is a copy
	mail    *MailObject // content's mail object, built on first use
	action  int         // the index of the action running
	last    int         // the index of the last action that reads content, or -1
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
	r.last = -1
	for i := range r.rule.Actions {
		if m, _ := r.rule.Actions[i].member(); m != nil && m.readsContent() {
			r.last = i
		}
	}
	for i := range r.rule.Actions {
		m, _ := r.rule.Actions[i].member()
		if m == nil {
			continue // not in a validated rule set
		}
		r.action = i
		ar := ActionResult{Type: m.name()}
		stopRule, stopSet, err := m.run(ctx, r, &ar)
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

// mayConsume reports whether the running action is the last to read the
// content, and so may consume it.
func (r *ruleRun) mayConsume() bool { return r.action == r.last }

// assemble builds the rule's content: SES's headers, then the message, with
// room for the GCM tag after it so that the last reader of the content can
// encrypt it in place. When Deliver lent it the message's own frame, the
// headers go in the frame's free room and nothing is copied. Otherwise the
// content is a copy in a pooled buffer, which release gives back: every
// action copies what it keeps (S3 stores a copy, notifications encode one).
func (r *ruleRun) assemble(t *trace) (release func(), err error) {
	pool := &r.d.p.contentPool
	bp, _ := pool.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 32<<10)
		bp = &b
	}
	buf := (*bp)[:copyHeadroom]
	release = func() {
		if cap(buf) <= maxPooledContent {
			*bp = buf[:0]
			pool.Put(bp)
		}
	}
	if buf, err = t.appendSESHeaders(buf); err != nil {
		release()
		return nil, err
	}
	ses := buf[copyHeadroom:]
	if f := r.d.frame; f != nil && f.prepend(ses, r.d.hdrEnd) {
		r.content = f
		return release, nil
	}
	if need := len(buf) + len(r.d.data) + FrameTailroom; cap(buf) < need {
		nb := make([]byte, len(buf), need)
		copy(nb, buf)
		buf = nb
	}
	buf = append(buf, r.d.data...)
	r.copied = Frame{buf: buf, off: copyHeadroom, hdr: len(ses) + r.d.hdrEnd}
	r.content = &r.copied
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

func (a *S3Action) run(ctx context.Context, r *ruleRun, ar *ActionResult) (stopRule, stopSet bool, err error) {
	if a.TopicArn != "" {
		r.mailObject() // before the content may be encrypted in place
	}
	if err := r.d.p.storeS3(ctx, r.d.res.MessageID, r.rule.Name, a, r.content, r.mayConsume(), r.variant(), ar); err != nil {
		return false, false, err
	}
	prefix := a.ObjectKeyPrefix
	r.notify(ctx, a.TopicArn, ActionObject{Type: "S3", TopicArn: a.TopicArn, BucketName: a.BucketName,
		ObjectKeyPrefix: &prefix, ObjectKey: ar.Key}, nil, ar)
	return false, false, nil
}

func (a *SNSAction) run(ctx context.Context, r *ruleRun, ar *ActionResult) (stopRule, stopSet bool, err error) {
	ar.TopicArn = a.TopicArn
	body := r.content.Bytes()
	if len(body) > MaxSNSContentBytes {
		// SES documents that larger mail bounces; users report that
		// nothing arrives at all. Either way the topic gets nothing.
		ar.Error = fmt.Sprintf("the message is %d bytes; SNS actions publish at most %d (150 KB), so nothing was published", len(body), MaxSNSContentBytes)
		r.d.p.logger().LogAttrs(ctx, slog.LevelWarn, "sns action skipped: message over 150 KB",
			slog.String("msg_id", r.d.res.MessageID), slog.String("rule", r.rule.Name), slog.Int("size", len(body)))
		return false, false, nil
	}
	var content, encoding string
	if a.Encoding == EncodingBase64 {
		content, encoding = base64.StdEncoding.EncodeToString(body), "BASE64"
	} else {
		content, encoding = string(body), "UTF8"
	}
	r.notify(ctx, a.TopicArn, ActionObject{Type: "SNS", TopicArn: a.TopicArn, Encoding: encoding}, &content, ar)
	return false, false, nil
}

func (a *LambdaAction) run(ctx context.Context, r *ruleRun, ar *ActionResult) (stopRule, stopSet bool, err error) {
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
		return true, false, nil
	case DispositionStopRuleSet:
		return false, true, nil
	}
	return false, false, nil
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

func (a *BounceAction) run(ctx context.Context, r *ruleRun, ar *ActionResult) (stopRule, stopSet bool, err error) {
	b := Bounce{
		Rule: r.rule.Name, Sender: a.Sender, To: r.d.res.From, Recipients: r.rcpts,
		SMTPReplyCode: a.SmtpReplyCode, StatusCode: a.StatusCode, Message: a.Message, Status: BouncePending,
	}
	b.DSN = string(r.d.buildDSN(a, r.rcpts, r.content.Header()))
	r.d.res.Bounces = append(r.d.res.Bounces, b)
	r.notify(ctx, a.TopicArn, ActionObject{Type: "Bounce", TopicArn: a.TopicArn, SMTPReplyCode: a.SmtpReplyCode,
		StatusCode: a.StatusCode, Message: a.Message, Sender: a.Sender}, nil, ar)
	return false, false, nil
}

// run appends a header at the end of the header block, where the rule's
// later actions see it (SES's placement: after the last original header,
// before the blank line).
func (a *AddHeaderAction) run(_ context.Context, r *ruleRun, ar *ActionResult) (stopRule, stopSet bool, err error) {
	ar.Header = a.HeaderName + ": " + a.HeaderValue
	r.content.insertHeader([]byte(ar.Header + "\r\n"))
	r.mail = nil
	return false, false, nil
}

func (a *StopAction) run(ctx context.Context, r *ruleRun, ar *ActionResult) (stopRule, stopSet bool, err error) {
	r.notify(ctx, a.TopicArn, ActionObject{Type: "Stop", TopicArn: a.TopicArn}, nil, ar)
	return false, true, nil
}

func (a *WorkmailAction) run(ctx context.Context, r *ruleRun, ar *ActionResult) (stopRule, stopSet bool, err error) {
	ar.Note = "WorkMail is not emulated; the action is recorded"
	r.notify(ctx, a.TopicArn, ActionObject{Type: "WorkMail", TopicArn: a.TopicArn, OrganizationArn: a.OrganizationArn}, nil, ar)
	return false, false, nil
}

func (a *ConnectAction) run(_ context.Context, _ *ruleRun, ar *ActionResult) (stopRule, stopSet bool, err error) {
	ar.Note = "Amazon Connect is not emulated; the action is recorded"
	return false, false, nil
}

// mailObject returns the notification's mail object for the content as it
// is now.
func (r *ruleRun) mailObject() MailObject {
	if r.mail == nil {
		m := newMailObject(r.d.res.MessageID, r.d.res.Received, r.d.res.From, r.content.Header())
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
