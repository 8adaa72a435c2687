package sesapi

import (
	"slices"
	"strings"
	"time"

	"github.com/sesinbound/sesinbound/receipt"
)

// SES's limits (developer guide, quotas), none adjustable.
const (
	MaxRuleSets       = 40
	MaxRulesPerSet    = receipt.MaxRules
	MaxActionsPerRule = receipt.MaxActionsPerRule
	MaxFilters        = receipt.MaxFilters
	pageSize          = 100
)

// Identity types, as SES v1 names them.
const (
	IdentityEmail  = "EmailAddress"
	IdentityDomain = "Domain"
)

// state is the whole receiving configuration of the account and region. It
// is copied on write: a change builds a new state from the old one, and
// nothing reachable from a state is changed once it is published, so the
// rule sets handed to the pipeline can share its slices.
type state struct {
	sets       []*ruleSet // in creation order
	active     string     // "" when receiving is off
	filters    []receipt.Filter
	identities []identity // in creation order
}

type ruleSet struct {
	name    string
	created time.Time
	rules   []receipt.Rule
}

type identity struct {
	name string
	typ  string // IdentityEmail or IdentityDomain
	dkim bool   // VerifyDomainDkim was called
}

func (st *state) clone() *state {
	return &state{
		sets:       slices.Clone(st.sets),
		active:     st.active,
		filters:    slices.Clone(st.filters),
		identities: slices.Clone(st.identities),
	}
}

func (st *state) set(name string) (int, *ruleSet) {
	for i, s := range st.sets {
		if s.name == name {
			return i, s
		}
	}
	return -1, nil
}

// editSet replaces set i by a copy whose rules the caller may change.
func (st *state) editSet(i int) *ruleSet {
	s := *st.sets[i]
	s.rules = slices.Clone(s.rules)
	st.sets[i] = &s
	return &s
}

func (s *ruleSet) rule(name string) int {
	for i, r := range s.rules {
		if r.Name == name {
			return i
		}
	}
	return -1
}

func (st *state) filter(name string) int {
	for i, f := range st.filters {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func (st *state) identity(name string) int {
	for i, id := range st.identities {
		if strings.EqualFold(id.name, name) {
			return i
		}
	}
	return -1
}

func identityType(name string) string {
	if strings.Contains(name, "@") {
		return IdentityEmail
	}
	return IdentityDomain
}

// domains lists the domain identities, which limit receiving as the rules
// file's VerifiedDomains do.
func (st *state) domains() []string {
	var out []string
	for _, id := range st.identities {
		if id.typ == IdentityDomain {
			out = append(out, id.name)
		}
	}
	return out
}

// timestamp is SES's format for CreatedTimestamp.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func parseTimestamp(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05.000Z07:00", time.RFC3339Nano, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
