package receipt

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/encrypt"
)

// Encryption-context keys SES sends to KMS with GenerateDataKey. They are
// also the material description stored with the object, together with
// encrypt.ContextKeyCMKID.
const (
	ContextKeySourceAccount = "aws:ses:source-account"
	ContextKeyRuleName      = "aws:ses:rule-name"
	ContextKeyMessageID     = "aws:ses:message-id"
)

// ObjectStore is the part of the S3 API that Processor uses; *s3.Client and
// *fakes.S3 satisfy it.
type ObjectStore interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Message is one message received over SMTP.
type Message struct {
	From   string   // envelope sender; "" for the null sender <>
	To     []string // accepted envelope recipients, in RCPT order
	Data   []byte   // the message as received, dot-unstuffed
	Client Client

	// Frame, when set, is a buffer whose tail is Data, with free room
	// before Data (FrameHeadroom is enough) and FrameTailroom bytes of
	// capacity after it, that the caller gives Deliver to write in until it
	// returns. When one rule runs, SES's headers are then prepended and the
	// message encrypted in place: a large message is never copied.
	Frame []byte
}

// Room a Message's Frame should leave around Data: SES's headers take
// about 1.5 KB, and the GCM tag 16 bytes.
const (
	FrameHeadroom = 4096
	FrameTailroom = 16
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
	Verdicts   Verdicts     `json:"verdicts"`
	Reply      *Reply       `json:"reply,omitempty"`
	Rules      []RuleResult `json:"rules"`
	Bounces    []Bounce     `json:"bounces,omitempty"`
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

// Processor runs received messages through a rule set. It is the one place
// that orders the steps: match, work out the verdicts, prepend SES's
// headers, and run each matching rule's actions in order.
type Processor struct {
	rules    *RuleSet
	match    *matcher
	filters  *ipFilters
	sealer   *encrypt.Sealer
	store    ObjectStore
	hostname string

	// Events receives notifications and Lambda invocations; nil records
	// them only.
	Events Events
	// Bouncer sends the DSNs of BounceActions; nil records them only.
	Bouncer Bouncer
	// Journal records each message once it has its SMTP reply; nil keeps
	// nothing.
	Journal Journal
	// Envelopes chooses a rule's envelope variant; nil writes SES's.
	Envelopes Envelopes
	// Retry bounds retries of S3 and KMS calls; zero means DefaultRetry.
	Retry RetryPolicy
	// Now returns the time a message is received; nil means time.Now.
	Now func() time.Time
	// Rand feeds message IDs and the opaque SES headers; nil means
	// crypto/rand.
	Rand io.Reader
	// Log receives one debug line per action; nil discards.
	Log *slog.Logger
}

// NewProcessor returns a Processor for a validated rule set.
func NewProcessor(rules *RuleSet, sealer *encrypt.Sealer, store ObjectStore) *Processor {
	return &Processor{
		rules:    rules,
		match:    newMatcher(rules),
		filters:  newIPFilters(rules.Filters),
		sealer:   sealer,
		store:    store,
		hostname: Hostname(rules.Region),
	}
}

// Hostname is the name SES's receiving endpoint gives itself in a region.
func Hostname(region string) string {
	return "inbound-smtp." + region + ".amazonaws.com"
}

// Rules returns the rule set the processor runs.
func (p *Processor) Rules() *RuleSet { return p.rules }

// AcceptsConnection applies the IP address filters: it returns ErrBlocked
// for a client that a Block filter covers and no Allow filter does.
func (p *Processor) AcceptsConnection(ctx context.Context, addr netip.Addr) error {
	if name, blocked := p.filters.blocked(addr); blocked {
		return fmt.Errorf("client %s: filter %s: %w", addr, name, ErrBlocked)
	}
	return nil
}

// AcceptsRecipient returns nil when an enabled rule matches rcpt,
// ErrNoMatchingRule when none does (SES refuses such a recipient at RCPT
// time), and ErrTLSRequired when a matching rule has TlsPolicy Require and
// the client has not started TLS.
func (p *Processor) AcceptsRecipient(ctx context.Context, rcpt string, client Client) error {
	var buf [8]int
	rules := p.match.match(rcpt, buf[:0])
	if len(rules) == 0 {
		return fmt.Errorf("rcpt %s: %w", rcpt, ErrNoMatchingRule)
	}
	if !client.TLS {
		for _, i := range rules {
			if p.rules.Rules[i].TLSPolicy == TLSPolicyRequire {
				return fmt.Errorf("rcpt %s: rule %s: %w", rcpt, p.rules.Rules[i].Name, ErrTLSRequired)
			}
		}
	}
	return nil
}

// Deliver assigns msg an SES message ID and runs every enabled rule that
// matches one of its recipients, in order, each with the recipients it
// matched. It returns once every action has finished. An error means the
// message was not fully stored; objects written by earlier actions stay.
// Failures to deliver notifications are recorded, not returned: they never
// lose the stored mail.
func (p *Processor) Deliver(ctx context.Context, msg *Message) (*Result, error) {
	id, err := NewMessageID(p.Rand)
	if err != nil {
		return nil, err
	}
	data, controls := stripControlHeaders(msg.Data)
	d := &delivery{
		p: p,
		res: &Result{
			MessageID: id, Received: p.now(), From: msg.From, Recipients: msg.To,
			Client: msg.Client, Size: len(msg.Data),
		},
		data:     data,
		controls: controls,
	}
	plan := p.plan(msg.To)
	if len(plan) == 0 {
		return d.res, fmt.Errorf("deliver %s: %w", id, ErrNoMatchingRule)
	}
	if len(plan) == 1 && ownsTail(msg.Frame, data) {
		d.frame = msg.Frame // the only rule may write in it
	}
	scan := false
	for _, st := range plan {
		scan = scan || p.rules.Rules[st.rule].ScanEnabled
	}
	d.res.Verdicts = d.baseVerdicts(scan)
	d.hdrEnd = HeaderEnd(data)
	fields := ParseHeader(data[:d.hdrEnd])
	d.res.Subject = subject(fields)
	d.trace = trace{
		id:        id,
		at:        d.res.Received,
		from:      msg.From,
		helo:      msg.Client.Helo,
		client:    msg.Client.Addr,
		hostname:  p.hostname,
		fromHdr:   fromDomain(fields),
		randBytes: p.Rand,
	}
	if d.trace.fromHdr == "" {
		d.trace.fromHdr = domainOf(msg.From)
	}
	for _, step := range plan {
		rule := &p.rules.Rules[step.rule]
		r := &ruleRun{d: d, rule: rule, rcpts: step.rcpts, rr: &RuleResult{Name: rule.Name, Recipients: step.rcpts, Actions: []ActionResult{}}}
		stop, err := r.run(ctx)
		d.res.Rules = append(d.res.Rules, *r.rr)
		if err != nil {
			return d.res, err
		}
		if stop {
			break
		}
	}
	return d.res, nil
}

// ownsTail reports whether data is the tail of frame, with the tag's room
// after it; not so when control headers were stripped into a copy.
func ownsTail(frame, data []byte) bool {
	return len(data) > 0 && len(frame) >= len(data) && cap(frame)-len(frame) >= FrameTailroom &&
		&frame[len(frame)-len(data)] == &data[0]
}

// Replied finishes a message once its SMTP reply is known: it records the
// reply, and for a stored message sends the DSNs of its BounceActions in the
// background, since SES bounces after the SMTP conversation, never in it.
func (p *Processor) Replied(ctx context.Context, res *Result, code int, text string) {
	if res == nil {
		return
	}
	res.Reply = &Reply{Code: code, Text: text}
	if code != 250 {
		res.Bounces = nil // nothing was accepted, so nothing bounces
	}
	if p.Journal != nil {
		p.Journal.Record(res)
	}
	if len(res.Bounces) == 0 {
		return
	}
	// The record now belongs to this goroutine; it is recorded again once
	// every DSN has gone.
	go func() {
		ctx := context.WithoutCancel(ctx)
		for i := range res.Bounces {
			p.sendBounce(ctx, &res.Bounces[i])
		}
		if p.Journal != nil {
			p.Journal.Record(res)
		}
	}()
}

// delivery is the state of one message going through the rules.
type delivery struct {
	p        *Processor
	res      *Result
	data     []byte // the message as received, control headers removed
	frame    []byte // Message.Frame, when the only rule to run may write in it
	hdrEnd   int
	controls controls
	trace    trace
}

// step is one rule to run and the recipients it matched.
type step struct {
	rule  int
	rcpts []string
}

// plan groups the recipients by the rules that match them, in rule order.
func (p *Processor) plan(rcpts []string) []step {
	byRule := map[int][]string{}
	var order []int
	var buf []int
	for _, rc := range rcpts {
		buf = p.match.match(rc, buf[:0])
		for _, i := range buf {
			if _, ok := byRule[i]; !ok {
				order = append(order, i)
			}
			byRule[i] = append(byRule[i], rc)
		}
	}
	slices.Sort(order)
	plan := make([]step, len(order))
	for n, i := range order {
		plan[n] = step{rule: i, rcpts: byRule[i]}
	}
	return plan
}

// ObjectKey is where SES stores a message: the prefix, a slash unless the
// prefix is empty or already ends in one, and the message ID.
func ObjectKey(prefix, id string) string {
	if prefix == "" || strings.HasSuffix(prefix, "/") {
		return prefix + id
	}
	return prefix + "/" + id
}

// EncryptionContext is the context SES sends with GenerateDataKey and writes
// as the object's material description.
func EncryptionContext(accountID, ruleName, messageID, kmsKeyARN string) map[string]string {
	return map[string]string{
		ContextKeyMessageID:     messageID,
		ContextKeyRuleName:      ruleName,
		ContextKeySourceAccount: accountID,
		encrypt.ContextKeyCMKID: kmsKeyARN,
	}
}

// objectContentType is the Content-Type of stored messages: SES writes
// through the AWS SDK for Java, which labels a body of unknown type
// application/octet-stream, as the other SDKs do.
const objectContentType = "application/octet-stream"

// Envelopes chooses the envelope variant a rule writes (package faults).
type Envelopes interface {
	Envelope(rule string) encrypt.Variant
}

// storeS3 writes content as SES's S3 action does, in envelope variant v.
// With consume set it may encrypt content in place, leaving it unusable.
// Failures that may pass are retried within ctx; a configuration problem
// (missing bucket, disabled key) is logged as such.
func (p *Processor) storeS3(ctx context.Context, id, ruleName string, a *S3Action, content []byte, consume bool, v encrypt.Variant, ar *ActionResult) error {
	err := p.putS3(ctx, id, ruleName, a, content, consume, v, ar)
	if err != nil {
		ar.Error = err.Error()
		if IsConfigError(err) {
			p.logger().LogAttrs(ctx, slog.LevelError, "backend configuration problem: the S3 action cannot store mail until it is fixed",
				slog.String("msg_id", id), slog.String("rule", ruleName), slog.String("bucket", a.BucketName),
				slog.String("kms_key", a.KmsKeyArn), slog.Any("err", err))
		}
	}
	return err
}

func (p *Processor) putS3(ctx context.Context, id, ruleName string, a *S3Action, content []byte, consume bool, v encrypt.Variant, ar *ActionResult) error {
	key := ObjectKey(a.ObjectKeyPrefix, id)
	ar.Bucket, ar.Key, ar.KMSKeyArn = a.BucketName, key, a.KmsKeyArn
	in := &s3.PutObjectInput{Bucket: aws.String(a.BucketName), Key: aws.String(key), ContentType: aws.String(objectContentType)}
	body := content
	if a.KmsKeyArn != "" {
		var dst []byte
		if consume {
			dst = content[:0]
		}
		var env *encrypt.Envelope
		encCtx := EncryptionContext(p.rules.AccountID, ruleName, id, a.KmsKeyArn)
		err := p.retry(ctx, func() (err error) {
			env, err = p.sealer.SealVariant(ctx, a.KmsKeyArn, encCtx, dst, content, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("s3 action %s/%s: %w", a.BucketName, key, err)
		}
		body, in.Metadata = env.Body, env.Metadata
	}
	in.ContentLength = aws.Int64(int64(len(body)))
	err := p.retry(ctx, func() error {
		in.Body = bytes.NewReader(body) // a fresh reader for each attempt
		_, err := p.store.PutObject(ctx, in)
		return err
	})
	if err != nil {
		return fmt.Errorf("s3 action: put object %s/%s: %w", a.BucketName, key, err)
	}
	p.logger().LogAttrs(ctx, slog.LevelDebug, "stored", slog.String("msg_id", id),
		slog.String("rule", ruleName), slog.String("bucket", a.BucketName), slog.String("key", key),
		slog.Bool("encrypted", a.KmsKeyArn != ""), slog.String("variant", string(v)))
	return nil
}

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Processor) logger() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return discard
}

var discard = slog.New(slog.DiscardHandler)
