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
	"sync"
	"sync/atomic"
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

	// Snapshot is the configuration the message runs under: the one it
	// was accepted under at RCPT (Processor.Snapshot at MAIL). nil means
	// the current one.
	Snapshot *Snapshot

	// Frame, when set, holds Data as its content, with free room before
	// it (FrameHeadroom is enough) and FrameTailroom bytes of capacity
	// after it. The caller gives it to Deliver, which may write in it and
	// consume it: when one rule runs, SES's headers are prepended and the
	// message encrypted in place, so a large message is never copied.
	// After Deliver the frame's content is undefined.
	Frame *Frame
}

// Processor runs received messages through a rule set. It is the one place
// that orders the steps: match, work out the verdicts, prepend SES's
// headers, and run each matching rule's actions in order.
type Processor struct {
	cfg       atomic.Pointer[Snapshot] // the configuration in force
	accountID string                   // fixed for the processor's life, as the region is
	sealer    *encrypt.Sealer
	store     ObjectStore
	hostname  string

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
	// Retry bounds retries of S3 and KMS calls; zero means DefaultRetry().
	Retry RetryPolicy
	// Now returns the time a message is received; nil means time.Now.
	Now func() time.Time
	// Rand feeds message IDs, the opaque SES headers, DSN boundaries and
	// retry jitter; nil means crypto/rand. Messages are delivered
	// concurrently, so it must be safe for concurrent use (lock a
	// deterministic test reader).
	Rand io.Reader
	// Log receives one debug line per action; nil discards.
	Log *slog.Logger

	// contentPool recycles the buffers rules' contents are copied in.
	contentPool sync.Pool
}

// NewProcessor returns a Processor for a validated rule set.
func NewProcessor(rules *RuleSet, sealer *encrypt.Sealer, store ObjectStore) *Processor {
	p := &Processor{
		accountID: rules.AccountID,
		sealer:    sealer,
		store:     store,
		hostname:  Hostname(rules.Region),
	}
	p.SetRules(rules)
	return p
}

// Hostname is the name SES's receiving endpoint gives itself in a region.
func Hostname(region string) string {
	return "inbound-smtp." + region + ".amazonaws.com"
}

// Rules returns the rule set the processor runs now.
func (p *Processor) Rules() *RuleSet { return p.Snapshot().rules }

// AcceptsConnection applies the IP address filters in force now: it returns
// ErrBlocked for a client that a Block filter covers and no Allow filter
// does.
func (p *Processor) AcceptsConnection(ctx context.Context, addr netip.Addr) error {
	if name, blocked := p.Snapshot().blocked(addr); blocked {
		return fmt.Errorf("client %s: filter %s: %w", addr, name, ErrBlocked)
	}
	return nil
}

// AcceptsRecipient returns nil when an enabled rule matches rcpt,
// ErrNoMatchingRule when none does (SES refuses such a recipient at RCPT
// time), and ErrTLSRequired when a matching rule has TlsPolicy Require and
// the client has not started TLS. snap is the message's configuration (nil:
// the current one).
func (p *Processor) AcceptsRecipient(ctx context.Context, snap *Snapshot, rcpt string, client Client) error {
	if snap == nil {
		snap = p.Snapshot()
	}
	var buf [8]int
	rules := snap.match.match(rcpt, buf[:0])
	if len(rules) == 0 {
		return fmt.Errorf("rcpt %s: %w", rcpt, ErrNoMatchingRule)
	}
	if !client.TLS {
		for _, i := range rules {
			if snap.rules.Rules[i].TLSPolicy == TLSPolicyRequire {
				return fmt.Errorf("rcpt %s: rule %s: %w", rcpt, snap.rules.Rules[i].Name, ErrTLSRequired)
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
	snap := msg.Snapshot
	if snap == nil {
		snap = p.Snapshot()
	}
	data, controls, hdrEnd, fromHdr := scanHeader(msg.Data)
	d := &delivery{
		p: p,
		res: &Result{
			MessageID: id, Received: p.now(), From: msg.From, Recipients: msg.To,
			Client: msg.Client, Size: len(msg.Data), RuleSet: snap.RuleSetName(),
		},
		data:     data,
		hdrEnd:   hdrEnd,
		controls: controls,
	}
	d.res.Subject = subjectOf(data[:hdrEnd])
	plan := snap.plan(msg.To)
	if len(plan) == 0 {
		return d.res, fmt.Errorf("deliver %s: %w", id, ErrNoMatchingRule)
	}
	if len(plan) == 1 && msg.Frame != nil && msg.Frame.holds(data) {
		d.frame = msg.Frame // the only rule may write in it
	}
	scan := false
	for _, st := range plan {
		scan = scan || snap.rules.Rules[st.rule].ScanEnabled
	}
	d.res.Verdicts = d.baseVerdicts(scan)
	d.res.snapshot = snap
	d.trace = trace{
		id:        id,
		at:        d.res.Received,
		from:      msg.From,
		helo:      msg.Client.Helo,
		client:    msg.Client.Addr,
		hostname:  p.hostname,
		fromHdr:   fromHdr,
		randBytes: p.Rand,
	}
	if d.trace.fromHdr == "" {
		d.trace.fromHdr = domainOf(msg.From)
	}
	for _, step := range plan {
		rule := &snap.rules.Rules[step.rule]
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
	frame    *Frame // Message.Frame, when the only rule to run may write in it
	hdrEnd   int    // data[:hdrEnd] is the header block
	controls controls
	trace    trace
}

// step is one rule to run and the recipients it matched.
type step struct {
	rule  int
	rcpts []string
}

// plan groups the recipients by the rules that match them, in rule order.
func (s *Snapshot) plan(rcpts []string) []step {
	byRule := map[int][]string{}
	var order []int
	var buf []int
	for _, rc := range rcpts {
		buf = s.match.match(rc, buf[:0])
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
// With consume set it may consume content, encrypting it in place.
// Failures that may pass are retried within ctx.
func (p *Processor) storeS3(ctx context.Context, id, ruleName string, a *S3Action, content *Frame, consume bool, v encrypt.Variant, ar *ActionResult) error {
	err := p.putS3(ctx, id, ruleName, a, content, consume, v, ar)
	if err != nil {
		ar.Error = err.Error()
	}
	return err
}

func (p *Processor) putS3(ctx context.Context, id, ruleName string, a *S3Action, content *Frame, consume bool, v encrypt.Variant, ar *ActionResult) error {
	key := ObjectKey(a.ObjectKeyPrefix, id)
	ar.Bucket, ar.Key, ar.KMSKeyArn = a.BucketName, key, a.KmsKeyArn
	in := &s3.PutObjectInput{Bucket: aws.String(a.BucketName), Key: aws.String(key), ContentType: aws.String(objectContentType)}
	var body []byte
	if a.KmsKeyArn == "" {
		body = content.Bytes()
	} else {
		// Everything that can fail, and so be retried, comes before the
		// content is overwritten; sealing cannot fail.
		var dk *encrypt.Key
		encCtx := EncryptionContext(p.accountID, ruleName, id, a.KmsKeyArn)
		err := p.retry(ctx, func() (err error) {
			dk, err = p.sealer.NewKey(ctx, a.KmsKeyArn, encCtx, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("s3 action %s/%s: %w", a.BucketName, key, err)
		}
		var plain, dst []byte
		if consume {
			plain, dst = content.Consume()
		} else {
			plain = content.Bytes()
		}
		env := dk.Seal(dst, plain)
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
