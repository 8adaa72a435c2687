package receipt

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/fakes"
)

// constReader is a fixed Rand: every byte it reads is the same.
type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// permutations returns every distinct order of the letters of s.
func permutations(s string) []string {
	if len(s) <= 1 {
		return []string{s}
	}
	seen := map[string]bool{}
	var out []string
	for i := range s {
		for _, rest := range permutations(s[:i] + s[i+1:]) {
			if p := s[i:i+1] + rest; !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// TestFrameActionOrders runs the actions that read or change the content in
// every order, on a message handed over in a frame and as a bare copy, with
// S3 actions encrypting or not, and checks that every stored object opens
// to exactly the content the action saw: SES's headers, the message, and
// the headers added by the AddHeaderActions before it. Letters: H an
// AddHeaderAction, S an S3Action, T an S3Action with a topic (its
// notification is built before the content may be encrypted in place), N
// an SNSAction (it publishes the content), B a BounceAction (its DSN quotes
// the header). A trailing X is a StopAction without a topic, which reads
// nothing, so the last S3 action before it may consume the content.
func TestFrameActionOrders(t *testing.T) {
	const (
		account = "111122223333"
		kmsKey  = "arn:aws:kms:us-east-1:111122223333:alias/aws/ses"
		topic   = "arn:aws:sns:us-east-1:111122223333:inbound"
		header  = "From: Sender <sender@example.org>\r\nTo: inbox@example.com\r\nSubject: orders\r\n"
		body    = "\r\nthe body\r\n"
	)
	now := time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)
	client := Client{Addr: netip.MustParseAddr("192.0.2.7"), Helo: "mx.example.org"}
	var orders []string
	for _, o := range permutations("HHSTNB") {
		orders = append(orders, o)
		if strings.HasSuffix(o, "S") || strings.HasSuffix(o, "T") {
			orders = append(orders, o+"X")
		}
	}
	for _, order := range orders {
		for _, framed := range []bool{true, false} {
			for _, sealed := range []bool{true, false} {
				name := fmt.Sprintf("%s/framed=%v/kms=%v", order, framed, sealed)
				key := ""
				if sealed {
					key = kmsKey
				}
				var actions []Action
				for i, c := range order {
					switch c {
					case 'H':
						actions = append(actions, Action{AddHeaderAction: &AddHeaderAction{HeaderName: fmt.Sprintf("X-Step-%d", i), HeaderValue: "v"}})
					case 'S':
						actions = append(actions, Action{S3Action: &S3Action{BucketName: "orders", ObjectKeyPrefix: fmt.Sprint(i), KmsKeyArn: key}})
					case 'T':
						actions = append(actions, Action{S3Action: &S3Action{BucketName: "orders", ObjectKeyPrefix: fmt.Sprint(i), KmsKeyArn: key, TopicArn: topic}})
					case 'N':
						actions = append(actions, Action{SNSAction: &SNSAction{TopicArn: topic}})
					case 'B':
						actions = append(actions, Action{BounceAction: &BounceAction{SmtpReplyCode: "550", Message: "no", Sender: "mailer@example.com"}})
					case 'X':
						actions = append(actions, Action{StopAction: &StopAction{Scope: StopScopeRuleSet}})
					}
				}
				rs := &RuleSet{AccountID: account, Rules: []Rule{{Name: "orders", Enabled: true, Actions: actions}}}
				if err := rs.Validate(); err != nil {
					t.Fatal(err)
				}
				store, err := fakes.NewS3(fakes.WithBuckets("orders"))
				if err != nil {
					t.Fatal(err)
				}
				k, err := fakes.NewKMS(fakes.WithKMSAccount("us-east-1", account))
				if err != nil {
					t.Fatal(err)
				}
				p := NewProcessor(rs, &encrypt.Sealer{KMS: k, Rand: constReader(3)}, store)
				p.Rand, p.Now = constReader(7), func() time.Time { return now }

				msg := &Message{From: "sender@example.org", To: []string{"inbox@example.com"}, Client: client}
				if framed {
					buf := make([]byte, FrameHeadroom, FrameHeadroom+len(header)+len(body)+FrameTailroom)
					msg.Frame = NewFrame(append(buf, header+body...), FrameHeadroom)
					msg.Data = msg.Frame.Bytes()
				} else {
					msg.Data = []byte(header + body)
				}
				res, err := p.Deliver(t.Context(), msg)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}

				tr := trace{id: res.MessageID, at: now, from: msg.From, rcpt: "inbox@example.com", helo: client.Helo,
					client: client.Addr, hostname: Hostname(DefaultRegion), fromHdr: "example.org",
					verdicts: res.Verdicts.forRule(&rs.Rules[0]), randBytes: constReader(7)}
				ses, err := tr.appendSESHeaders(nil)
				if err != nil {
					t.Fatal(err)
				}
				added := ""
				lastReader := strings.LastIndexAny(order, "HSTNB") // X reads nothing
				for i, c := range order {
					want := string(ses) + header + added + body
					ar := res.Rules[0].Actions[i]
					switch c {
					case 'H':
						added += ar.Header + "\r\n"
					case 'S', 'T':
						out, err := store.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("orders"), Key: aws.String(ar.Key)})
						if err != nil {
							t.Fatalf("%s: action %d: %v", name, i, err)
						}
						got, _ := io.ReadAll(out.Body)
						if sealed {
							if got, err = encrypt.Open(t.Context(), k, out.Metadata, got); err != nil {
								t.Fatalf("%s: action %d: open: %v", name, i, err)
							}
						} else if len(out.Metadata) != 0 {
							t.Fatalf("%s: action %d: a plain object has metadata %v", name, i, out.Metadata)
						}
						if string(got) != want {
							t.Fatalf("%s: action %d stored\n%q\nwant\n%q", name, i, got, want)
						}
						if c == 'T' {
							checkNotified(t, name, i, ar, want, nil)
						}
					case 'N':
						checkNotified(t, name, i, ar, want, &want)
					case 'B':
						if dsn := res.Bounces[len(res.Bounces)-1].DSN; !strings.Contains(dsn, "text/rfc822-headers\r\n\r\n"+string(ses)+header+added+"\r\n") {
							t.Fatalf("%s: action %d: the DSN does not quote the header as stored:\n%s", name, i, dsn)
						}
					}
				}
				// The content is encrypted in place exactly when the message
				// came in a frame and its last reader is an encrypting S3
				// action.
				wantConsumed := framed && sealed && strings.ContainsRune("ST", rune(order[lastReader]))
				if framed && msg.Frame.Consumed() != wantConsumed {
					t.Fatalf("%s: frame consumed = %v, want %v", name, msg.Frame.Consumed(), wantConsumed)
				}
			}
		}
	}
}

// checkNotified checks that action i's notification describes the content
// want: the mail object's headers are want's, and content, when set, is
// what was published.
func checkNotified(t *testing.T, name string, i int, ar ActionResult, want string, content *string) {
	t.Helper()
	if ar.Event == nil {
		t.Fatalf("%s: action %d sent no notification", name, i)
	}
	var n Notification
	if err := json.Unmarshal(ar.Event.Payload, &n); err != nil {
		t.Fatalf("%s: action %d: %v", name, i, err)
	}
	fields := ParseHeader([]byte(want[:HeaderEnd([]byte(want))]))
	if len(n.Mail.Headers) != len(fields) {
		t.Fatalf("%s: action %d: the notification has %d headers, the content %d", name, i, len(n.Mail.Headers), len(fields))
	}
	for j, f := range fields {
		if h := n.Mail.Headers[j]; h.Name != f.Name || h.Value != f.Value {
			t.Fatalf("%s: action %d: header %d = %v, want %v", name, i, j, h, f)
		}
	}
	if content != nil && (n.Content == nil || *n.Content != *content) {
		t.Fatalf("%s: action %d published other content than it stores", name, i)
	}
}

// A Frame used after Consume panics, and a header inserted where the free
// room is too small moves the content without taking the tag's room.
func TestFrameOwnership(t *testing.T) {
	f := NewFrame([]byte("Subject: x\r\n\r\nbody"), 0)
	f.insertHeader([]byte("X-Added: 1\r\n"))
	if got := string(f.Bytes()); got != "Subject: x\r\nX-Added: 1\r\n\r\nbody" {
		t.Fatalf("content = %q", got)
	}
	if got := string(f.Header()); got != "Subject: x\r\nX-Added: 1\r\n" {
		t.Fatalf("header = %q", got)
	}
	if _, after := f.Room(); after < FrameTailroom {
		t.Fatalf("the tag's room is %d bytes, want %d", after, FrameTailroom)
	}
	content, dst := f.Consume()
	if len(dst) != 0 || cap(dst) < len(content)+FrameTailroom || &dst[:1][0] != &content[0] {
		t.Fatalf("Consume gave dst len %d cap %d for %d bytes of content", len(dst), cap(dst), len(content))
	}
	for name, use := range map[string]func(){
		"Bytes":        func() { f.Bytes() },
		"Header":       func() { f.Header() },
		"Consume":      func() { f.Consume() },
		"insertHeader": func() { f.insertHeader([]byte("X: y\r\n")) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s after Consume did not panic", name)
				}
			}()
			use()
		}()
	}
	if !f.Consumed() {
		t.Fatal("Consumed() = false after Consume")
	}
}
