package sesapi_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
)

// TestCodesAsSES: the codes SES gives for names and enum values, as
// probed on AWS (ses-api.md §1.3, §1.4): a period is allowed in a rule set
// name, a character outside the pattern or a value outside an enum is a
// ValidationError, a bad first or last character an InvalidParameterValue;
// VerifyDomainDkim takes a domain only.
func TestCodesAsSES(t *testing.T) {
	em := startEmulator(t, nil)
	c := sesClient(em.URL(), region)
	ctx := t.Context()
	if _, err := c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("my.set")}); err != nil {
		t.Errorf("a rule set name with a period: %v", err)
	}
	for name, code := range map[string]string{"-set": "InvalidParameterValue", "set-": "InvalidParameterValue", "my set": "ValidationError"} {
		_, err := c.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String(name)})
		wantCode(t, "CreateReceiptRuleSet "+name, err, code)
	}
	_, err := c.CreateReceiptFilter(ctx, &ses.CreateReceiptFilterInput{Filter: &types.ReceiptFilter{Name: aws.String("f"),
		IpFilter: &types.ReceiptIpFilter{Policy: "Deny", Cidr: aws.String("10.0.0.0/8")}}})
	wantCode(t, "CreateReceiptFilter Policy Deny", err, "ValidationError")
	_, err = c.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("my.set"),
		Rule: &types.ReceiptRule{Name: aws.String("r"), TlsPolicy: "Sometimes"}})
	wantCode(t, "CreateReceiptRule TlsPolicy Sometimes", err, "ValidationError")
	_, err = c.VerifyDomainDkim(ctx, &ses.VerifyDomainDkimInput{Domain: aws.String("user@example.com")})
	wantCode(t, "VerifyDomainDkim of an address", err, "InvalidParameterValue")
}
