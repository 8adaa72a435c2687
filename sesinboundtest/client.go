package sesinboundtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/internal/officialdecrypt"
	"github.com/sesinbound/sesinbound/receipt"
)

// DefaultWait bounds WaitFor when its context has no deadline.
const DefaultWait = 30 * time.Second

// maxPoll is the longest one long-poll request waits (the server's limit).
const maxPoll = 5 * time.Minute

// Client talks to one sesinbound: SMTP in, the record and the embedded S3
// and KMS out. It is safe for concurrent use.
type Client struct {
	endpoint string // the AWS endpoint, http://host:port
	smtpAddr string
	region   string
	token    string
	http     *http.Client
}

func newClient(endpoint, smtpAddr, region, token string) *Client {
	return &Client{endpoint: strings.TrimSuffix(endpoint, "/"), smtpAddr: smtpAddr, region: region, token: token,
		http: &http.Client{}}
}

// ConnectOption configures Connect.
type ConnectOption func(*Client)

// WithSMTPAddr says where the server's SMTP listener is; by default it is
// the endpoint's host with port 2525.
func WithSMTPAddr(addr string) ConnectOption { return func(c *Client) { c.smtpAddr = addr } }

// WithAdminToken is the server's --admin-token, sent with every call.
func WithAdminToken(token string) ConnectOption { return func(c *Client) { c.token = token } }

// WithRegion is the rules' region, for AWSConfig (us-east-1 by default).
func WithRegion(region string) ConnectOption { return func(c *Client) { c.region = region } }

// Connect returns a Client for the sesinbound whose AWS endpoint is
// endpoint (e.g. "http://127.0.0.1:4566"), once its health check answers.
func Connect(endpoint string, opts ...ConnectOption) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("sesinboundtest: connect %q: want the AWS endpoint's URL, such as http://127.0.0.1:4566", endpoint)
	}
	c := newClient(endpoint, net.JoinHostPort(u.Hostname(), "2525"), receipt.DefaultRegion, "")
	for _, o := range opts {
		o(c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"/_sesinbound/health", nil)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sesinboundtest: connect %s: %w", endpoint, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sesinboundtest: connect %s: health check answered %s: %s", endpoint, resp.Status, bytes.TrimSpace(body))
	}
	return c, nil
}

// SMTPAddr is the SMTP listener's host:port.
func (c *Client) SMTPAddr() string { return c.smtpAddr }

// Endpoint is the AWS endpoint's URL (the embedded S3 and KMS, and
// /_sesinbound/), for AWS_ENDPOINT_URL.
func (c *Client) Endpoint() string { return c.endpoint }

// AWSConfig is an aws.Config for the server's S3 and KMS: static
// credentials, the rules' region and the endpoint. With an IP address in
// the endpoint the S3 client uses path-style addressing by itself; with a
// host name set s3.Options.UsePathStyle.
func (c *Client) AWSConfig() aws.Config {
	return aws.Config{
		Region:       c.region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(c.endpoint),
	}
}

func (c *Client) s3() *s3.Client {
	return s3.NewFromConfig(c.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
}

func (c *Client) kms() *kms.Client { return kms.NewFromConfig(c.AWSConfig()) }

// Send delivers raw (a whole RFC 5322 message, CRLF or LF line endings)
// over SMTP from the envelope sender to the recipients, and returns the
// SES message ID from the 250 reply. A refusal is an *smtp.SMTPError,
// whose Code the test can check.
func (c *Client) Send(ctx context.Context, from string, to []string, raw []byte) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.smtpAddr)
	if err != nil {
		return "", fmt.Errorf("sesinboundtest: send: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	sc := smtp.NewClient(conn)
	defer sc.Close()
	if err := sc.Hello("sesinboundtest.localhost"); err != nil {
		return "", err
	}
	if err := sc.Mail(from, nil); err != nil {
		return "", err
	}
	for _, rcpt := range to {
		if err := sc.Rcpt(rcpt, nil); err != nil {
			return "", err
		}
	}
	w, err := sc.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write(raw); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	sc.Quit()
	// "OK <message id>", as SES answers; the ID is the last word.
	fields := strings.Fields(resp.StatusText)
	if len(fields) == 0 {
		return "", fmt.Errorf("sesinboundtest: send: a 250 without a message ID: %q", resp.StatusText)
	}
	return fields[len(fields)-1], nil
}

// Filter selects messages. Every field set must match.
type Filter struct {
	To      string // an envelope recipient, case-insensitive
	From    string // the envelope sender, case-insensitive
	Subject string // a substring of the Subject, case-insensitive
	Rule    string // a rule that ran
	ID      string // the SES message ID, as Send returns it
	// Bounced is a DSN status: the message has bounces, all of them in
	// it. "sent" waits until the DSNs have gone.
	Bounced string
	// After is a cursor (Message.Cursor, Client.Cursor): only newer
	// records count. Empty: records already kept count too.
	After string
}

func (f Filter) values() url.Values {
	v := url.Values{}
	for _, p := range []struct{ name, value string }{
		{"to", f.To}, {"from", f.From}, {"subject", f.Subject}, {"rule", f.Rule},
		{"id", f.ID}, {"bounced", f.Bounced}, {"after", f.After},
	} {
		if p.value != "" {
			v.Set(p.name, p.value)
		}
	}
	return v
}

// WaitFor returns the oldest processed message matching f, waiting on the
// server's long poll until one is: every rule and action run, every event
// emitted and the SMTP reply known. It waits until ctx ends, or DefaultWait
// when ctx has no deadline; then the error wraps
// context.DeadlineExceeded.
func (c *Client) WaitFor(ctx context.Context, f Filter) (*Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultWait)
		defer cancel()
	}
	start := time.Now()
	v := f.values()
	// The oldest match, one at a time: its cursor is then where the next
	// WaitFor with the same filter starts.
	if f.After == "" {
		v.Set("after", "0")
	}
	v.Set("limit", "1")
	for {
		dl, _ := ctx.Deadline()
		wait := min(time.Until(dl), maxPoll).Truncate(time.Millisecond)
		if wait <= 0 || ctx.Err() != nil {
			return nil, fmt.Errorf("sesinboundtest: no message matching %s after %v: %w", f, time.Since(start).Round(time.Millisecond), context.DeadlineExceeded)
		}
		v.Set("wait", wait.String())
		page, err := c.list(ctx, v)
		if errors.Is(err, errNoContent) {
			continue // the server's deadline came first; ours decides
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("sesinboundtest: no message matching %s after %v: %w", f, time.Since(start).Round(time.Millisecond), ctx.Err())
			}
			return nil, err
		}
		return page[0], nil
	}
}

// String describes f for error messages.
func (f Filter) String() string {
	if s := f.values().Encode(); s != "" {
		return s
	}
	return "(any)"
}

// Messages returns the processed messages matching f now, oldest first.
func (c *Client) Messages(ctx context.Context, f Filter) ([]*Message, error) {
	return c.list(ctx, f.values())
}

// Cursor is the server's newest cursor: a Filter with After set to it
// sees only messages processed from now on.
func (c *Client) Cursor(ctx context.Context) (string, error) {
	var body struct {
		Cursor string `json:"cursor"`
	}
	if err := c.getJSON(ctx, "/_sesinbound/messages?limit=1", &body); err != nil {
		return "", err
	}
	return body.Cursor, nil
}

var errNoContent = errors.New("no content")

func (c *Client) list(ctx context.Context, v url.Values) ([]*Message, error) {
	var body struct {
		Messages []json.RawMessage `json:"messages"`
		Cursor   string            `json:"cursor"`
	}
	if err := c.getJSON(ctx, "/_sesinbound/messages?"+v.Encode(), &body); err != nil {
		return nil, err
	}
	out := make([]*Message, len(body.Messages))
	for i, raw := range body.Messages {
		m, err := c.decode(raw)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	// Each message's cursor is where a wait for the next one starts.
	if len(out) > 0 {
		out[len(out)-1].Cursor = body.Cursor
	}
	return out, nil
}

// request is a request to the admin API at path, with the admin token if
// there is one (with --admin-token, reading needs it too).
func (c *Client) request(ctx context.Context, method, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

func (c *Client) getJSON(ctx context.Context, path string, dst any) error {
	req, err := c.request(ctx, http.MethodGet, path)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("sesinboundtest: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("sesinboundtest: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return json.Unmarshal(b, dst)
	case http.StatusNoContent:
		return errNoContent
	}
	return fmt.Errorf("sesinboundtest: GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
}

// Reset empties the server's record and deletes every object in its
// embedded S3; buckets, keys and rules stay.
func (c *Client) Reset(ctx context.Context) error {
	req, err := c.request(ctx, http.MethodPost, "/_sesinbound/reset")
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("sesinboundtest: reset: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sesinboundtest: reset: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// Message is one processed message: the record sesinbound keeps (the
// receipt.Result fields: envelope, client, verdicts, SMTP reply, every
// rule that ran with each action's outcome, the bounces), with what a
// test most often wants pulled out.
type Message struct {
	receipt.Result
	// ID is the SES message ID (Result.MessageID).
	ID string
	// Objects are what the S3 actions stored, in the order they ran.
	Objects []Object
	// Events are the notifications and Lambda invocations emitted, each
	// with its exact payload and where it went.
	Events []Event
	// JSON is the record exactly as GET /_sesinbound/messages/{id}
	// returns it.
	JSON json.RawMessage
	// Cursor is where a Filter's After starts to see only later messages
	// (with the same filter: messages that did not match it may lie
	// between). WaitFor sets it; Messages, on the last message only.
	Cursor string

	c *Client
}

// Object is one stored copy of the message.
type Object struct {
	Rule      string
	Bucket    string
	Key       string
	KMSKeyArn string // "" when stored unencrypted
}

// Event is one notification or invocation an action emitted.
type Event struct {
	Rule   string
	Action string // SNSAction, LambdaAction, S3Action (its topic), ...
	receipt.EventRecord
}

func (c *Client) decode(raw json.RawMessage) (*Message, error) {
	m := &Message{JSON: raw, c: c}
	if err := json.Unmarshal(raw, &m.Result); err != nil {
		return nil, fmt.Errorf("sesinboundtest: decode record: %w", err)
	}
	m.ID = m.MessageID
	for _, r := range m.Rules {
		for _, a := range r.Actions {
			if a.Type == "S3Action" && a.Error == "" && a.Key != "" {
				m.Objects = append(m.Objects, Object{Rule: r.Name, Bucket: a.Bucket, Key: a.Key, KMSKeyArn: a.KMSKeyArn})
			}
			if a.Event != nil {
				m.Events = append(m.Events, Event{Rule: r.Name, Action: a.Type, EventRecord: *a.Event})
			}
		}
	}
	return m, nil
}

// Decrypted returns the first stored object's content, decrypted through
// the official Go S3 Encryption Client as a user's decryptor would: the
// message as SES stores it, its headers (Received, X-SES-*) prepended.
func (m *Message) Decrypted(ctx context.Context) ([]byte, error) {
	if len(m.Objects) == 0 {
		return nil, fmt.Errorf("sesinboundtest: message %s: no S3 action stored it", m.ID)
	}
	return m.DecryptedObject(ctx, m.Objects[0])
}

// DecryptedObject is Decrypted for one of m.Objects.
func (m *Message) DecryptedObject(ctx context.Context, o Object) ([]byte, error) {
	body, err := officialdecrypt.Get(ctx, m.c.s3(), m.c.kms(), o.Bucket, o.Key)
	if err != nil {
		return nil, fmt.Errorf("sesinboundtest: s3://%s/%s: %w", o.Bucket, o.Key, err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("sesinboundtest: decrypt s3://%s/%s: %w", o.Bucket, o.Key, err)
	}
	return b, nil
}
