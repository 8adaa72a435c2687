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
	i := slices.IndexFunc(st.sets, func(s *ruleSet) bool { return s.name == name })
	if i < 0 {
		return -1, nil
	}
	return i, st.sets[i]
}

// existingSet is set, or RuleSetDoesNotExist when there is no set of that
// name.
func (st *state) existingSet(name string) (int, *ruleSet, *Error) {
	i, set := st.set(name)
	if set == nil {
		return -1, nil, errNoRuleSet(name)
	}
	return i, set, nil
}

// editSet replaces set i by a copy whose rules the caller may change.
func (st *state) editSet(i int) *ruleSet {
	s := *st.sets[i]
	s.rules = slices.Clone(s.rules)
	st.sets[i] = &s
	return &s
}

func (s *ruleSet) rule(name string) int {
	return slices.IndexFunc(s.rules, func(r receipt.Rule) bool { return r.Name == name })
}

// after is the index a rule placed after the rule named goes to: the front
// when name is empty.
func (s *ruleSet) after(name string) int {
	if name == "" {
		return 0
	}
	return s.rule(name) + 1
}

func (st *state) filter(name string) int {
	return slices.IndexFunc(st.filters, func(f receipt.Filter) bool { return f.Name == name })
}

func (st *state) identity(name string) int {
	return slices.IndexFunc(st.identities, func(id identity) bool { return strings.EqualFold(id.name, name) })
}

// deleteSet, deleteFilter and deleteIdentity remove what is named if it is
// there; only the active rule set cannot be deleted.
func (st *state) deleteSet(name string) *Error {
	i, _ := st.set(name)
	if i >= 0 && st.active == name {
		return withMember(errorf(CodeCannotDelete, "Cannot delete active rule set: %s", name), "Name", name)
	}
	st.sets = deleteAt(st.sets, i)
	return nil
}

func (st *state) deleteFilter(name string) *Error {
	st.filters = deleteAt(st.filters, st.filter(name))
	return nil
}

func (st *state) deleteIdentity(name string) *Error {
	st.identities = deleteAt(st.identities, st.identity(name))
	return nil
}

// deleteAt deletes item i, if i is not negative.
func deleteAt[T any](items []T, i int) []T {
	if i < 0 {
		return items
	}
	return slices.Delete(items, i, i+1)
}

func identityType(name string) string {
	if strings.Contains(name, "@") {
		return IdentityEmail
	}
	return IdentityDomain
}

// domains lists the domain identities, which limit receiving as the rules
// file's VerifiedDomains do.
func (st *state) domains() []string { return st.names(IdentityDomain) }

// names lists the identities of type typ (all of them when typ is empty),
// in creation order.
func (st *state) names(typ string) []string {
	var out []string
	for _, id := range st.identities {
		if typ == "" || id.typ == typ {
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
