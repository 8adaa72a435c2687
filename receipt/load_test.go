package receipt

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestLoadRulesYAML(t *testing.T) {
	rs, err := LoadRules("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if rs.AccountID != "111122223333" || rs.Region != "eu-west-1" || rs.Source != "testdata/rules.yaml" {
		t.Fatalf("account/region/source = %q/%q/%q", rs.AccountID, rs.Region, rs.Source)
	}
	if len(rs.Rules) != 2 || len(rs.Filters) != 2 {
		t.Fatalf("got %d rules and %d filters, want 2 and 2", len(rs.Rules), len(rs.Filters))
	}
	r := rs.Rules[0]
	if !r.Enabled || !r.ScanEnabled || r.TLSPolicy != TLSPolicyOptional {
		t.Errorf("rule %q: Enabled=%v ScanEnabled=%v TlsPolicy=%q", r.Name, r.Enabled, r.ScanEnabled, r.TLSPolicy)
	}
	if got := r.Actions[0].S3Action.ObjectKeyPrefix; got != "emails/" {
		t.Errorf("ObjectKeyPrefix = %q", got)
	}
	// Left out, Enabled takes the API default: false.
	if rs.Rules[1].Enabled {
		t.Errorf("rule %q is enabled; the SES API default is disabled", rs.Rules[1].Name)
	}
}

// The output of `aws ses describe-active-receipt-rule-set` loads unchanged.
func TestLoadRulesDescribeOutput(t *testing.T) {
	rs, err := LoadRules("testdata/describe-active-receipt-rule-set.json")
	if err != nil {
		t.Fatal(err)
	}
	if rs.Metadata == nil || rs.Metadata.Name != "inbound" {
		t.Fatalf("Metadata = %+v", rs.Metadata)
	}
	if rs.AccountID != DefaultAccountID || rs.Region != DefaultRegion {
		t.Errorf("defaults not applied: %q %q", rs.AccountID, rs.Region)
	}
	if got := rs.Rules[0].Actions[1].Type(); got != "StopAction" {
		t.Errorf("second action = %s", got)
	}
}

func TestDefaultRules(t *testing.T) {
	rs := DefaultRules()
	if err := rs.Validate(); err != nil {
		t.Fatal(err)
	}
	r := rs.Rules[0]
	s := r.Actions[0].S3Action
	if r.Name != "store-all" || !r.Enabled || len(r.Recipients) != 0 || s.BucketName != "ses-inbound" ||
		s.KmsKeyArn != "arn:aws:kms:us-east-1:000000000000:alias/aws/ses" {
		t.Fatalf("DefaultRules() = %+v %+v", r, s)
	}
}

func TestParseRulesProblems(t *testing.T) {
	for _, tt := range []struct {
		name string
		doc  string
		want []string // substrings, one per expected problem, in order
	}{
		{
			"unknown top-level key",
			"Rulez: []\n",
			[]string{`rules.yaml:1: Rulez: unknown field (did you mean Rules?)`},
		},
		{
			"unknown key in an action names the rule",
			"Rules:\n  - Name: store\n    Enabled: true\n    Actions:\n      - S3Action: {BuckeName: b}\n",
			[]string{
				`rules.yaml:5: rule "store": Rules[0].Actions[0].S3Action.BuckeName: unknown field (did you mean BucketName?)`,
			},
		},
		{
			"wrong types",
			"Rules:\n  - Name: r\n    Enabled: yes\n    Recipients: example.com\n",
			[]string{
				`rules.yaml:3: rule "r": Rules[0].Enabled: want true or false, got "yes"`,
				`rules.yaml:4: rule "r": Rules[0].Recipients: want a list, got "example.com"`,
			},
		},
		{
			"every validation problem at once",
			"AccountId: '12'\nRules:\n  - Name: -bad\n    TlsPolicy: Always\n    Actions:\n      - S3Action: {}\n      - StopAction: {Scope: Rule}\n  - Name: ok\n    Recipients: ['not an address@']\n",
			[]string{
				`rules.yaml:1: AccountId: must be 12 digits, got "12"`,
				`rules.yaml:3: rule "-bad": Rules[0].Name: "-bad" must start and end with a letter or digit`,
				`rules.yaml:4: rule "-bad": Rules[0].TlsPolicy: must be Optional or Require, got "Always"`,
				`rules.yaml:6: rule "-bad": Rules[0].Actions[0].S3Action.BucketName: is required`,
				`rules.yaml:7: rule "-bad": Rules[0].Actions[1].StopAction.Scope: must be RuleSet, got "Rule"`,
				`rules.yaml:9: rule "ok": Rules[1].Recipients[0]: "not an address@"`,
			},
		},
		{
			"duplicate rule names",
			"Rules:\n  - Name: a\n  - Name: a\n",
			[]string{`rules.yaml:3: rule "a": Rules[1].Name: rule "a" is defined twice`},
		},
		{
			"two actions in one element",
			"Rules:\n  - Name: a\n    Actions:\n      - {S3Action: {BucketName: bucket}, StopAction: {Scope: RuleSet}}\n",
			[]string{`rule "a": Rules[0].Actions[0]: sets 2 actions in one element`},
		},
		{
			"key in another region",
			"Rules:\n  - Name: a\n    Actions:\n      - S3Action: {BucketName: bucket, KmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:alias/aws/ses'}\n",
			[]string{`Rules[0].Actions[0].S3Action.KmsKeyArn: key is in region eu-west-1; SES needs a key in the rule set's region us-east-1`},
		},
		{
			"bad filters",
			"Filters:\n  - Name: f\n    IpFilter: {Policy: Deny, Cidr: 10.0.0.0/33}\n",
			[]string{
				`rules.yaml:3: Filters[0].IpFilter.Policy: must be Block or Allow, got "Deny"`,
				`rules.yaml:3: Filters[0].IpFilter.Cidr: "10.0.0.0/33" is not a CIDR range`,
			},
		},
		{
			"syntax error",
			"Rules: [\n",
			[]string{`rules.yaml: `},
		},
		{"empty file", "", []string{"rules.yaml: the file is empty"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules(strings.NewReader(tt.doc), "rules.yaml")
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseRules() error = %v, want a *ConfigError", err)
			}
			if len(ce.Problems) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ce.Problems), len(tt.want), err)
			}
			for i, p := range ce.Problems {
				if !strings.Contains(p.String(), tt.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, p.String(), tt.want[i])
				}
			}
		})
	}
}

func TestParseRulesLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("Rules:\n")
	for i := 0; i < MaxRules+1; i++ {
		fmt.Fprintf(&b, "  - Name: r%d\n", i)
	}
	b.WriteString("    Recipients: [")
	for i := 0; i < MaxRecipientsRule+1; i++ {
		fmt.Fprintf(&b, "u%d@example.com,", i)
	}
	b.WriteString("]\n    Actions:\n")
	for i := 0; i < MaxActionsPerRule+1; i++ {
		b.WriteString("      - StopAction: {Scope: RuleSet}\n")
	}
	_, err := ParseRules(strings.NewReader(b.String()), "big.yaml")
	for _, want := range []string{
		"Rules: has 201 rules; SES allows at most 200",
		`rule "r200": Rules[200].Recipients: has 101 recipients; SES allows at most 100`,
		`rule "r200": Rules[200].Actions: has 11 actions; SES allows at most 10`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v\nwant it to contain %q", err, want)
		}
	}
}

func TestParseRulesActions(t *testing.T) {
	doc := `
Topics: {"arn:aws:sns:us-east-1:000000000000:t": "http://127.0.0.1:9000/sns", "arn:aws:sns:us-east-1:000000000000:bad": "ftp://x"}
Rules:
  - Name: all
    Actions:
      - SNSAction: {TopicArn: "arn:aws:sns:us-east-1:000000000000:t"}
      - SNSAction: {TopicArn: "arn:aws:sns:us-east-1:000000000000:t", Encoding: base64}
      - LambdaAction: {FunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:f"}
      - LambdaAction: {FunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:f", InvocationType: Sync}
      - BounceAction: {SmtpReplyCode: "550", StatusCode: "4.1.1", Message: m, Sender: "no-at-sign"}
      - AddHeaderAction: {HeaderName: "X Bad", HeaderValue: ok}
      - WorkmailAction: {OrganizationArn: "arn:aws:workmail:us-east-1:000000000000:organization/m-1"}
      - ConnectAction: {InstanceARN: "arn:aws:connect:us-east-1:000000000000:instance/i"}
`
	_, err := ParseRules(strings.NewReader(doc), "rules.yaml")
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("ParseRules() = %v", err)
	}
	var got []string
	for _, p := range ce.Problems {
		got = append(got, p.Field+": "+p.Msg)
	}
	want := []string{
		`Topics.arn:aws:sns:us-east-1:000000000000:bad: "ftp://x" is not an http or https URL`,
		`Rules[0].Actions[1].SNSAction.Encoding: must be UTF-8 or Base64, got "base64"`,
		`Rules[0].Actions[3].LambdaAction.InvocationType: must be Event or RequestResponse, got "Sync"`,
		`Rules[0].Actions[4].BounceAction.StatusCode: class 4 does not match SmtpReplyCode 550`,
		`Rules[0].Actions[4].BounceAction.Sender: "no-at-sign" is not an email address`,
		`Rules[0].Actions[5].AddHeaderAction.HeaderName: "X Bad" must be 1 to 50 letters, digits and hyphens`,
		`Rules[0].Actions[7].ConnectAction.IAMRoleARN: is required`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
