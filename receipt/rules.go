package receipt

// The types below copy the SES v1 API shapes (ReceiptRule, ReceiptAction,
// ReceiptFilter, ReceiptRuleSetMetadata) field for field, so the output of
// `aws ses describe-active-receipt-rule-set` and `aws ses
// list-receipt-filters` can be pasted into a rules file unchanged.
// https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html

// Defaults applied where a rules file leaves a value out.
const (
	DefaultAccountID = "000000000000"
	DefaultRegion    = "us-east-1"
)

// Values of the API's enumerations.
const (
	TLSPolicyOptional = "Optional"
	TLSPolicyRequire  = "Require"

	StopScopeRuleSet = "RuleSet"

	FilterPolicyBlock = "Block"
	FilterPolicyAllow = "Allow"

	EncodingUTF8   = "UTF-8"
	EncodingBase64 = "Base64"

	InvocationEvent           = "Event"
	InvocationRequestResponse = "RequestResponse"
)

// RuleSet is the active receipt rule set together with the account settings
// SES keeps elsewhere (account, region, verified domains, IP filters).
type RuleSet struct {
	AccountID       string           `yaml:"AccountId"`
	Region          string           `yaml:"Region"`
	VerifiedDomains []string         `yaml:"VerifiedDomains"`
	Filters         []Filter         `yaml:"Filters"`
	Metadata        *RuleSetMetadata `yaml:"Metadata"`
	Rules           []Rule           `yaml:"Rules"`

	// Topics and Functions are sesinbound's own additions: they map SNS
	// topic and Lambda function ARNs to HTTP URLs that receive the topic's
	// notifications (in SNS's HTTP-subscription format) and the function's
	// events.
	Topics    map[string]string `yaml:"Topics"`
	Functions map[string]string `yaml:"Functions"`
	// Faults are failures to inject from the start (see FaultSpec).
	Faults *FaultSpec `yaml:"Faults"`

	// Source names where the rules came from (a path, or "built-in"), for
	// messages.
	Source string `yaml:"-"`
}

// RuleSetMetadata is what DescribeReceiptRuleSet returns about the set.
type RuleSetMetadata struct {
	Name             string `yaml:"Name"`
	CreatedTimestamp string `yaml:"CreatedTimestamp"`
}

// Filter is an SES receipt IP address filter.
type Filter struct {
	Name     string   `yaml:"Name"`
	IPFilter IPFilter `yaml:"IpFilter"`
}

// IPFilter blocks or allows one address or CIDR range.
type IPFilter struct {
	Policy string `yaml:"Policy"`
	Cidr   string `yaml:"Cidr"`
}

// Rule is one receipt rule. As in the SES API, Enabled and ScanEnabled
// default to false and TlsPolicy to Optional.
type Rule struct {
	Name        string   `yaml:"Name"`
	Enabled     bool     `yaml:"Enabled"`
	TLSPolicy   string   `yaml:"TlsPolicy"`
	ScanEnabled bool     `yaml:"ScanEnabled"`
	Recipients  []string `yaml:"Recipients"`
	Actions     []Action `yaml:"Actions"`
}

// Action is a union: exactly one member is set.
type Action struct {
	S3Action        *S3Action        `yaml:"S3Action"`
	SNSAction       *SNSAction       `yaml:"SNSAction"`
	LambdaAction    *LambdaAction    `yaml:"LambdaAction"`
	BounceAction    *BounceAction    `yaml:"BounceAction"`
	StopAction      *StopAction      `yaml:"StopAction"`
	AddHeaderAction *AddHeaderAction `yaml:"AddHeaderAction"`
	WorkmailAction  *WorkmailAction  `yaml:"WorkmailAction"`
	ConnectAction   *ConnectAction   `yaml:"ConnectAction"`
}

// S3Action stores the message in S3, encrypted when KmsKeyArn is set.
type S3Action struct {
	BucketName      string `yaml:"BucketName"`
	ObjectKeyPrefix string `yaml:"ObjectKeyPrefix"`
	KmsKeyArn       string `yaml:"KmsKeyArn"`
	TopicArn        string `yaml:"TopicArn"`
	IamRoleArn      string `yaml:"IamRoleArn"`
}

// SNSAction publishes the message, content included, to a topic.
type SNSAction struct {
	TopicArn string `yaml:"TopicArn"`
	Encoding string `yaml:"Encoding"`
}

// LambdaAction invokes a function with the SES event.
type LambdaAction struct {
	FunctionArn    string `yaml:"FunctionArn"`
	InvocationType string `yaml:"InvocationType"`
	TopicArn       string `yaml:"TopicArn"`
}

// BounceAction mails a DSN back to the envelope sender.
type BounceAction struct {
	SmtpReplyCode string `yaml:"SmtpReplyCode"`
	StatusCode    string `yaml:"StatusCode"`
	Message       string `yaml:"Message"`
	Sender        string `yaml:"Sender"`
	TopicArn      string `yaml:"TopicArn"`
}

// StopAction ends the evaluation of the rule set.
type StopAction struct {
	Scope    string `yaml:"Scope"`
	TopicArn string `yaml:"TopicArn"`
}

// AddHeaderAction appends a header to the message.
type AddHeaderAction struct {
	HeaderName  string `yaml:"HeaderName"`
	HeaderValue string `yaml:"HeaderValue"`
}

// WorkmailAction hands the message to Amazon WorkMail.
type WorkmailAction struct {
	OrganizationArn string `yaml:"OrganizationArn"`
	TopicArn        string `yaml:"TopicArn"`
}

// ConnectAction hands the message to Amazon Connect.
type ConnectAction struct {
	InstanceARN string `yaml:"InstanceARN"`
	IAMRoleARN  string `yaml:"IAMRoleARN"`
}

// Type returns the API name of the action's member ("S3Action", ...), or ""
// when none is set.
func (a *Action) Type() string {
	switch {
	case a.S3Action != nil:
		return "S3Action"
	case a.SNSAction != nil:
		return "SNSAction"
	case a.LambdaAction != nil:
		return "LambdaAction"
	case a.BounceAction != nil:
		return "BounceAction"
	case a.StopAction != nil:
		return "StopAction"
	case a.AddHeaderAction != nil:
		return "AddHeaderAction"
	case a.WorkmailAction != nil:
		return "WorkmailAction"
	case a.ConnectAction != nil:
		return "ConnectAction"
	}
	return ""
}

// members counts how many members of the union are set.
func (a *Action) members() int {
	n := 0
	for _, set := range []bool{a.S3Action != nil, a.SNSAction != nil, a.LambdaAction != nil,
		a.BounceAction != nil, a.StopAction != nil, a.AddHeaderAction != nil,
		a.WorkmailAction != nil, a.ConnectAction != nil} {
		if set {
			n++
		}
	}
	return n
}

// DefaultKMSKeyARN is the SES-managed key of an account and region, the one
// the built-in rule uses.
func DefaultKMSKeyARN(region, accountID string) string {
	return "arn:aws:kms:" + region + ":" + accountID + ":alias/aws/ses"
}

// DefaultRules returns the rule set used when no rules file is given: one
// enabled catch-all rule, store-all, that stores every message in bucket
// ses-inbound encrypted under the account's aws/ses key.
func DefaultRules() *RuleSet {
	rs := &RuleSet{
		AccountID: DefaultAccountID,
		Region:    DefaultRegion,
		Source:    "built-in",
		Rules: []Rule{{
			Name:      "store-all",
			Enabled:   true,
			TLSPolicy: TLSPolicyOptional,
			Actions: []Action{{S3Action: &S3Action{
				BucketName: "ses-inbound",
				KmsKeyArn:  DefaultKMSKeyARN(DefaultRegion, DefaultAccountID),
			}}},
		}},
	}
	return rs
}
