package receipt

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sesinbound/sesinbound/encrypt"
)

// FaultSpec is the rules file's Faults section (sesinbound's own, not
// SES's): failures to inject so that users can test their own error paths.
// The same shape is accepted at run time by POST /_sesinbound/faults.
type FaultSpec struct {
	// SMTP faults refuse a command with a chosen reply.
	SMTP []SMTPFault `yaml:"SMTP" json:"SMTP,omitempty"`
	// AWS faults make S3 or KMS calls fail with a chosen AWS error.
	AWS []AWSFault `yaml:"AWS" json:"AWS,omitempty"`
	// Envelopes maps rule names to an envelope variant that rule writes
	// (see encrypt.Variant); "*" applies to every rule.
	Envelopes map[string]string `yaml:"Envelopes" json:"Envelopes,omitempty"`
}

// SMTPFault refuses MAIL, RCPT or DATA with a reply, for the next Count
// commands of that stage or with Probability (0 to 1).
type SMTPFault struct {
	Stage       string  `yaml:"Stage" json:"Stage"`                       // MAIL, RCPT or DATA
	Code        int     `yaml:"Code" json:"Code"`                         // 4xx or 5xx
	Status      string  `yaml:"Status" json:"Status,omitempty"`           // enhanced status, e.g. 4.7.1
	Message     string  `yaml:"Message" json:"Message,omitempty"`         // reply text
	Count       int     `yaml:"Count" json:"Count,omitempty"`             // fire this many times, then stop
	Probability float64 `yaml:"Probability" json:"Probability,omitempty"` // or fire with this probability
	Remaining   *int    `yaml:"-" json:"Remaining,omitempty"`             // reported by GET
}

// AWSFault makes matching S3 or KMS calls fail with an AWS error code, for
// the next Count calls or with Probability. Scope says which calls:
// "sesinbound" (the pipeline's own writes, embedded or external backend),
// "endpoint" (requests to the embedded endpoint, from decryptors and tools)
// or "both" (the default).
type AWSFault struct {
	Service     string  `yaml:"Service" json:"Service"`               // s3 or kms
	Operation   string  `yaml:"Operation" json:"Operation,omitempty"` // e.g. PutObject; "" matches all
	Error       string  `yaml:"Error" json:"Error"`                   // e.g. ThrottlingException, SlowDown
	Message     string  `yaml:"Message" json:"Message,omitempty"`
	Count       int     `yaml:"Count" json:"Count,omitempty"`
	Probability float64 `yaml:"Probability" json:"Probability,omitempty"`
	Scope       string  `yaml:"Scope" json:"Scope,omitempty"`
	Remaining   *int    `yaml:"-" json:"Remaining,omitempty"`
}

// Fault scopes.
const (
	ScopeSesinbound = "sesinbound"
	ScopeEndpoint   = "endpoint"
	ScopeBoth       = "both"
)

// checkFaults validates a FaultSpec; path prefixes the fields named in
// problems ("Faults" in a rules file).
func checkFaults(v *validator, path string, f *FaultSpec) {
	for i, s := range f.SMTP {
		p := fmt.Sprintf("%s.SMTP[%d]", path, i)
		switch strings.ToUpper(s.Stage) {
		case "MAIL", "RCPT", "DATA":
		default:
			v.addf(p+".Stage", "must be MAIL, RCPT or DATA, got %q", s.Stage)
		}
		if s.Code < 400 || s.Code > 599 {
			v.addf(p+".Code", "must be a 4xx or 5xx reply code, got %d", s.Code)
		}
		if s.Status != "" && (!statusCodeRE().MatchString(s.Status) || s.Code > 0 && int(s.Status[0]-'0') != s.Code/100) {
			v.addf(p+".Status", "%q is not an enhanced status code of class %d", s.Status, s.Code/100)
		}
		checkFiring(v, p, s.Count, s.Probability)
	}
	for i, a := range f.AWS {
		p := fmt.Sprintf("%s.AWS[%d]", path, i)
		switch strings.ToLower(a.Service) {
		case "s3", "kms":
		default:
			v.addf(p+".Service", "must be s3 or kms, got %q", a.Service)
		}
		v.required(p+".Error", a.Error)
		switch a.Scope {
		case "", ScopeSesinbound, ScopeEndpoint, ScopeBoth:
		default:
			v.addf(p+".Scope", "must be sesinbound, endpoint or both, got %q", a.Scope)
		}
		checkFiring(v, p, a.Count, a.Probability)
	}
	for _, rule := range slices.Sorted(maps.Keys(f.Envelopes)) {
		variant := f.Envelopes[rule]
		if !slices.Contains(encrypt.Variants(), encrypt.Variant(variant)) {
			names := make([]string, len(encrypt.Variants()))
			for i, v := range encrypt.Variants() {
				names[i] = string(v)
			}
			v.addf(path+".Envelopes."+rule, "%q is not an envelope variant; use one of %s", variant, strings.Join(names, ", "))
		}
	}
}

func checkFiring(v *validator, p string, count int, probability float64) {
	if count < 0 {
		v.addf(p+".Count", "must not be negative")
	}
	if probability < 0 || probability > 1 {
		v.addf(p+".Probability", "must be between 0 and 1, got %v", probability)
	}
}

// CheckFaults validates a FaultSpec given at run time.
func CheckFaults(f *FaultSpec) error {
	var v validator
	checkFaults(&v, "", f)
	if len(v.problems) == 0 {
		return nil
	}
	for i := range v.problems {
		v.problems[i].Field = strings.TrimPrefix(v.problems[i].Field, ".")
		v.problems[i].File = "faults"
	}
	return &ConfigError{Problems: v.problems}
}
