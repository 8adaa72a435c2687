package sesapi_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/emersion/go-smtp"

	"github.com/sesinbound/sesinbound/emulator"
)

const region = "us-east-1"

func startEmulator(t *testing.T, mod func(*emulator.Config)) *emulator.Emulator {
	t.Helper()
	c := emulator.DefaultConfig()
	c.SMTPAddr, c.AWSAddr = "127.0.0.1:0", "127.0.0.1:0"
	if mod != nil {
		mod(&c)
	}
	em, err := emulator.Start(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	return em
}

var creds = credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")

func sesClient(url, region string) *ses.Client {
	return ses.New(ses.Options{Region: region, BaseEndpoint: aws.String(url), Credentials: creds})
}

func s3Client(url string) *s3.Client {
	return s3.New(s3.Options{Region: region, BaseEndpoint: aws.String(url), UsePathStyle: true, Credentials: creds})
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// wantErr asserts that err is the typed exception T.
func wantErr[T error](t *testing.T, what string, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("%s: got %v (%T), want %T", what, err, err, target)
	}
	return target
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("%s: got %v, want code %s", what, err, code)
	}
}

func ruleNames(t *testing.T, c *ses.Client, set string) []string {
	t.Helper()
	out := must[*ses.DescribeReceiptRuleSetOutput](t, "DescribeReceiptRuleSet")(c.DescribeReceiptRuleSet(t.Context(), &ses.DescribeReceiptRuleSetInput{RuleSetName: aws.String(set)}))
	var names []string
	for _, r := range out.Rules {
		names = append(names, *r.Name)
	}
	return names
}

func s3Rule(name, bucket, prefix string) *types.ReceiptRule {
	return &types.ReceiptRule{Name: aws.String(name), Enabled: true,
		Actions: []types.ReceiptAction{{S3Action: &types.S3Action{BucketName: aws.String(bucket), ObjectKeyPrefix: aws.String(prefix)}}}}
}

// TestRuleSets drives every rule-set operation of SES v1 through the Go SDK,
// each success and each modeled error.
func TestRuleSets(t *testing.T) {
	em := startEmulator(t, nil)
	c := sesClient(em.URL(), region)
	ctx := t.Context()

	// The built-in rule is the active set "sesinbound".
	act := must[*ses.DescribeActiveReceiptRuleSetOutput](t, "DescribeActive")(c.DescribeActiveReceiptRuleSet(ctx, &ses.DescribeActiveReceiptRuleSetInput{}))
	if act.Metadata == nil || *act.Metadata.Name != "sesinbound" || len(act.Rules) != 1 || *act.Rules[0].Name != "store-all" {
		t.Fatalf("active at start: %+v", act)
	}

	must[*ses.CreateReceiptRuleSetOutput](t, "Create")(c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("a")}))
	_, err := c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("a")})
	if e := wantErr[*types.AlreadyExistsException](t, "Create twice", err); aws.ToString(e.Name) != "a" {
		t.Errorf("AlreadyExists.Name = %q", aws.ToString(e.Name))
	}
	_, err = c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("bad name!")})
	wantCode(t, "Create bad name", err, "ValidationError") // bad characters, as SES probes show

	list := must[*ses.ListReceiptRuleSetsOutput](t, "List")(c.ListReceiptRuleSets(ctx, &ses.ListReceiptRuleSetsInput{}))
	var names []string
	for _, m := range list.RuleSets {
		names = append(names, *m.Name)
		if m.CreatedTimestamp == nil || m.CreatedTimestamp.IsZero() {
			t.Errorf("rule set %s has no CreatedTimestamp", *m.Name)
		}
	}
	if !slices.Equal(names, []string{"a", "sesinbound"}) {
		t.Fatalf("List = %v", names)
	}

	d := must[*ses.DescribeReceiptRuleSetOutput](t, "Describe")(c.DescribeReceiptRuleSet(ctx, &ses.DescribeReceiptRuleSetInput{RuleSetName: aws.String("a")}))
	if *d.Metadata.Name != "a" || len(d.Rules) != 0 {
		t.Fatalf("Describe a = %+v", d)
	}
	_, err = c.DescribeReceiptRuleSet(ctx, &ses.DescribeReceiptRuleSetInput{RuleSetName: aws.String("nope")})
	if e := wantErr[*types.RuleSetDoesNotExistException](t, "Describe missing", err); aws.ToString(e.Name) != "nope" {
		t.Errorf("RuleSetDoesNotExist.Name = %q", aws.ToString(e.Name))
	}

	// Rules in set a: r1 at the front, r2 after r1, r0 at the front again.
	for _, r := range []struct{ name, after string }{{"r1", ""}, {"r2", "r1"}, {"r0", ""}} {
		in := &ses.CreateReceiptRuleInput{RuleSetName: aws.String("a"), Rule: s3Rule(r.name, "ses-inbound", r.name)}
		if r.after != "" {
			in.After = aws.String(r.after)
		}
		must[*ses.CreateReceiptRuleOutput](t, "CreateReceiptRule "+r.name)(c.CreateReceiptRule(ctx, in))
	}
	if got := ruleNames(t, c, "a"); !slices.Equal(got, []string{"r0", "r1", "r2"}) {
		t.Fatalf("rules = %v", got)
	}

	// Clone: a deep copy, not active; target exists → AlreadyExists; no source → RuleSetDoesNotExist.
	must[*ses.CloneReceiptRuleSetOutput](t, "Clone")(c.CloneReceiptRuleSet(ctx, &ses.CloneReceiptRuleSetInput{RuleSetName: aws.String("b"), OriginalRuleSetName: aws.String("a")}))
	if got := ruleNames(t, c, "b"); !slices.Equal(got, []string{"r0", "r1", "r2"}) {
		t.Fatalf("clone rules = %v", got)
	}
	_, err = c.CloneReceiptRuleSet(ctx, &ses.CloneReceiptRuleSetInput{RuleSetName: aws.String("b"), OriginalRuleSetName: aws.String("nope")})
	wantErr[*types.AlreadyExistsException](t, "Clone onto existing", err)
	_, err = c.CloneReceiptRuleSet(ctx, &ses.CloneReceiptRuleSetInput{RuleSetName: aws.String("c"), OriginalRuleSetName: aws.String("nope")})
	wantErr[*types.RuleSetDoesNotExistException](t, "Clone missing", err)

	// Reorder: the precedence of errors, then success.
	reorder := func(set string, names ...string) error {
		_, err := c.ReorderReceiptRuleSet(ctx, &ses.ReorderReceiptRuleSetInput{RuleSetName: aws.String(set), RuleNames: names})
		return err
	}
	wantErr[*types.RuleSetDoesNotExistException](t, "Reorder missing set", reorder("nope", "r0"))
	wantCode(t, "Reorder duplicate", reorder("a", "r0", "r0", "r1", "r2"), "InvalidParameterValue")
	wantCode(t, "Reorder partial", reorder("a", "r0", "r1"), "InvalidParameterValue")
	wantErr[*types.RuleDoesNotExistException](t, "Reorder unknown", reorder("a", "r0", "r1", "r2", "zz"))
	if err := reorder("a", "r2", "r0", "r1"); err != nil {
		t.Fatal(err)
	}
	if got := ruleNames(t, c, "a"); !slices.Equal(got, []string{"r2", "r0", "r1"}) {
		t.Fatalf("after reorder = %v", got)
	}

	// Activate a; the old active set can go, the new one cannot.
	must[*ses.SetActiveReceiptRuleSetOutput](t, "SetActive")(c.SetActiveReceiptRuleSet(ctx, &ses.SetActiveReceiptRuleSetInput{RuleSetName: aws.String("a")}))
	_, err = c.SetActiveReceiptRuleSet(ctx, &ses.SetActiveReceiptRuleSetInput{RuleSetName: aws.String("nope")})
	wantErr[*types.RuleSetDoesNotExistException](t, "SetActive missing", err)
	act = must[*ses.DescribeActiveReceiptRuleSetOutput](t, "DescribeActive")(c.DescribeActiveReceiptRuleSet(ctx, &ses.DescribeActiveReceiptRuleSetInput{}))
	if *act.Metadata.Name != "a" {
		t.Fatalf("active = %s", *act.Metadata.Name)
	}
	_, err = c.DeleteReceiptRuleSet(ctx, &ses.DeleteReceiptRuleSetInput{RuleSetName: aws.String("a")})
	if e := wantErr[*types.CannotDeleteException](t, "Delete active", err); aws.ToString(e.Name) != "a" {
		t.Errorf("CannotDelete.Name = %q", aws.ToString(e.Name))
	}
	must[*ses.DeleteReceiptRuleSetOutput](t, "Delete")(c.DeleteReceiptRuleSet(ctx, &ses.DeleteReceiptRuleSetInput{RuleSetName: aws.String("sesinbound")}))
	must[*ses.DeleteReceiptRuleSetOutput](t, "Delete missing")(c.DeleteReceiptRuleSet(ctx, &ses.DeleteReceiptRuleSetInput{RuleSetName: aws.String("sesinbound")}))

	// No name: receiving off, and Describe active is empty.
	must[*ses.SetActiveReceiptRuleSetOutput](t, "SetActive off")(c.SetActiveReceiptRuleSet(ctx, &ses.SetActiveReceiptRuleSetInput{}))
	act = must[*ses.DescribeActiveReceiptRuleSetOutput](t, "DescribeActive off")(c.DescribeActiveReceiptRuleSet(ctx, &ses.DescribeActiveReceiptRuleSetInput{}))
	if act.Metadata != nil || len(act.Rules) != 0 {
		t.Fatalf("active when off = %+v", act)
	}

	// The limit: 40 rule sets.
	for i := 3; i <= 40; i++ { // a and b exist (sesinbound was deleted)
		must[*ses.CreateReceiptRuleSetOutput](t, "Create many")(c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String(fmt.Sprintf("s%02d", i))}))
	}
	_, err = c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("one-too-many")})
	wantErr[*types.LimitExceededException](t, "Create 41st", err)
	_, err = c.CloneReceiptRuleSet(ctx, &ses.CloneReceiptRuleSetInput{RuleSetName: aws.String("one-too-many"), OriginalRuleSetName: aws.String("a")})
	wantErr[*types.LimitExceededException](t, "Clone 41st", err)
}

// TestRules drives the rule operations: defaults, ordering, update in place,
// positions, deletes, limits and the target checks.
func TestRules(t *testing.T) {
	em := startEmulator(t, nil)
	c := sesClient(em.URL(), region)
	ctx := t.Context()
	must[*ses.CreateReceiptRuleSetOutput](t, "Create")(c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("set")}))

	// The Go SDK leaves false and empty lists out: the server fills the defaults.
	must[*ses.CreateReceiptRuleOutput](t, "minimal")(c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("set"),
		Rule: &types.ReceiptRule{Name: aws.String("min"), Actions: []types.ReceiptAction{
			{SNSAction: &types.SNSAction{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:t")}},
			{LambdaAction: &types.LambdaAction{FunctionArn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f")}},
			{StopAction: &types.StopAction{Scope: types.StopScopeRuleSet}},
		}}}))
	r := must[*ses.DescribeReceiptRuleOutput](t, "DescribeReceiptRule")(c.DescribeReceiptRule(ctx, &ses.DescribeReceiptRuleInput{RuleSetName: aws.String("set"), RuleName: aws.String("min")})).Rule
	if r.Enabled || r.ScanEnabled || r.TlsPolicy != types.TlsPolicyOptional || r.Recipients != nil {
		t.Errorf("defaults: %+v", r)
	}
	if len(r.Actions) != 3 || r.Actions[0].SNSAction.Encoding != types.SNSActionEncodingUtf8 ||
		r.Actions[1].LambdaAction.InvocationType != types.InvocationTypeEvent || r.Actions[2].StopAction == nil {
		t.Errorf("actions: %+v", r.Actions)
	}

	full := &types.ReceiptRule{Name: aws.String("full"), Enabled: true, ScanEnabled: true, TlsPolicy: types.TlsPolicyRequire,
		Recipients: []string{"z.example.com", "a@example.com"},
		Actions: []types.ReceiptAction{
			{AddHeaderAction: &types.AddHeaderAction{HeaderName: aws.String("X-A"), HeaderValue: aws.String("1")}},
			{S3Action: &types.S3Action{BucketName: aws.String("ses-inbound"), ObjectKeyPrefix: aws.String("full/"),
				KmsKeyArn: aws.String("arn:aws:kms:us-east-1:000000000000:alias/aws/ses")}},
			{BounceAction: &types.BounceAction{SmtpReplyCode: aws.String("550"), StatusCode: aws.String("5.1.1"), Message: aws.String("gone"), Sender: aws.String("mailer@example.com")}},
		}}
	must[*ses.CreateReceiptRuleOutput](t, "full")(c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("set"), After: aws.String("min"), Rule: full}))
	r = must[*ses.DescribeReceiptRuleOutput](t, "Describe full")(c.DescribeReceiptRule(ctx, &ses.DescribeReceiptRuleInput{RuleSetName: aws.String("set"), RuleName: aws.String("full")})).Rule
	if !r.Enabled || !r.ScanEnabled || r.TlsPolicy != types.TlsPolicyRequire || !slices.Equal(r.Recipients, []string{"a@example.com", "z.example.com"}) {
		t.Errorf("full: %+v (recipients come back sorted)", r)
	}
	if len(r.Actions) != 3 || r.Actions[0].AddHeaderAction == nil || *r.Actions[1].S3Action.ObjectKeyPrefix != "full/" || *r.Actions[2].BounceAction.StatusCode != "5.1.1" {
		t.Errorf("full actions out of order: %+v", r.Actions)
	}
	// The setup notification was written, encrypted.
	head := must[*s3.HeadObjectOutput](t, "setup notification")(s3Client(em.URL()).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ses-inbound"), Key: aws.String("full/AMAZON_SES_SETUP_NOTIFICATION")}))
	if !strings.Contains(head.Metadata["x-amz-matdesc"], `"aws:ses:rule-name":"full"`) {
		t.Errorf("setup notification matdesc = %q", head.Metadata["x-amz-matdesc"])
	}

	create := func(rule *types.ReceiptRule, after string) error {
		in := &ses.CreateReceiptRuleInput{RuleSetName: aws.String("set"), Rule: rule}
		if after != "" {
			in.After = aws.String(after)
		}
		_, err := c.CreateReceiptRule(ctx, in)
		return err
	}
	wantErr[*types.AlreadyExistsException](t, "duplicate rule", create(s3Rule("full", "ses-inbound", ""), ""))
	wantErr[*types.RuleDoesNotExistException](t, "unknown After", create(s3Rule("x", "ses-inbound", ""), "nope"))
	_, err := c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("nope"), Rule: s3Rule("x", "ses-inbound", "")})
	wantErr[*types.RuleSetDoesNotExistException](t, "missing set", err)
	e := wantErr[*types.InvalidS3ConfigurationException](t, "missing bucket", create(s3Rule("x", "no-such-bucket", ""), ""))
	if msg := aws.ToString(e.Message); strings.HasPrefix(msg, "Could not write to bucket") || !strings.Contains(msg, "no-such-bucket") || !strings.Contains(msg, "s3 mb") {
		t.Errorf("InvalidS3Configuration message = %q", msg)
	}
	if aws.ToString(e.Bucket) != "no-such-bucket" {
		t.Errorf("InvalidS3Configuration.Bucket = %q", aws.ToString(e.Bucket))
	}
	badKey := s3Rule("x", "ses-inbound", "")
	badKey.Actions[0].S3Action.KmsKeyArn = aws.String("arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555")
	wantErr[*types.InvalidS3ConfigurationException](t, "missing key", create(badKey, ""))
	tooMany := s3Rule("x", "ses-inbound", "")
	for len(tooMany.Actions) <= 10 {
		tooMany.Actions = append(tooMany.Actions, tooMany.Actions[0])
	}
	wantErr[*types.LimitExceededException](t, "11 actions", create(tooMany, ""))
	stopFirst := s3Rule("x", "ses-inbound", "")
	stopFirst.Actions = append([]types.ReceiptAction{{StopAction: &types.StopAction{Scope: types.StopScopeRuleSet}}}, stopFirst.Actions...)
	wantCode(t, "stop not last", create(stopFirst, ""), "InvalidParameterValue")
	wantCode(t, "invalid header name", create(&types.ReceiptRule{Name: aws.String("x"), Actions: []types.ReceiptAction{
		{AddHeaderAction: &types.AddHeaderAction{HeaderName: aws.String("bad name"), HeaderValue: aws.String("v")}}}}, ""), "InvalidParameterValue")

	// Update: in place, omitted members reset; unknown rule or set.
	must[*ses.UpdateReceiptRuleOutput](t, "Update")(c.UpdateReceiptRule(ctx, &ses.UpdateReceiptRuleInput{RuleSetName: aws.String("set"), Rule: s3Rule("min", "ses-inbound", "upd")}))
	if got := ruleNames(t, c, "set"); !slices.Equal(got, []string{"min", "full"}) {
		t.Fatalf("after update = %v", got)
	}
	r = must[*ses.DescribeReceiptRuleOutput](t, "Describe min")(c.DescribeReceiptRule(ctx, &ses.DescribeReceiptRuleInput{RuleSetName: aws.String("set"), RuleName: aws.String("min")})).Rule
	if !r.Enabled || len(r.Actions) != 1 || *r.Actions[0].S3Action.ObjectKeyPrefix != "upd" {
		t.Errorf("updated: %+v", r)
	}
	_, err = c.UpdateReceiptRule(ctx, &ses.UpdateReceiptRuleInput{RuleSetName: aws.String("set"), Rule: s3Rule("nope", "ses-inbound", "")})
	wantErr[*types.RuleDoesNotExistException](t, "Update missing rule", err)
	_, err = c.UpdateReceiptRule(ctx, &ses.UpdateReceiptRuleInput{RuleSetName: aws.String("nope"), Rule: s3Rule("min", "ses-inbound", "")})
	wantErr[*types.RuleSetDoesNotExistException](t, "Update missing set", err)
	_, err = c.UpdateReceiptRule(ctx, &ses.UpdateReceiptRuleInput{RuleSetName: aws.String("set"), Rule: s3Rule("min", "no-such-bucket", "")})
	wantErr[*types.InvalidS3ConfigurationException](t, "Update missing bucket", err)
	_, err = c.UpdateReceiptRule(ctx, &ses.UpdateReceiptRuleInput{RuleSetName: aws.String("set"), Rule: tooManyNamed(tooMany, "min")})
	wantErr[*types.LimitExceededException](t, "Update 11 actions", err)

	// Positions.
	must[*ses.CreateReceiptRuleOutput](t, "third")(c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("set"), After: aws.String("full"), Rule: s3Rule("third", "ses-inbound", "")}))
	pos := func(rule, after string) error {
		in := &ses.SetReceiptRulePositionInput{RuleSetName: aws.String("set"), RuleName: aws.String(rule)}
		if after != "" {
			in.After = aws.String(after)
		}
		_, err := c.SetReceiptRulePosition(ctx, in)
		return err
	}
	if err := pos("third", ""); err != nil {
		t.Fatal(err)
	}
	if got := ruleNames(t, c, "set"); !slices.Equal(got, []string{"third", "min", "full"}) {
		t.Fatalf("third to front = %v", got)
	}
	if err := pos("third", "full"); err != nil {
		t.Fatal(err)
	}
	if got := ruleNames(t, c, "set"); !slices.Equal(got, []string{"min", "full", "third"}) {
		t.Fatalf("third after full = %v", got)
	}
	wantErr[*types.RuleDoesNotExistException](t, "position unknown rule", pos("nope", ""))
	wantErr[*types.RuleDoesNotExistException](t, "position after unknown", pos("min", "nope"))
	_, err = c.SetReceiptRulePosition(ctx, &ses.SetReceiptRulePositionInput{RuleSetName: aws.String("nope"), RuleName: aws.String("min")})
	wantErr[*types.RuleSetDoesNotExistException](t, "position missing set", err)

	// Describe errors.
	_, err = c.DescribeReceiptRule(ctx, &ses.DescribeReceiptRuleInput{RuleSetName: aws.String("set"), RuleName: aws.String("nope")})
	wantErr[*types.RuleDoesNotExistException](t, "Describe missing rule", err)
	_, err = c.DescribeReceiptRule(ctx, &ses.DescribeReceiptRuleInput{RuleSetName: aws.String("nope"), RuleName: aws.String("min")})
	wantErr[*types.RuleSetDoesNotExistException](t, "Describe rule in missing set", err)

	// Delete: idempotent for rules, not for sets.
	must[*ses.DeleteReceiptRuleOutput](t, "DeleteRule")(c.DeleteReceiptRule(ctx, &ses.DeleteReceiptRuleInput{RuleSetName: aws.String("set"), RuleName: aws.String("third")}))
	must[*ses.DeleteReceiptRuleOutput](t, "DeleteRule again")(c.DeleteReceiptRule(ctx, &ses.DeleteReceiptRuleInput{RuleSetName: aws.String("set"), RuleName: aws.String("third")}))
	_, err = c.DeleteReceiptRule(ctx, &ses.DeleteReceiptRuleInput{RuleSetName: aws.String("nope"), RuleName: aws.String("third")})
	wantErr[*types.RuleSetDoesNotExistException](t, "DeleteRule missing set", err)

	// 200 rules per set.
	must[*ses.CreateReceiptRuleSetOutput](t, "big")(c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("big")}))
	for i := 0; i < 200; i++ {
		rule := &types.ReceiptRule{Name: aws.String(fmt.Sprintf("r%03d", i)), Actions: []types.ReceiptAction{{StopAction: &types.StopAction{Scope: types.StopScopeRuleSet}}}}
		must[*ses.CreateReceiptRuleOutput](t, "rule")(c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("big"), Rule: rule}))
	}
	_, err = c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("big"), Rule: s3Rule("r200", "ses-inbound", "")})
	wantErr[*types.LimitExceededException](t, "201st rule", err)
}

func tooManyNamed(r *types.ReceiptRule, name string) *types.ReceiptRule {
	c := *r
	c.Name = aws.String(name)
	return &c
}

// TestTargetChecks: a topic or function unknown to a configured SNS or
// Lambda is refused.
func TestTargetChecks(t *testing.T) {
	// An endpoint that answers every SNS and Lambda call with NotFound.
	nf := newNotFound(t)
	em := startEmulator(t, func(c *emulator.Config) {
		c.Getenv = func(k string) string {
			if k == "AWS_ENDPOINT_URL_SNS" || k == "AWS_ENDPOINT_URL_LAMBDA" {
				return nf
			}
			if k == "AWS_ACCESS_KEY_ID" || k == "AWS_SECRET_ACCESS_KEY" {
				return "x"
			}
			return ""
		}
	})
	c := sesClient(em.URL(), region)
	ctx := t.Context()
	must[*ses.CreateReceiptRuleSetOutput](t, "Create")(c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("set")}))
	_, err := c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("set"), Rule: &types.ReceiptRule{Name: aws.String("t"),
		Actions: []types.ReceiptAction{{SNSAction: &types.SNSAction{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:missing")}}}}})
	if e := wantErr[*types.InvalidSnsTopicException](t, "missing topic", err); aws.ToString(e.Topic) != "arn:aws:sns:us-east-1:000000000000:missing" {
		t.Errorf("InvalidSnsTopic.Topic = %q", aws.ToString(e.Topic))
	}
	_, err = c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("set"), Rule: &types.ReceiptRule{Name: aws.String("l"),
		Actions: []types.ReceiptAction{{LambdaAction: &types.LambdaAction{FunctionArn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:missing")}}}}})
	if e := wantErr[*types.InvalidLambdaFunctionException](t, "missing function", err); aws.ToString(e.FunctionArn) == "" {
		t.Error("InvalidLambdaFunction.FunctionArn is empty")
	}
	_, err = c.UpdateReceiptRule(ctx, &ses.UpdateReceiptRuleInput{RuleSetName: aws.String("set"), Rule: &types.ReceiptRule{Name: aws.String("l"),
		Actions: []types.ReceiptAction{{LambdaAction: &types.LambdaAction{FunctionArn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:missing")}}}}})
	wantErr[*types.RuleDoesNotExistException](t, "update missing", err)
}

// TestFilters drives the receipt filter operations.
func TestFilters(t *testing.T) {
	em := startEmulator(t, nil)
	c := sesClient(em.URL(), region)
	ctx := t.Context()
	mk := func(name, cidr string) error {
		_, err := c.CreateReceiptFilter(ctx, &ses.CreateReceiptFilterInput{Filter: &types.ReceiptFilter{Name: aws.String(name),
			IpFilter: &types.ReceiptIpFilter{Policy: types.ReceiptFilterPolicyBlock, Cidr: aws.String(cidr)}}})
		return err
	}
	if err := mk("b", "10.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	if err := mk("a", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	wantErr[*types.AlreadyExistsException](t, "duplicate filter", mk("a", "192.0.2.2"))
	wantCode(t, "bad cidr", mk("c", "not-a-cidr"), "InvalidParameterValue")
	l := must[*ses.ListReceiptFiltersOutput](t, "List")(c.ListReceiptFilters(ctx, &ses.ListReceiptFiltersInput{}))
	if len(l.Filters) != 2 || *l.Filters[0].Name != "a" || *l.Filters[1].IpFilter.Cidr != "10.0.0.0/8" || l.Filters[1].IpFilter.Policy != types.ReceiptFilterPolicyBlock {
		t.Fatalf("filters = %+v", l.Filters)
	}
	must[*ses.DeleteReceiptFilterOutput](t, "Delete")(c.DeleteReceiptFilter(ctx, &ses.DeleteReceiptFilterInput{FilterName: aws.String("a")}))
	must[*ses.DeleteReceiptFilterOutput](t, "Delete again")(c.DeleteReceiptFilter(ctx, &ses.DeleteReceiptFilterInput{FilterName: aws.String("a")}))
	for i := 1; i < 100; i++ {
		if err := mk(fmt.Sprintf("f%03d", i), fmt.Sprintf("198.51.100.%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	wantErr[*types.LimitExceededException](t, "101st filter", mk("over", "203.0.113.1"))

	// A filter applies from the next connection: one open before it keeps going.
	open, err := openMail(t, em.SMTPAddr(), "inbox@example.com")
	if err != nil {
		t.Fatal(err)
	}
	must[*ses.DeleteReceiptFilterOutput](t, "make room")(c.DeleteReceiptFilter(ctx, &ses.DeleteReceiptFilterInput{FilterName: aws.String("b")}))
	if err := mk("loopback", "127.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	blocked, err := smtp.Dial(em.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer blocked.Close()
	var se *smtp.SMTPError
	if err := blocked.Hello("client.example"); !errors.As(err, &se) || se.Code != 554 {
		t.Fatalf("blocked client: %v, want 554", err)
	}
	open.finish("before the filter")
}

// TestIdentities drives the v1 and v2 identity operations over one store.
func TestIdentities(t *testing.T) {
	em := startEmulator(t, nil)
	c := sesClient(em.URL(), region)
	ctx := t.Context()
	tok := must[*ses.VerifyDomainIdentityOutput](t, "VerifyDomainIdentity")(c.VerifyDomainIdentity(ctx, &ses.VerifyDomainIdentityInput{Domain: aws.String("example.com")}))
	if aws.ToString(tok.VerificationToken) == "" {
		t.Fatal("no VerificationToken")
	}
	must[*ses.VerifyEmailIdentityOutput](t, "VerifyEmailIdentity")(c.VerifyEmailIdentity(ctx, &ses.VerifyEmailIdentityInput{EmailAddress: aws.String("a@example.org")}))
	must[*ses.VerifyEmailAddressOutput](t, "VerifyEmailAddress")(c.VerifyEmailAddress(ctx, &ses.VerifyEmailAddressInput{EmailAddress: aws.String("b@example.org")}))
	all := must[*ses.ListIdentitiesOutput](t, "ListIdentities")(c.ListIdentities(ctx, &ses.ListIdentitiesInput{}))
	if !slices.Equal(all.Identities, []string{"example.com", "a@example.org", "b@example.org"}) {
		t.Fatalf("identities = %v", all.Identities)
	}
	doms := must[*ses.ListIdentitiesOutput](t, "ListIdentities Domain")(c.ListIdentities(ctx, &ses.ListIdentitiesInput{IdentityType: types.IdentityTypeDomain}))
	if !slices.Equal(doms.Identities, []string{"example.com"}) {
		t.Fatalf("domains = %v", doms.Identities)
	}
	page := must[*ses.ListIdentitiesOutput](t, "ListIdentities page")(c.ListIdentities(ctx, &ses.ListIdentitiesInput{MaxItems: aws.Int32(2)}))
	if len(page.Identities) != 2 || page.NextToken == nil {
		t.Fatalf("page 1 = %+v", page)
	}
	page = must[*ses.ListIdentitiesOutput](t, "ListIdentities page 2")(c.ListIdentities(ctx, &ses.ListIdentitiesInput{MaxItems: aws.Int32(2), NextToken: page.NextToken}))
	if !slices.Equal(page.Identities, []string{"b@example.org"}) || page.NextToken != nil {
		t.Fatalf("page 2 = %+v", page)
	}
	va := must[*ses.GetIdentityVerificationAttributesOutput](t, "GetIdentityVerificationAttributes")(c.GetIdentityVerificationAttributes(ctx, &ses.GetIdentityVerificationAttributesInput{Identities: []string{"example.com", "a@example.org", "unknown.example"}}))
	if a := va.VerificationAttributes["example.com"]; a.VerificationStatus != types.VerificationStatusSuccess || aws.ToString(a.VerificationToken) != *tok.VerificationToken {
		t.Errorf("example.com = %+v", a)
	}
	if a := va.VerificationAttributes["a@example.org"]; a.VerificationStatus != types.VerificationStatusSuccess {
		t.Errorf("a@example.org = %+v", a)
	}
	if _, ok := va.VerificationAttributes["unknown.example"]; ok {
		t.Error("an unknown identity is reported")
	}
	// `aws ses wait identity-exists` uses this waiter.
	if err := ses.NewIdentityExistsWaiter(c).Wait(ctx, &ses.GetIdentityVerificationAttributesInput{Identities: []string{"example.com"}}, 5e9); err != nil {
		t.Fatal(err)
	}
	dk := must[*ses.VerifyDomainDkimOutput](t, "VerifyDomainDkim")(c.VerifyDomainDkim(ctx, &ses.VerifyDomainDkimInput{Domain: aws.String("example.com")}))
	if len(dk.DkimTokens) != 3 {
		t.Fatalf("DkimTokens = %v", dk.DkimTokens)
	}
	da := must[*ses.GetIdentityDkimAttributesOutput](t, "GetIdentityDkimAttributes")(c.GetIdentityDkimAttributes(ctx, &ses.GetIdentityDkimAttributesInput{Identities: []string{"example.com", "a@example.org"}}))
	if a := da.DkimAttributes["example.com"]; !a.DkimEnabled || a.DkimVerificationStatus != types.VerificationStatusSuccess || !slices.Equal(a.DkimTokens, dk.DkimTokens) {
		t.Errorf("dkim example.com = %+v", a)
	}
	if a := da.DkimAttributes["a@example.org"]; a.DkimEnabled {
		t.Errorf("dkim a@example.org = %+v", a)
	}
	must[*ses.DeleteIdentityOutput](t, "DeleteIdentity")(c.DeleteIdentity(ctx, &ses.DeleteIdentityInput{Identity: aws.String("a@example.org")}))
	must[*ses.DeleteIdentityOutput](t, "DeleteIdentity again")(c.DeleteIdentity(ctx, &ses.DeleteIdentityInput{Identity: aws.String("a@example.org")}))

	// v2 over the same identities.
	v2 := sesv2.New(sesv2.Options{Region: region, BaseEndpoint: aws.String(em.URL()), Credentials: creds})
	cr := must[*sesv2.CreateEmailIdentityOutput](t, "CreateEmailIdentity")(v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("example.net")}))
	if cr.IdentityType != v2types.IdentityTypeDomain || !cr.VerifiedForSendingStatus || cr.DkimAttributes == nil || len(cr.DkimAttributes.Tokens) != 3 {
		t.Errorf("CreateEmailIdentity = %+v", cr)
	}
	_, err := v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("example.net")})
	wantErr[*v2types.AlreadyExistsException](t, "CreateEmailIdentity twice", err)
	g := must[*sesv2.GetEmailIdentityOutput](t, "GetEmailIdentity")(v2.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("b@example.org")}))
	if g.IdentityType != v2types.IdentityTypeEmailAddress || g.VerificationStatus != v2types.VerificationStatusSuccess || !g.VerifiedForSendingStatus {
		t.Errorf("GetEmailIdentity = %+v", g)
	}
	_, err = v2.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("a@example.org")})
	wantErr[*v2types.NotFoundException](t, "GetEmailIdentity deleted", err)
	ls := must[*sesv2.ListEmailIdentitiesOutput](t, "ListEmailIdentities")(v2.ListEmailIdentities(ctx, &sesv2.ListEmailIdentitiesInput{}))
	var got []string
	for _, id := range ls.EmailIdentities {
		got = append(got, *id.IdentityName)
	}
	if !slices.Equal(got, []string{"example.com", "b@example.org", "example.net"}) {
		t.Errorf("ListEmailIdentities = %v", got)
	}
	must[*sesv2.DeleteEmailIdentityOutput](t, "DeleteEmailIdentity")(v2.DeleteEmailIdentity(ctx, &sesv2.DeleteEmailIdentityInput{EmailIdentity: aws.String("example.net")}))
	_, err = v2.DeleteEmailIdentity(ctx, &sesv2.DeleteEmailIdentityInput{EmailIdentity: aws.String("example.net")})
	wantErr[*v2types.NotFoundException](t, "DeleteEmailIdentity twice", err)
}

// TestOtherRegion: one region per instance; a request signed for another
// gets SignatureDoesNotMatch, and S3 on the same port is unaffected.
func TestOtherRegion(t *testing.T) {
	em := startEmulator(t, nil)
	_, err := sesClient(em.URL(), "eu-west-1").ListReceiptRuleSets(t.Context(), &ses.ListReceiptRuleSetsInput{})
	wantCode(t, "other region", err, "SignatureDoesNotMatch")
	if !strings.Contains(err.Error(), "us-east-1") {
		t.Errorf("the message does not say which region is served: %v", err)
	}
	if _, err := s3Client(em.URL()).ListBuckets(t.Context(), &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("S3 beside SES: %v", err)
	}
}
