package receipt

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SES quotas and name rules (SES API reference; SES developer guide, quotas).
const (
	MaxRules          = 200
	MaxActionsPerRule = 10
	MaxRecipientsRule = 100
	MaxFilters        = 100
	maxNameLen        = 64
	maxHeaderNameLen  = 50
	maxHeaderValueLen = 2048
	minIAMRoleARNLen  = 20
	maxIAMRoleARNLen  = 2048
)

var (
	// Rule names: letters, digits, underscores, hyphens and periods; start and
	// end with a letter or digit.
	ruleNameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$`)
	// Rule set names allow no periods.
	ruleSetNameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$`)
	// Filter names: the API says letters, digits, _ and -; the console also
	// accepts periods, so we do.
	filterNameRE  = ruleNameRE
	accountRE     = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE      = regexp.MustCompile(`^[a-z]{2,}(?:-[a-z0-9]+)+$`)
	headerNameRE  = regexp.MustCompile(`^[A-Za-z0-9-]{1,50}$`)
	kmsKeyARNRE   = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):([0-9]{12}):(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)$`)
	snsTopicARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$`)
	lambdaARNRE   = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9$_-]+)?$`)
	iamRoleARNRE  = regexp.MustCompile(`^arn:[\w-]+:iam::[0-9]+:role/[\w+=,.@/-]+$`)
	anyARNRE      = regexp.MustCompile(`^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{0,12}:.+$`)
	smtpCodeRE    = regexp.MustCompile(`^[45][0-9][0-9]$`)
	statusCodeRE  = regexp.MustCompile(`^[45]\.[0-9]{1,3}\.[0-9]{1,3}$`)
	bucketNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// applyDefaults fills in what the SES API defaults when a field is left out.
func (rs *RuleSet) applyDefaults() {
	if rs.AccountID == "" {
		rs.AccountID = DefaultAccountID
	}
	if rs.Region == "" {
		rs.Region = DefaultRegion
	}
	for i := range rs.Rules {
		r := &rs.Rules[i]
		if r.TLSPolicy == "" {
			r.TLSPolicy = TLSPolicyOptional
		}
		for _, a := range r.Actions {
			switch {
			case a.SNSAction != nil && a.SNSAction.Encoding == "":
				a.SNSAction.Encoding = EncodingUTF8
			case a.LambdaAction != nil && a.LambdaAction.InvocationType == "":
				a.LambdaAction.InvocationType = InvocationEvent
			}
		}
	}
}

// Validate checks a rule set built in code (ParseRules already validates
// what it loads) and applies the API defaults.
func (rs *RuleSet) Validate() error {
	rs.applyDefaults()
	ps := rs.validate()
	if len(ps) == 0 {
		return nil
	}
	for i := range ps {
		ps[i].File = rs.Source
		if strings.HasPrefix(ps[i].Field, "Rules[") {
			end := strings.IndexByte(ps[i].Field, ']')
			if n, err := strconv.Atoi(ps[i].Field[len("Rules["):end]); err == nil && n < len(rs.Rules) {
				ps[i].Rule = rs.Rules[n].Name
			}
		}
	}
	return &ConfigError{Problems: ps}
}

// validate returns every breach of SES's rules, each with its field path.
func (rs *RuleSet) validate() []Problem {
	var v validator
	if !accountRE.MatchString(rs.AccountID) {
		v.addf("AccountId", "must be 12 digits, got %q", rs.AccountID)
	}
	if !regionRE.MatchString(rs.Region) {
		v.addf("Region", "%q is not an AWS region name", rs.Region)
	}
	for i, d := range rs.VerifiedDomains {
		if !validDomain(d) {
			v.addf(fmt.Sprintf("VerifiedDomains[%d]", i), "%q is not a domain name", d)
		}
	}
	if m := rs.Metadata; m != nil && m.Name != "" {
		v.name("Metadata.Name", m.Name, ruleSetNameRE, "letters, digits, underscores and hyphens")
	}
	if len(rs.Filters) > MaxFilters {
		v.addf("Filters", "has %d filters; SES allows at most %d", len(rs.Filters), MaxFilters)
	}
	filterNames := map[string]bool{}
	for i, f := range rs.Filters {
		p := fmt.Sprintf("Filters[%d]", i)
		if v.name(p+".Name", f.Name, filterNameRE, "letters, digits, underscores, hyphens and periods") {
			if filterNames[f.Name] {
				v.addf(p+".Name", "filter %q is defined twice", f.Name)
			}
			filterNames[f.Name] = true
		}
		switch f.IPFilter.Policy {
		case FilterPolicyBlock, FilterPolicyAllow:
		case "":
			v.addf(p+".IpFilter.Policy", "is required (Block or Allow)")
		default:
			v.addf(p+".IpFilter.Policy", "must be Block or Allow, got %q", f.IPFilter.Policy)
		}
		if _, err := ParseCIDR(f.IPFilter.Cidr); err != nil {
			v.addf(p+".IpFilter.Cidr", "%v", err)
		}
	}
	for _, arn := range slices.Sorted(maps.Keys(rs.Topics)) {
		v.arn("Topics."+arn, arn, snsTopicARNRE, "an SNS topic ARN")
		v.url("Topics."+arn, rs.Topics[arn])
	}
	for _, arn := range slices.Sorted(maps.Keys(rs.Functions)) {
		v.arn("Functions."+arn, arn, lambdaARNRE, "a Lambda function ARN")
		v.url("Functions."+arn, rs.Functions[arn])
	}
	if rs.Faults != nil {
		checkFaults(&v, "Faults", rs.Faults)
	}
	if len(rs.Rules) > MaxRules {
		v.addf("Rules", "has %d rules; SES allows at most %d per rule set", len(rs.Rules), MaxRules)
	}
	ruleNames := map[string]bool{}
	for i := range rs.Rules {
		r := &rs.Rules[i]
		p := fmt.Sprintf("Rules[%d]", i)
		if v.name(p+".Name", r.Name, ruleNameRE, "letters, digits, underscores, hyphens and periods") {
			if ruleNames[r.Name] {
				v.addf(p+".Name", "rule %q is defined twice (AlreadyExists)", r.Name)
			}
			ruleNames[r.Name] = true
		}
		switch r.TLSPolicy {
		case TLSPolicyOptional, TLSPolicyRequire:
		default:
			v.addf(p+".TlsPolicy", "must be Optional or Require, got %q", r.TLSPolicy)
		}
		if len(r.Recipients) > MaxRecipientsRule {
			v.addf(p+".Recipients", "has %d recipients; SES allows at most %d per rule", len(r.Recipients), MaxRecipientsRule)
		}
		for j, rc := range r.Recipients {
			if err := checkRecipient(rc); err != nil {
				v.addf(fmt.Sprintf("%s.Recipients[%d]", p, j), "%v", err)
			}
		}
		if len(r.Actions) > MaxActionsPerRule {
			v.addf(p+".Actions", "has %d actions; SES allows at most %d per rule", len(r.Actions), MaxActionsPerRule)
		}
		for j := range r.Actions {
			v.action(rs, fmt.Sprintf("%s.Actions[%d]", p, j), &r.Actions[j])
		}
	}
	return v.problems
}

type validator struct{ problems []Problem }

func (v *validator) addf(field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) required(field, value string) bool {
	if value == "" {
		v.addf(field, "is required")
		return false
	}
	return true
}

// name checks an SES resource name and reports whether it is valid.
func (v *validator) name(field, name string, re *regexp.Regexp, allowed string) bool {
	switch {
	case name == "":
		v.addf(field, "is required")
	case len(name) > maxNameLen:
		v.addf(field, "%q is %d characters; at most %d are allowed", name, len(name), maxNameLen)
	case !re.MatchString(name):
		v.addf(field, "%q may contain only %s, and must start and end with a letter or digit", name, allowed)
	default:
		return true
	}
	return false
}

func (v *validator) arn(field, value string, re *regexp.Regexp, what string) {
	if value != "" && !re.MatchString(value) {
		v.addf(field, "%q is not %s", value, what)
	}
}

func (v *validator) url(field, value string) {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.addf(field, "%q is not an http or https URL", value)
	}
}

func (v *validator) action(rs *RuleSet, p string, a *Action) {
	switch n := a.members(); {
	case n == 0:
		v.addf(p, "names no action; set exactly one of S3Action, SNSAction, LambdaAction, BounceAction, StopAction, AddHeaderAction, WorkmailAction, ConnectAction")
		return
	case n > 1:
		v.addf(p, "sets %d actions in one element; each element of Actions holds exactly one", n)
		return
	}
	p += "." + a.Type()
	switch {
	case a.S3Action != nil:
		s := a.S3Action
		if v.required(p+".BucketName", s.BucketName) && !validBucketName(s.BucketName) {
			v.addf(p+".BucketName", "%q is not a valid S3 bucket name", s.BucketName)
		}
		if s.KmsKeyArn != "" {
			if m := kmsKeyARNRE.FindStringSubmatch(s.KmsKeyArn); m == nil {
				v.addf(p+".KmsKeyArn", "%q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID or arn:aws:kms:REGION:ACCOUNT:alias/NAME)", s.KmsKeyArn)
			} else if m[1] != rs.Region {
				v.addf(p+".KmsKeyArn", "key is in region %s; SES needs a key in the rule set's region %s", m[1], rs.Region)
			}
		}
		v.arn(p+".TopicArn", s.TopicArn, snsTopicARNRE, "an SNS topic ARN")
		if s.IamRoleArn != "" && (len(s.IamRoleArn) < minIAMRoleARNLen || len(s.IamRoleArn) > maxIAMRoleARNLen || !iamRoleARNRE.MatchString(s.IamRoleArn)) {
			v.addf(p+".IamRoleArn", "%q is not an IAM role ARN", s.IamRoleArn)
		}
	case a.StopAction != nil:
		s := a.StopAction
		if v.required(p+".Scope", s.Scope) && s.Scope != StopScopeRuleSet {
			v.addf(p+".Scope", "must be RuleSet, got %q", s.Scope)
		}
		v.arn(p+".TopicArn", s.TopicArn, snsTopicARNRE, "an SNS topic ARN")
	case a.SNSAction != nil:
		s := a.SNSAction
		if v.required(p+".TopicArn", s.TopicArn) {
			v.arn(p+".TopicArn", s.TopicArn, snsTopicARNRE, "an SNS topic ARN")
		}
		switch s.Encoding {
		case EncodingUTF8, EncodingBase64:
		default:
			v.addf(p+".Encoding", "must be UTF-8 or Base64, got %q", s.Encoding)
		}
	case a.LambdaAction != nil:
		s := a.LambdaAction
		if v.required(p+".FunctionArn", s.FunctionArn) {
			v.arn(p+".FunctionArn", s.FunctionArn, lambdaARNRE, "a Lambda function ARN")
		}
		switch s.InvocationType {
		case InvocationEvent, InvocationRequestResponse:
		default:
			v.addf(p+".InvocationType", "must be Event or RequestResponse, got %q", s.InvocationType)
		}
		v.arn(p+".TopicArn", s.TopicArn, snsTopicARNRE, "an SNS topic ARN")
	case a.BounceAction != nil:
		s := a.BounceAction
		if v.required(p+".SmtpReplyCode", s.SmtpReplyCode) && !smtpCodeRE.MatchString(s.SmtpReplyCode) {
			v.addf(p+".SmtpReplyCode", "must be a 4xx or 5xx SMTP reply code, got %q", s.SmtpReplyCode)
		}
		if s.StatusCode != "" && !statusCodeRE.MatchString(s.StatusCode) {
			v.addf(p+".StatusCode", "must be an enhanced status code like 5.1.1, got %q", s.StatusCode)
		}
		if s.StatusCode != "" && s.SmtpReplyCode != "" && s.StatusCode[0] != s.SmtpReplyCode[0] {
			v.addf(p+".StatusCode", "class %c does not match SmtpReplyCode %s", s.StatusCode[0], s.SmtpReplyCode)
		}
		v.required(p+".Message", s.Message)
		if v.required(p+".Sender", s.Sender) && (!strings.Contains(s.Sender, "@") || checkRecipient(s.Sender) != nil) {
			v.addf(p+".Sender", "%q is not an email address", s.Sender)
		}
		v.arn(p+".TopicArn", s.TopicArn, snsTopicARNRE, "an SNS topic ARN")
	case a.AddHeaderAction != nil:
		s := a.AddHeaderAction
		if v.required(p+".HeaderName", s.HeaderName) && !headerNameRE.MatchString(s.HeaderName) {
			v.addf(p+".HeaderName", "%q must be 1 to %d letters, digits and hyphens", s.HeaderName, maxHeaderNameLen)
		}
		if len(s.HeaderValue) >= maxHeaderValueLen {
			v.addf(p+".HeaderValue", "is %d characters; SES allows fewer than %d", len(s.HeaderValue), maxHeaderValueLen)
		}
		if strings.ContainsAny(s.HeaderValue, "\r\n") {
			v.addf(p+".HeaderValue", "must not contain line breaks")
		}
		v.required(p+".HeaderValue", s.HeaderValue)
	case a.WorkmailAction != nil:
		s := a.WorkmailAction
		if v.required(p+".OrganizationArn", s.OrganizationArn) {
			v.arn(p+".OrganizationArn", s.OrganizationArn, anyARNRE, "an ARN")
		}
		v.arn(p+".TopicArn", s.TopicArn, snsTopicARNRE, "an SNS topic ARN")
	case a.ConnectAction != nil:
		s := a.ConnectAction
		if v.required(p+".InstanceARN", s.InstanceARN) {
			v.arn(p+".InstanceARN", s.InstanceARN, anyARNRE, "an ARN")
		}
		if v.required(p+".IAMRoleARN", s.IAMRoleARN) {
			v.arn(p+".IAMRoleARN", s.IAMRoleARN, iamRoleARNRE, "an IAM role ARN")
		}
	}
}

// checkRecipient accepts what SES accepts in Recipients: an address
// (user@example.com), a domain (example.com) or all subdomains of a domain
// (.example.com).
func checkRecipient(rc string) error {
	if rc == "" {
		return fmt.Errorf("empty recipient")
	}
	if at := strings.LastIndexByte(rc, '@'); at >= 0 {
		local, domain := rc[:at], rc[at+1:]
		if local == "" || strings.ContainsAny(local, " \t<>\"") {
			return fmt.Errorf("%q is not an email address", rc)
		}
		if !validDomain(domain) {
			return fmt.Errorf("%q: %q is not a domain name", rc, domain)
		}
		return nil
	}
	if !validDomain(strings.TrimPrefix(rc, ".")) {
		return fmt.Errorf("%q is not an address, a domain or a .subdomain", rc)
	}
	return nil
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c > 127) {
				return false
			}
		}
	}
	return true
}

func validBucketName(b string) bool {
	if !bucketNameRE.MatchString(b) || strings.Contains(b, "..") {
		return false
	}
	_, err := netip.ParseAddr(b)
	return err != nil // must not look like an IP address
}

// ParseCIDR parses an IP filter's Cidr: a single address or a CIDR range.
func ParseCIDR(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("is required (an IP address or a CIDR range)")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR range", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
