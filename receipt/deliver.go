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
}

// Client describes the SMTP client that sent a message.
type Client struct {
	Addr netip.Addr
	Helo string
	TLS  bool
}

// Result says what Deliver did with a message.
type Result struct {
	MessageID string
	Received  time.Time
	Rules     []RuleResult
}

// RuleResult is one rule that ran, with the recipients it matched.
type RuleResult struct {
	Name       string
	Recipients []string
	Actions    []ActionResult
}

// ActionResult is one action that ran.
type ActionResult struct {
	Type   string // the API name: S3Action, StopAction, ...
	Bucket string `json:",omitempty"`
	Key    string `json:",omitempty"`
	KMSKey string `json:",omitempty"`
	Error  string `json:",omitempty"`
}

// Processor runs received messages through a rule set. It is the one place
// that orders the steps: match, prepend SES's headers, and run each matching
// rule's actions in order.
type Processor struct {
	rules    *RuleSet
	match    *matcher
	sealer   *encrypt.Sealer
	store    ObjectStore
	hostname string

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

// AcceptsRecipient returns nil when an enabled rule matches rcpt, and
// ErrNoMatchingRule otherwise. SES refuses such a recipient at RCPT time.
func (p *Processor) AcceptsRecipient(ctx context.Context, rcpt string) error {
	var buf [8]int
	if len(p.match.match(rcpt, buf[:0])) == 0 {
		return fmt.Errorf("rcpt %s: %w", rcpt, ErrNoMatchingRule)
	}
	return nil
}

// Deliver assigns msg an SES message ID and runs every enabled rule that
// matches one of its recipients, in order, each with the recipients it
// matched. It returns once every action has finished; an error means the
// message was not fully stored, and objects written by earlier actions stay.
func (p *Processor) Deliver(ctx context.Context, msg *Message) (*Result, error) {
	id, err := NewMessageID(p.Rand)
	if err != nil {
		return nil, err
	}
	res := &Result{MessageID: id, Received: p.now()}
	plan := p.plan(msg.To)
	if len(plan) == 0 {
		return res, fmt.Errorf("deliver %s: %w", id, ErrNoMatchingRule)
	}
	hdrEnd := HeaderEnd(msg.Data)
	fields := ParseHeader(msg.Data[:hdrEnd])
	base := trace{
		id:        id,
		at:        res.Received,
		from:      msg.From,
		helo:      msg.Client.Helo,
		client:    msg.Client.Addr,
		hostname:  p.hostname,
		fromHdr:   fromDomain(fields),
		bodyHash:  bodyHash(msg.Data, hdrEnd),
		randBytes: p.Rand,
		verdicts:  Verdicts{Spam: VerdictPass, Virus: VerdictPass, SPF: VerdictPass, DKIM: VerdictPass, DMARC: VerdictPass},
	}
	if base.fromHdr == "" {
		base.fromHdr = domainOf(msg.From)
	}
	for _, step := range plan {
		rule := &p.rules.Rules[step.rule]
		rr := RuleResult{Name: rule.Name, Recipients: step.rcpts}
		stop, err := p.runRule(ctx, &base, rule, step.rcpts, msg.Data, &rr)
		res.Rules = append(res.Rules, rr)
		if err != nil {
			return res, err
		}
		if stop {
			break
		}
	}
	return res, nil
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
	// order holds rule indices in first-seen order; rules run in set order.
	slices.Sort(order)
	plan := make([]step, len(order))
	for n, i := range order {
		plan[n] = step{rule: i, rcpts: byRule[i]}
	}
	return plan
}

// runRule runs one rule's actions in order and reports whether a StopAction
// ended the rule set.
func (p *Processor) runRule(ctx context.Context, base *trace, rule *Rule, rcpts []string, data []byte, rr *RuleResult) (stop bool, err error) {
	t := *base
	t.rcpt = rcpts[0]
	t.scan = rule.ScanEnabled
	if !rule.ScanEnabled {
		t.verdicts.Spam, t.verdicts.Virus = VerdictDisabled, VerdictDisabled
	}
	// The stored message: SES's headers, then the message as received. Room
	// for the GCM tag is reserved so that the last action can encrypt it in
	// place.
	content := make([]byte, 0, len(data)+2048+encrypt.TagSize)
	if content, err = t.appendSESHeaders(content); err != nil {
		return false, err
	}
	content = append(content, data...)
	last := lastContentUse(rule)
	for i := range rule.Actions {
		a := &rule.Actions[i]
		ar := ActionResult{Type: a.Type()}
		switch {
		case a.S3Action != nil:
			err = p.storeS3(ctx, t.id, rule.Name, a.S3Action, content, i == last, &ar)
		case a.StopAction != nil:
			stop = true
		}
		rr.Actions = append(rr.Actions, ar)
		if err != nil {
			return false, err
		}
		if stop {
			return true, nil
		}
	}
	return false, nil
}

// lastContentUse returns the index of the rule's last action that reads the
// message content; that action may consume the buffer.
func lastContentUse(rule *Rule) int {
	last := -1
	for i, a := range rule.Actions {
		if a.S3Action != nil {
			last = i
		}
	}
	return last
}

// objectContentType is the Content-Type of stored messages.
const objectContentType = "application/octet-stream"

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

// storeS3 writes content as SES's S3 action does. With consume set it may
// encrypt content in place.
func (p *Processor) storeS3(ctx context.Context, id, ruleName string, a *S3Action, content []byte, consume bool, ar *ActionResult) error {
	key := ObjectKey(a.ObjectKeyPrefix, id)
	ar.Bucket, ar.Key, ar.KMSKey = a.BucketName, key, a.KmsKeyArn
	// SES writes through the AWS SDK for Java, which labels a body of
	// unknown type application/octet-stream; so do the other SDKs.
	in := &s3.PutObjectInput{Bucket: aws.String(a.BucketName), Key: aws.String(key), ContentType: aws.String(objectContentType)}
	body := content
	if a.KmsKeyArn != "" {
		var dst []byte
		if consume {
			dst = content[:0]
		}
		env, err := p.sealer.Seal(ctx, a.KmsKeyArn, EncryptionContext(p.rules.AccountID, ruleName, id, a.KmsKeyArn), dst, content)
		if err != nil {
			ar.Error = err.Error()
			return fmt.Errorf("s3 action %s/%s: %w", a.BucketName, key, err)
		}
		body, in.Metadata = env.Body, env.Metadata
	}
	in.Body = bytes.NewReader(body)
	in.ContentLength = aws.Int64(int64(len(body)))
	if _, err := p.store.PutObject(ctx, in); err != nil {
		ar.Error = err.Error()
		return fmt.Errorf("s3 action: put object %s/%s: %w", a.BucketName, key, err)
	}
	p.logger().LogAttrs(ctx, slog.LevelDebug, "stored", slog.String("msg_id", id),
		slog.String("rule", ruleName), slog.String("bucket", a.BucketName), slog.String("key", key),
		slog.Bool("encrypted", a.KmsKeyArn != ""))
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
