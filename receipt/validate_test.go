package receipt_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sesinbound/sesinbound/receipt"
)

// problems formats problems as "field: SESCode", one per line.
func problems(ps []receipt.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s %s: %s\n", p.Rule, p.Field, p.Kind.SESCode())
	}
	return b.String()
}

// CheckRule validates one rule without a file, as the SES API's
// CreateReceiptRule will: each problem names the field from the rule down
// and carries the kind the API reports as its error code.
func TestCheckRule(t *testing.T) {
	rs := receipt.DefaultRules()
	r := &receipt.Rule{Name: "inbound", Actions: []receipt.Action{
		{S3Action: &receipt.S3Action{BucketName: "No_Such", KmsKeyArn: "arn:aws:kms:eu-west-1:000000000000:alias/aws/ses"}},
		{SNSAction: &receipt.SNSAction{TopicArn: "not-a-topic"}},
		{LambdaAction: &receipt.LambdaAction{}},
		{StopAction: &receipt.StopAction{Scope: "Rule"}},
		{S3Action: &receipt.S3Action{BucketName: "ok-bucket"}, StopAction: &receipt.StopAction{Scope: "RuleSet"}},
		{},
	}}
	got := problems(rs.CheckRule(r))
	want := `inbound Actions[0].S3Action.BucketName: InvalidS3Configuration
inbound Actions[0].S3Action.KmsKeyArn: InvalidS3Configuration
inbound Actions[1].SNSAction.TopicArn: InvalidSnsTopic
inbound Actions[2].LambdaAction.FunctionArn: InvalidLambdaFunction
inbound Actions[3].StopAction.Scope: ValidationError
inbound Actions[4]: InvalidParameterValue
inbound Actions[5]: InvalidParameterValue
`
	if got != want {
		t.Fatalf("CheckRule problems:\n%s\nwant:\n%s", got, want)
	}
	// The API's defaults are applied, as CreateReceiptRule applies them.
	if r.TLSPolicy != receipt.TLSPolicyOptional || r.Actions[2].LambdaAction.InvocationType != receipt.InvocationEvent ||
		r.Actions[1].SNSAction.Encoding != receipt.EncodingUTF8 {
		t.Fatalf("defaults not applied: %+v", r)
	}

	many := &receipt.Rule{Name: "bad name!", Actions: make([]receipt.Action, receipt.MaxActionsPerRule+1)}
	for i := range many.Actions {
		many.Actions[i].AddHeaderAction = &receipt.AddHeaderAction{HeaderName: "X-A", HeaderValue: "v"}
	}
	if got, want := problems(rs.CheckRule(many)), "bad name! Name: ValidationError\nbad name! Actions: LimitExceeded\n"; got != want {
		t.Fatalf("CheckRule problems:\n%s\nwant:\n%s", got, want)
	}
}

// Check validates a whole rule set without a file; a name used twice is
// AlreadyExists, and an IP filter is checked on its own with CheckFilter.
func TestCheckRuleSet(t *testing.T) {
	rs := receipt.DefaultRules()
	rs.Rules = append(rs.Rules, rs.Rules[0])
	rs.Filters = []receipt.Filter{{Name: "f", IPFilter: receipt.IPFilter{Policy: "Allow", Cidr: "10.0.0.0/8"}}, {Name: "f", IPFilter: receipt.IPFilter{Policy: "Allow", Cidr: "10.0.0.0/8"}}}
	if got, want := problems(rs.Check()), " Filters[1].Name: AlreadyExists\nstore-all Rules[1].Name: AlreadyExists\n"; got != want {
		t.Fatalf("Check problems:\n%s\nwant:\n%s", got, want)
	}
	if got, want := problems(receipt.CheckFilter(&receipt.Filter{Name: "f", IPFilter: receipt.IPFilter{Cidr: "300.1.2.3"}})),
		" IpFilter.Policy: ValidationError\n IpFilter.Cidr: InvalidParameterValue\n"; got != want {
		t.Fatalf("CheckFilter problems:\n%s\nwant:\n%s", got, want)
	}
	// As SES (probed): a period is allowed, a space is a ValidationError,
	// and a bad first or last character an InvalidParameterValue.
	for name, want := range map[string]string{"a.b": "", "a b": " Name: ValidationError\n", "-ab": " Name: InvalidParameterValue\n"} {
		if got := problems(receipt.CheckRuleSetName(name)); got != want {
			t.Fatalf("CheckRuleSetName(%q) problems:\n%s\nwant:\n%s", name, got, want)
		}
	}
	if got, want := problems(receipt.CheckRuleSetName(strings.Repeat("a", 65))), " Name: InvalidParameterValue\n"; got != want {
		t.Fatalf("CheckRuleSetName problems:\n%s\nwant:\n%s", got, want)
	}
	// Validate formats the same problems for the source, as the file
	// loader does with lines.
	rs.Source = "code"
	if err := rs.Validate(); err == nil || !strings.Contains(err.Error(), `code: rule "store-all": Rules[1].Name: rule "store-all" is defined twice (AlreadyExists)`) {
		t.Fatalf("Validate() = %v", err)
	}
}

// Resources lists what the rules name, each once, for the bootstrap and,
// later, the API's checks.
func TestResources(t *testing.T) {
	rs, err := receipt.ParseRules(strings.NewReader(testRules), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs.Resources() {
		got = append(got, r.Kind+" "+r.Name)
	}
	want := []string{"bucket vip-mail", "kms key arn:aws:kms:us-east-1:111122223333:alias/aws/ses", "bucket archive"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Resources() = %q, want %q", got, want)
	}
}
