package receipt

import (
	"context"
	"reflect"
)

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

// actionKind is what every member of the Action union implements, so that
// a new action is one type with these methods and one line in member.
type actionKind interface {
	// name is the member's API name ("S3Action", ...).
	name() string
	// defaults fills in what the SES API defaults when a field is left out.
	defaults()
	// check reports every breach of SES's rules in the action, whose field
	// path is field, in rule set rs.
	check(v *validator, rs *RuleSet, field string)
	// readsContent reports whether run reads the rule's content (the
	// message as the rule stores it). Only the last action that reads it
	// may consume it, encrypting it in place.
	readsContent() bool
	// resources lists the AWS resources the action names.
	resources(add func(kind, name string))
	// run performs the action for one rule over one message and records
	// what it did in ar. stopRule ends the rule, stopSet the rule set.
	run(ctx context.Context, r *ruleRun, ar *ActionResult) (stopRule, stopSet bool, err error)
}

// member returns the member of the union that is set (the last one, when
// several are), and how many are set. It is the one place that lists them.
func (a *Action) member() (m actionKind, n int) {
	set := func(k actionKind, ok bool) {
		if ok {
			m, n = k, n+1
		}
	}
	set(a.S3Action, a.S3Action != nil)
	set(a.SNSAction, a.SNSAction != nil)
	set(a.LambdaAction, a.LambdaAction != nil)
	set(a.BounceAction, a.BounceAction != nil)
	set(a.StopAction, a.StopAction != nil)
	set(a.AddHeaderAction, a.AddHeaderAction != nil)
	set(a.WorkmailAction, a.WorkmailAction != nil)
	set(a.ConnectAction, a.ConnectAction != nil)
	return m, n
}

// Type returns the API name of the action's member ("S3Action", ...), or ""
// when none is set.
func (a *Action) Type() string {
	if m, _ := a.member(); m != nil {
		return m.name()
	}
	return ""
}

// actionNames lists the API names of the union's members, in the order of
// Action's fields, for messages.
func actionNames() []string {
	t := reflect.TypeFor[Action]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Tag.Get("yaml")
	}
	return names
}

func (*S3Action) name() string        { return "S3Action" }
func (*SNSAction) name() string       { return "SNSAction" }
func (*LambdaAction) name() string    { return "LambdaAction" }
func (*BounceAction) name() string    { return "BounceAction" }
func (*StopAction) name() string      { return "StopAction" }
func (*AddHeaderAction) name() string { return "AddHeaderAction" }
func (*WorkmailAction) name() string  { return "WorkmailAction" }
func (*ConnectAction) name() string   { return "ConnectAction" }

func (*S3Action) defaults()        {}
func (*BounceAction) defaults()    {}
func (*StopAction) defaults()      {}
func (*AddHeaderAction) defaults() {}
func (*WorkmailAction) defaults()  {}
func (*ConnectAction) defaults()   {}

func (a *SNSAction) defaults() {
	if a.Encoding == "" {
		a.Encoding = EncodingUTF8
	}
}

func (a *LambdaAction) defaults() {
	if a.InvocationType == "" {
		a.InvocationType = InvocationEvent
	}
}

func (*S3Action) readsContent() bool        { return true }
func (*SNSAction) readsContent() bool       { return true }
func (*LambdaAction) readsContent() bool    { return true } // the event's mail object
func (*BounceAction) readsContent() bool    { return true } // the DSN quotes the header
func (*AddHeaderAction) readsContent() bool { return true }
func (*ConnectAction) readsContent() bool   { return false }

// A notification carries the mail object, which is read from the content.
func (a *StopAction) readsContent() bool     { return a.TopicArn != "" }
func (a *WorkmailAction) readsContent() bool { return a.TopicArn != "" }

// Kinds of Resource.
const (
	ResourceBucket   = "bucket"
	ResourceKMSKey   = "kms key"
	ResourceTopic    = "sns topic"
	ResourceFunction = "lambda function"
)

// Resource is an AWS resource that a rule set names.
type Resource struct {
	Kind string // ResourceBucket, ResourceKMSKey, ...
	Name string // the bucket name or the ARN, as configured
}

// Resources lists the resources the rule set's actions name, each once, in
// rule and action order.
func (rs *RuleSet) Resources() []Resource {
	var out []Resource
	seen := map[Resource]bool{}
	add := func(kind, name string) {
		if r := (Resource{kind, name}); name != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for i := range rs.Rules {
		for j := range rs.Rules[i].Actions {
			if m, _ := rs.Rules[i].Actions[j].member(); m != nil {
				m.resources(add)
			}
		}
	}
	return out
}

func (a *S3Action) resources(add func(kind, name string)) {
	add(ResourceBucket, a.BucketName)
	add(ResourceKMSKey, a.KmsKeyArn)
	add(ResourceTopic, a.TopicArn)
}
func (a *SNSAction) resources(add func(kind, name string)) { add(ResourceTopic, a.TopicArn) }
func (a *LambdaAction) resources(add func(kind, name string)) {
	add(ResourceFunction, a.FunctionArn)
	add(ResourceTopic, a.TopicArn)
}
func (a *BounceAction) resources(add func(kind, name string)) { add(ResourceTopic, a.TopicArn) }
func (a *StopAction) resources(add func(kind, name string))   { add(ResourceTopic, a.TopicArn) }
func (*AddHeaderAction) resources(func(kind, name string))    {}
func (a *WorkmailAction) resources(add func(kind, name string)) {
	add(ResourceTopic, a.TopicArn)
}
func (*ConnectAction) resources(func(kind, name string)) {}

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
