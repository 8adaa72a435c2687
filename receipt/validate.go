package receipt

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
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
	// Rule, rule set and filter names: letters, digits, underscores,
	// hyphens and periods (SES's documentation allows periods in rule names
	// only, but SES accepts them in all three, as probed), starting and
	// ending with a letter or digit (nameEndsRE).
	nameRE        = lazyRE(`^[A-Za-z0-9_.-]+$`)
	nameEndsRE    = lazyRE(`^[A-Za-z0-9](?:.*[A-Za-z0-9])?$`)
	accountRE     = lazyRE(`^[0-9]{12}$`)
	regionRE      = lazyRE(`^[a-z]{2,}(?:-[a-z0-9]+)+$`)
	headerNameRE  = lazyRE(`^[A-Za-z0-9-]{1,50}$`)
	kmsKeyARNRE   = lazyRE(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):([0-9]{12}):(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)$`)
	snsTopicARNRE = lazyRE(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$`)
	lambdaARNRE   = lazyRE(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9$_-]+)?$`)
	iamRoleARNRE  = lazyRE(`^arn:[\w-]+:iam::[0-9]+:role/[\w+=,.@/-]+$`)
	anyARNRE      = lazyRE(`^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{0,12}:.+$`)
	smtpCodeRE    = lazyRE(`^[45][0-9][0-9]$`)
	statusCodeRE  = lazyRE(`^[45]\.[0-9]{1,3}\.[0-9]{1,3}$`)
	bucketNameRE  = lazyRE(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// lazyRE compiles expr on first use: most of these patterns are only
// needed for the fields a rule set actually has, and compiling them all in
// package init cost startup about 1.5 ms.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// ProblemKind says what sort of breach a Problem is. It is how the SES API
// reports it (SESCode), so a second door into validation (the SES API)
// and the rules file share one validator.
type ProblemKind int

// Kinds of Problem. The zero value is KindInvalidValue.
const (
	// KindInvalidValue: a value SES refuses (InvalidParameterValue).
	KindInvalidValue ProblemKind = iota
	// KindValidation: a required field is missing, or a value breaks a
	// length or pattern constraint (ValidationError).
	KindValidation
	// KindS3: an S3 action's bucket, key or role (InvalidS3Configuration).
	KindS3
	// KindSNSTopic: an SNS topic ARN (InvalidSnsTopic).
	KindSNSTopic
	// KindLambda: a Lambda function ARN (InvalidLambdaFunction).
	KindLambda
	// KindAlreadyExists: a name used twice (AlreadyExists).
	KindAlreadyExists
	// KindLimit: more rules, actions, recipients or filters than SES
	// allows (LimitExceeded).
	KindLimit
)

// SESCode returns the SES API error code for problems of kind k.
func (k ProblemKind) SESCode() string {
	switch k {
	case KindValidation:
		return "ValidationError"
	case KindS3:
		return "InvalidS3Configuration"
	case KindSNSTopic:
		return "InvalidSnsTopic"
	case KindLambda:
		return "InvalidLambdaFunction"
	case KindAlreadyExists:
		return "AlreadyExists"
	case KindLimit:
		return "LimitExceeded"
	}
	return "InvalidParameterValue"
}

// Problem is one thing wrong with a rule set. Validation fills in Rule,
// Field, Msg and Kind; the rules file loader adds File and Line.
type Problem struct {
	File  string      // the rules file
	Line  int         // 1-based; 0 when unknown
	Rule  string      // the rule's Name, when the problem is inside a rule
	Field string      // the path of the field, e.g. Rules[0].Actions[1].S3Action.BucketName
	Msg   string      // what is wrong, e.g. "is required"
	Kind  ProblemKind // how the SES API reports it
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", p.Rule)
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ConfigError lists every problem found in a rule set.
type ConfigError struct {
	Problems []Problem
}

func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if len(lines) == 1 {
		return "invalid rules: " + lines[0]
	}
	return fmt.Sprintf("invalid rules (%d problems):\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// applyDefaults fills in what the SES API defaults when a field is left out.
func (rs *RuleSet) applyDefaults() {
	if rs.AccountID == "" {
		rs.AccountID = DefaultAccountID
	}
	if rs.Region == "" {
		rs.Region = DefaultRegion
	}
	for i := range rs.Rules {
		rs.Rules[i].applyDefaults()
	}
}

func (r *Rule) applyDefaults() {
	if r.TLSPolicy == "" {
		r.TLSPolicy = TLSPolicyOptional
	}
	for i := range r.Actions {
		if m, _ := r.Actions[i].member(); m != nil {
			m.defaults()
		}
	}
}

// Validate checks a rule set built in code (ParseRules already validates
// what it loads) and applies the API defaults. The error is a *ConfigError
// naming rs.Source.
func (rs *RuleSet) Validate() error {
	ps := rs.Check()
	if len(ps) == 0 {
		return nil
	}
	for i := range ps {
		ps[i].File = rs.Source
	}
	return &ConfigError{Problems: ps}
}

// Check applies the API defaults to rs and returns every breach of SES's
// rules, each with its field path from the top of the set
// (Rules[0].Actions[1].S3Action.BucketName), its rule and its kind. It
// reads no file: ParseRules adds the lines, an API maps the kinds to its
// error codes.
func (rs *RuleSet) Check() []Problem {
	rs.applyDefaults()
	var v validator
	if !accountRE().MatchString(rs.AccountID) {
		v.addf("AccountId", "must be 12 digits, got %q", rs.AccountID)
	}
	if !regionRE().MatchString(rs.Region) {
		v.addf("Region", "%q is not an AWS region name", rs.Region)
	}
	for i, d := range rs.VerifiedDomains {
		if !validDomain(d) {
			v.addf(fmt.Sprintf("VerifiedDomains[%d]", i), "%q is not a domain name", d)
		}
	}
	if m := rs.Metadata; m != nil && m.Name != "" {
		v.name("Metadata.Name", m.Name)
	}
	checkNamed(&v, "Filters", rs.Filters, MaxFilters, "has %d filters; SES allows at most %d", "filter %q is defined twice",
		func(p string, f *Filter) (string, string, bool) { return f.Name, "", v.filter(p, f) })
	for _, arn := range slices.Sorted(maps.Keys(rs.Topics)) {
		v.arn(KindSNSTopic, "Topics."+arn, arn, snsTopicARNRE(), "an SNS topic ARN")
		v.url("Topics."+arn, rs.Topics[arn])
	}
	for _, arn := range slices.Sorted(maps.Keys(rs.Functions)) {
		v.arn(KindLambda, "Functions."+arn, arn, lambdaARNRE(), "a Lambda function ARN")
		v.url("Functions."+arn, rs.Functions[arn])
	}
	if rs.Faults != nil {
		checkFaults(&v, "Faults", rs.Faults)
	}
	checkNamed(&v, "Rules", rs.Rules, MaxRules, "has %d rules; SES allows at most %d per rule set", "rule %q is defined twice (AlreadyExists)",
		func(p string, r *Rule) (string, string, bool) { return r.Name, r.Name, v.rule(rs, p+".", r) })
	return v.problems
}

// CheckRule applies the API defaults to r and returns every breach of SES's
// rules in it, as a rule of rs: its account and region are the ones r is
// checked against. Field paths start at the rule (Name,
// Actions[0].S3Action.BucketName). Whether the name is already taken in rs
// is the caller's to decide.
func (rs *RuleSet) CheckRule(r *Rule) []Problem {
	r.applyDefaults()
	var v validator
	v.rule(rs, "", r)
	return v.problems
}

// CheckRuleSetName returns what is wrong with a rule set's name, as
// CreateReceiptRuleSet would report it; the field is "Name".
func CheckRuleSetName(name string) []Problem {
	var v validator
	v.name("Name", name)
	return v.problems
}

// CheckFilter returns every breach of SES's rules in an IP address filter.
// Field paths start at the filter (Name, IpFilter.Cidr).
func CheckFilter(f *Filter) []Problem {
	var v validator
	v.filter("", f)
	return v.problems
}

type validator struct {
	problems []Problem
	ruleName string // the rule being checked, for Problem.Rule
}

// add records a problem of kind k at field.
func (v *validator) add(k ProblemKind, field, format string, args ...any) {
	v.problemAt(k, v.ruleName, field, fmt.Sprintf(format, args...))
}

func (v *validator) problemAt(k ProblemKind, rule, field, msg string) {
	v.problems = append(v.problems, Problem{Rule: rule, Field: strings.TrimPrefix(field, "."), Msg: msg, Kind: k})
}

// checkNamed checks a list of named items at field: that there are at
// most max (limit formats the problem), each item with check, which
// returns its name, its rule's name and whether the name is valid, and
// that no valid name is used twice (dup formats the problem).
func checkNamed[T any](v *validator, field string, items []T, max int, limit, dup string, check func(p string, item *T) (name, rule string, ok bool)) {
	if len(items) > max {
		v.add(KindLimit, field, limit, len(items), max)
	}
	seen := map[string]bool{}
	for i := range items {
		p := fmt.Sprintf("%s[%d]", field, i)
		name, rule, ok := check(p, &items[i])
		if ok && seen[name] {
			v.problemAt(KindAlreadyExists, rule, p+".Name", fmt.Sprintf(dup, name))
		}
		seen[name] = seen[name] || ok
	}
}

// addf records an invalid value at field.
func (v *validator) addf(field, format string, args ...any) {
	v.add(KindInvalidValue, field, format, args...)
}

func (v *validator) required(field, value string) bool {
	return v.requiredKind(KindValidation, field, value)
}

func (v *validator) requiredKind(k ProblemKind, field, value string) bool {
	if value == "" {
		v.add(k, field, "is required")
		return false
	}
	return true
}

// name checks an SES resource name and reports whether it is valid. As
// SES does, it reports a character outside the pattern as a
// ValidationError, and a name too long or with a bad first or last
// character as an InvalidParameterValue.
func (v *validator) name(field, name string) bool {
	switch {
	case name == "":
		v.add(KindValidation, field, "is required")
	case !nameRE().MatchString(name):
		v.add(KindValidation, field, "%q may contain only letters, digits, underscores, hyphens and periods", name)
	case len(name) > maxNameLen:
		v.addf(field, "%q is %d characters; at most %d are allowed", name, len(name), maxNameLen)
	case !nameEndsRE().MatchString(name):
		v.addf(field, "%q must start and end with a letter or digit", name)
	default:
		return true
	}
	return false
}

func (v *validator) arn(k ProblemKind, field, value string, re *regexp.Regexp, what string) {
	if value != "" && !re.MatchString(value) {
		v.add(k, field, "%q is not %s", value, what)
	}
}

// topic checks an optional TopicArn.
func (v *validator) topic(field, value string) {
	v.arn(KindSNSTopic, field, value, snsTopicARNRE(), "an SNS topic ARN")
}

func (v *validator) url(field, value string) {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.addf(field, "%q is not an http or https URL", value)
	}
}

// filter checks an IP address filter at path p and reports whether its
// name is valid.
func (v *validator) filter(p string, f *Filter) (nameOK bool) {
	nameOK = v.name(p+".Name", f.Name)
	switch f.IPFilter.Policy {
	case FilterPolicyBlock, FilterPolicyAllow:
	case "":
		v.add(KindValidation, p+".IpFilter.Policy", "is required (Block or Allow)")
	default:
		v.add(KindValidation, p+".IpFilter.Policy", "must be Block or Allow, got %q", f.IPFilter.Policy)
	}
	if _, err := ParseCIDR(f.IPFilter.Cidr); err != nil {
		v.addf(p+".IpFilter.Cidr", "%v", err)
	}
	return nameOK
}

// rule checks rule r, whose fields start with p ("Rules[0]." or ""), and
// reports whether its name is valid.
func (v *validator) rule(rs *RuleSet, p string, r *Rule) (nameOK bool) {
	v.ruleName = r.Name
	defer func() { v.ruleName = "" }()
	nameOK = v.name(p+"Name", r.Name)
	switch r.TLSPolicy {
	case TLSPolicyOptional, TLSPolicyRequire:
	default:
		v.add(KindValidation, p+"TlsPolicy", "must be Optional or Require, got %q", r.TLSPolicy)
	}
	if len(r.Recipients) > MaxRecipientsRule {
		v.add(KindLimit, p+"Recipients", "has %d recipients; SES allows at most %d per rule", len(r.Recipients), MaxRecipientsRule)
	}
	for j, rc := range r.Recipients {
		if err := checkRecipient(rc); err != nil {
			v.addf(fmt.Sprintf("%sRecipients[%d]", p, j), "%v", err)
		}
	}
	if len(r.Actions) > MaxActionsPerRule {
		v.add(KindLimit, p+"Actions", "has %d actions; SES allows at most %d per rule", len(r.Actions), MaxActionsPerRule)
	}
	for j := range r.Actions {
		v.action(rs, fmt.Sprintf("%sActions[%d]", p, j), &r.Actions[j])
	}
	return nameOK
}

func (v *validator) action(rs *RuleSet, p string, a *Action) {
	switch m, n := a.member(); {
	case n == 0:
		v.addf(p, "names no action; set exactly one of %s", strings.Join(actionNames(), ", "))
	case n > 1:
		v.addf(p, "sets %d actions in one element; each element of Actions holds exactly one", n)
	default:
		m.check(v, rs, p+"."+m.name())
	}
}

func (s *S3Action) check(v *validator, rs *RuleSet, p string) {
	if v.requiredKind(KindS3, p+".BucketName", s.BucketName) && !validBucketName(s.BucketName) {
		v.add(KindS3, p+".BucketName", "%q is not a valid S3 bucket name", s.BucketName)
	}
	if s.KmsKeyArn != "" {
		if m := kmsKeyARNRE().FindStringSubmatch(s.KmsKeyArn); m == nil {
			v.add(KindS3, p+".KmsKeyArn", "%q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID or arn:aws:kms:REGION:ACCOUNT:alias/NAME)", s.KmsKeyArn)
		} else if m[1] != rs.Region {
			v.add(KindS3, p+".KmsKeyArn", "key is in region %s; SES needs a key in the rule set's region %s", m[1], rs.Region)
		}
	}
	v.topic(p+".TopicArn", s.TopicArn)
	if s.IamRoleArn != "" && (len(s.IamRoleArn) < minIAMRoleARNLen || len(s.IamRoleArn) > maxIAMRoleARNLen || !iamRoleARNRE().MatchString(s.IamRoleArn)) {
		v.addf(p+".IamRoleArn", "%q is not an IAM role ARN", s.IamRoleArn)
	}
}

func (s *StopAction) check(v *validator, _ *RuleSet, p string) {
	if v.required(p+".Scope", s.Scope) && s.Scope != StopScopeRuleSet {
		v.add(KindValidation, p+".Scope", "must be RuleSet, got %q", s.Scope)
	}
	v.topic(p+".TopicArn", s.TopicArn)
}

func (s *SNSAction) check(v *validator, _ *RuleSet, p string) {
	if v.requiredKind(KindSNSTopic, p+".TopicArn", s.TopicArn) {
		v.topic(p+".TopicArn", s.TopicArn)
	}
	switch s.Encoding {
	case EncodingUTF8, EncodingBase64:
	default:
		v.add(KindValidation, p+".Encoding", "must be UTF-8 or Base64, got %q", s.Encoding)
	}
}

func (s *LambdaAction) check(v *validator, _ *RuleSet, p string) {
	if v.requiredKind(KindLambda, p+".FunctionArn", s.FunctionArn) {
		v.arn(KindLambda, p+".FunctionArn", s.FunctionArn, lambdaARNRE(), "a Lambda function ARN")
	}
	switch s.InvocationType {
	case InvocationEvent, InvocationRequestResponse:
	default:
		v.add(KindValidation, p+".InvocationType", "must be Event or RequestResponse, got %q", s.InvocationType)
	}
	v.topic(p+".TopicArn", s.TopicArn)
}

func (s *BounceAction) check(v *validator, _ *RuleSet, p string) {
	if v.required(p+".SmtpReplyCode", s.SmtpReplyCode) && !smtpCodeRE().MatchString(s.SmtpReplyCode) {
		v.addf(p+".SmtpReplyCode", "must be a 4xx or 5xx SMTP reply code, got %q", s.SmtpReplyCode)
	}
	if s.StatusCode != "" && !statusCodeRE().MatchString(s.StatusCode) {
		v.addf(p+".StatusCode", "must be an enhanced status code like 5.1.1, got %q", s.StatusCode)
	}
	if s.StatusCode != "" && s.SmtpReplyCode != "" && s.StatusCode[0] != s.SmtpReplyCode[0] {
		v.addf(p+".StatusCode", "class %c does not match SmtpReplyCode %s", s.StatusCode[0], s.SmtpReplyCode)
	}
	v.required(p+".Message", s.Message)
	if v.required(p+".Sender", s.Sender) && (!strings.Contains(s.Sender, "@") || checkRecipient(s.Sender) != nil) {
		v.addf(p+".Sender", "%q is not an email address", s.Sender)
	}
	v.topic(p+".TopicArn", s.TopicArn)
}

func (s *AddHeaderAction) check(v *validator, _ *RuleSet, p string) {
	if v.required(p+".HeaderName", s.HeaderName) && !headerNameRE().MatchString(s.HeaderName) {
		v.addf(p+".HeaderName", "%q must be 1 to %d letters, digits and hyphens", s.HeaderName, maxHeaderNameLen)
	}
	if len(s.HeaderValue) >= maxHeaderValueLen {
		v.add(KindValidation, p+".HeaderValue", "is %d characters; SES allows fewer than %d", len(s.HeaderValue), maxHeaderValueLen)
	}
	if strings.ContainsAny(s.HeaderValue, "\r\n") {
		v.addf(p+".HeaderValue", "must not contain line breaks")
	}
	v.required(p+".HeaderValue", s.HeaderValue)
}

func (s *WorkmailAction) check(v *validator, _ *RuleSet, p string) {
	if v.required(p+".OrganizationArn", s.OrganizationArn) {
		v.arn(KindInvalidValue, p+".OrganizationArn", s.OrganizationArn, anyARNRE(), "an ARN")
	}
	v.topic(p+".TopicArn", s.TopicArn)
}

func (s *ConnectAction) check(v *validator, _ *RuleSet, p string) {
	if v.required(p+".InstanceARN", s.InstanceARN) {
		v.arn(KindInvalidValue, p+".InstanceARN", s.InstanceARN, anyARNRE(), "an ARN")
	}
	if v.required(p+".IAMRoleARN", s.IAMRoleARN) {
		v.arn(KindInvalidValue, p+".IAMRoleARN", s.IAMRoleARN, iamRoleARNRE(), "an IAM role ARN")
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
	if !bucketNameRE().MatchString(b) || strings.Contains(b, "..") {
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
