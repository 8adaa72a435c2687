package sesapi_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	s3ec "github.com/aws/amazon-s3-encryption-client-go/v3/client"
	"github.com/aws/amazon-s3-encryption-client-go/v3/materials"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/emulator"
)

const sesKey = "arn:aws:kms:us-east-1:000000000000:alias/aws/ses"

// smtpSession is an SMTP transaction opened up to its recipients.
type smtpSession struct {
	t *testing.T
	c *smtp.Client
}

func openMail(t *testing.T, addr, rcpt string) (*smtpSession, error) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Mail("sender@example.org", nil); err != nil {
		t.Fatal(err)
	}
	return &smtpSession{t, c}, c.Rcpt(rcpt, nil)
}

// finish sends the message and returns its SES message ID.
func (s *smtpSession) finish(subject string) string {
	s.t.Helper()
	w, err := s.c.Data()
	if err != nil {
		s.t.Fatal(err)
	}
	io.WriteString(w, "From: sender@example.org\r\nTo: inbox@example.com\r\nSubject: "+subject+"\r\n\r\n"+subject+"\r\n")
	resp, err := w.CloseWithResponse()
	if err != nil {
		s.t.Fatal(err)
	}
	s.c.Quit()
	f := strings.Fields(resp.StatusText)
	return f[len(f)-1]
}

func send(t *testing.T, addr, subject string) string {
	t.Helper()
	s, err := openMail(t, addr, "inbox@example.com")
	if err != nil {
		t.Fatalf("RCPT: %v", err)
	}
	return s.finish(subject)
}

type record struct {
	RuleSet string `json:"ruleSet"`
	Rules   []struct {
		Name    string `json:"name"`
		Actions []struct {
			Key string `json:"key"`
		} `json:"actions"`
	} `json:"rules"`
}

func getRecord(t *testing.T, url, id string) record {
	t.Helper()
	resp, err := http.Get(url + "/_sesinbound/messages/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r record
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r record) names() []string {
	var out []string
	for _, rr := range r.Rules {
		out = append(out, rr.Name)
	}
	return out
}

// decrypt reads an object through the official Go S3 Encryption Client and
// returns its plaintext and material description.
func decrypt(t *testing.T, url, bucket, key string) (string, string) {
	t.Helper()
	kr := materials.NewKmsKeyring(kms.New(kms.Options{Region: region, BaseEndpoint: aws.String(url), Credentials: creds}), sesKey, func(o *materials.KeyringOptions) {
		o.EnableLegacyWrappingAlgorithms = true
	})
	cmm, err := materials.NewCryptographicMaterialsManager(kr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s3ec.New(s3Client(url), cmm)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("decrypt s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), out.Metadata["x-amz-matdesc"]
}

func apiRule(name, prefix string) *types.ReceiptRule {
	return &types.ReceiptRule{Name: aws.String(name), Enabled: true, Recipients: []string{"example.com"},
		Actions: []types.ReceiptAction{{S3Action: &types.S3Action{BucketName: aws.String("api-mail"), ObjectKeyPrefix: aws.String(prefix), KmsKeyArn: aws.String(sesKey)}}}}
}

// TestConfigureThenReceive is the story of the issue: a configuration made
// through the SES API runs on mail that arrives over SMTP, every change
// applies from the next message, and --data-dir keeps it across a restart.
func TestConfigureThenReceive(t *testing.T) {
	dir := t.TempDir()
	start := func() *emulator.Emulator {
		return startEmulator(t, func(c *emulator.Config) { c.DataDir = dir })
	}
	em := start()
	ctx := t.Context()
	c := sesClient(em.URL(), region)

	must[*s3.CreateBucketOutput](t, "CreateBucket")(s3Client(em.URL()).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("api-mail")}))
	must[*ses.CreateReceiptRuleSetOutput](t, "CreateReceiptRuleSet")(c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("live")}))
	must[*ses.CreateReceiptRuleOutput](t, "first")(c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("live"), Rule: apiRule("first", "one/")}))
	must[*ses.CreateReceiptRuleOutput](t, "second")(c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("live"), After: aws.String("first"), Rule: apiRule("second", "two/")}))
	must[*ses.SetActiveReceiptRuleSetOutput](t, "SetActive")(c.SetActiveReceiptRuleSet(ctx, &ses.SetActiveReceiptRuleSetInput{RuleSetName: aws.String("live")}))

	t.Run("the API-made rules run", func(t *testing.T) {
		id := send(t, em.SMTPAddr(), "one")
		rec := getRecord(t, em.URL(), id)
		if rec.RuleSet != "live" || !slices.Equal(rec.names(), []string{"first", "second"}) {
			t.Fatalf("record: rule set %q, rules %v", rec.RuleSet, rec.names())
		}
		body, matdesc := decrypt(t, em.URL(), "api-mail", "one/"+id)
		if !strings.Contains(body, "Subject: one") || !strings.Contains(matdesc, `"aws:ses:rule-name":"first"`) {
			t.Fatalf("one/%s: matdesc %s, body %q", id, matdesc, body)
		}
		if _, matdesc := decrypt(t, em.URL(), "api-mail", "two/"+id); !strings.Contains(matdesc, `"aws:ses:rule-name":"second"`) {
			t.Fatalf("two/%s: matdesc %s", id, matdesc)
		}
	})

	t.Run("an update applies to the next message", func(t *testing.T) {
		must[*ses.UpdateReceiptRuleOutput](t, "Update")(c.UpdateReceiptRule(ctx, &ses.UpdateReceiptRuleInput{RuleSetName: aws.String("live"), Rule: apiRule("first", "uno/")}))
		id := send(t, em.SMTPAddr(), "uno")
		if body, _ := decrypt(t, em.URL(), "api-mail", "uno/"+id); !strings.Contains(body, "Subject: uno") {
			t.Fatalf("uno/%s: %q", id, body)
		}
	})

	t.Run("a reorder applies to the next message", func(t *testing.T) {
		must[*ses.ReorderReceiptRuleSetOutput](t, "Reorder")(c.ReorderReceiptRuleSet(ctx, &ses.ReorderReceiptRuleSetInput{RuleSetName: aws.String("live"), RuleNames: []string{"second", "first"}}))
		id := send(t, em.SMTPAddr(), "reordered")
		if got := getRecord(t, em.URL(), id).names(); !slices.Equal(got, []string{"second", "first"}) {
			t.Fatalf("rules ran in order %v", got)
		}
	})

	t.Run("a message in flight keeps the configuration it started with", func(t *testing.T) {
		s, err := openMail(t, em.SMTPAddr(), "inbox@example.com")
		if err != nil {
			t.Fatal(err)
		}
		must[*ses.UpdateReceiptRuleOutput](t, "Update")(c.UpdateReceiptRule(ctx, &ses.UpdateReceiptRuleInput{RuleSetName: aws.String("live"), Rule: apiRule("first", "later/")}))
		id := s.finish("in flight")
		if rec := getRecord(t, em.URL(), id); rec.Rules[1].Actions[0].Key != "uno/"+id {
			t.Fatalf("the message in flight was stored at %q, want uno/%s", rec.Rules[1].Actions[0].Key, id)
		}
		id = send(t, em.SMTPAddr(), "after")
		if rec := getRecord(t, em.URL(), id); rec.Rules[1].Actions[0].Key != "later/"+id {
			t.Fatalf("the next message was stored at %q, want later/%s", rec.Rules[1].Actions[0].Key, id)
		}
	})

	t.Run("deactivated, every recipient gets 550", func(t *testing.T) {
		must[*ses.SetActiveReceiptRuleSetOutput](t, "SetActive off")(c.SetActiveReceiptRuleSet(ctx, &ses.SetActiveReceiptRuleSetInput{}))
		_, err := openMail(t, em.SMTPAddr(), "inbox@example.com")
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
			t.Fatalf("RCPT with nothing active: %v, want 550 5.1.1", err)
		}
		must[*ses.SetActiveReceiptRuleSetOutput](t, "SetActive again")(c.SetActiveReceiptRuleSet(ctx, &ses.SetActiveReceiptRuleSetInput{RuleSetName: aws.String("live")}))
	})

	before := must[*ses.DescribeActiveReceiptRuleSetOutput](t, "DescribeActive")(c.DescribeActiveReceiptRuleSet(ctx, &ses.DescribeActiveReceiptRuleSetInput{}))
	em.Close()

	t.Run("a restart with --data-dir keeps the configuration", func(t *testing.T) {
		em := start()
		c := sesClient(em.URL(), region)
		after := must[*ses.DescribeActiveReceiptRuleSetOutput](t, "DescribeActive")(c.DescribeActiveReceiptRuleSet(ctx, &ses.DescribeActiveReceiptRuleSetInput{}))
		if got, want := describe(after), describe(before); got != want {
			t.Fatalf("after restart:\n%s\nbefore:\n%s", got, want)
		}
		id := send(t, em.SMTPAddr(), "restarted")
		if body, _ := decrypt(t, em.URL(), "api-mail", "later/"+id); !strings.Contains(body, "Subject: restarted") {
			t.Fatalf("later/%s: %q", id, body)
		}
	})
}

func describe(o *ses.DescribeActiveReceiptRuleSetOutput) string {
	b, _ := json.MarshalIndent(struct {
		M any
		R any
	}{o.Metadata, o.Rules}, "", " ")
	return string(b)
}
