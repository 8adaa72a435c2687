package receipt

import (
	"slices"
	"testing"
)

func TestMatch(t *testing.T) {
	rs := &RuleSet{Rules: []Rule{
		{Name: "exact", Enabled: true, Recipients: []string{"Inbox@Example.com"}},
		{Name: "domain", Enabled: true, Recipients: []string{"example.org"}},
		{Name: "subdomains", Enabled: true, Recipients: []string{".example.net"}},
		{Name: "disabled", Enabled: false, Recipients: []string{"example.com", "example.org"}},
		{Name: "labelled", Enabled: true, Recipients: []string{"user+tag@example.com"}},
		{Name: "both", Enabled: true, Recipients: []string{"example.org", "inbox@example.com"}},
	}}
	m := newMatcher(rs)
	for _, tt := range []struct {
		rcpt string
		want []string
	}{
		{"inbox@example.com", []string{"exact", "both"}},
		{"INBOX@EXAMPLE.COM", []string{"exact", "both"}},
		{"inbox+news@example.com", []string{"exact", "both"}}, // a label matches the bare address
		{"other@example.com", nil},
		{"anyone@example.org", []string{"domain", "both"}},
		{"anyone@sub.example.org", nil}, // a domain does not cover its subdomains
		{"anyone@example.net", nil},     // .domain does not cover the apex
		{"anyone@a.example.net", []string{"subdomains"}},
		{"anyone@a.b.example.net", []string{"subdomains"}},
		{"user+tag@example.com", []string{"labelled"}},
		{"user@example.com", nil}, // a labelled condition needs the label
		{"user+other@example.com", nil},
		{"nobody", nil},
	} {
		t.Run(tt.rcpt, func(t *testing.T) {
			var got []string
			for _, i := range m.match(tt.rcpt, nil) {
				got = append(got, rs.Rules[i].Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("match(%q) = %v, want %v", tt.rcpt, got, tt.want)
			}
		})
	}
}

func TestMatchCatchAll(t *testing.T) {
	for _, tt := range []struct {
		name     string
		verified []string
		rcpt     string
		want     bool
	}{
		{"no verified domains: everything", nil, "a@anything.test", true},
		{"verified domain", []string{"example.com"}, "a@example.com", true},
		{"verified domain, other case", []string{"Example.COM"}, "a@EXAMPLE.com", true},
		{"subdomain of a verified domain", []string{"example.com"}, "a@mail.example.com", true},
		{"unverified domain", []string{"example.com"}, "a@example.org", false},
		{"suffix that is not a subdomain", []string{"example.com"}, "a@badexample.com", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := &RuleSet{VerifiedDomains: tt.verified, Rules: []Rule{{Name: "all", Enabled: true}}}
			got := len(newMatcher(rs).match(tt.rcpt, nil)) > 0
			if got != tt.want {
				t.Fatalf("match(%q) = %v, want %v", tt.rcpt, got, tt.want)
			}
		})
	}
}

func TestMatchVerifiedDomainsLimitExplicitRules(t *testing.T) {
	rs := &RuleSet{VerifiedDomains: []string{"example.com"}, Rules: []Rule{
		{Name: "r", Enabled: true, Recipients: []string{"example.org"}},
	}}
	if got := newMatcher(rs).match("a@example.org", nil); len(got) != 0 {
		t.Fatalf("a recipient outside the verified domains matched %v", got)
	}
}

func TestPlanGroupsRecipientsByRule(t *testing.T) {
	rs := &RuleSet{Rules: []Rule{
		{Name: "a", Enabled: true, Recipients: []string{"example.com"}},
		{Name: "b", Enabled: true, Recipients: []string{"example.org"}},
		{Name: "c", Enabled: true},
	}}
	p := NewProcessor(rs, nil, nil)
	plan := p.Snapshot().plan([]string{"x@example.org", "y@example.com", "z@example.org"})
	type got struct {
		rule  string
		rcpts []string
	}
	want := []got{
		{"a", []string{"y@example.com"}},
		{"b", []string{"x@example.org", "z@example.org"}},
		{"c", []string{"x@example.org", "y@example.com", "z@example.org"}},
	}
	if len(plan) != len(want) {
		t.Fatalf("plan has %d steps, want %d: %+v", len(plan), len(want), plan)
	}
	for i, s := range plan {
		if rs.Rules[s.rule].Name != want[i].rule || !slices.Equal(s.rcpts, want[i].rcpts) {
			t.Errorf("step %d = %s %v, want %s %v", i, rs.Rules[s.rule].Name, s.rcpts, want[i].rule, want[i].rcpts)
		}
	}
}
