package sesapi

import "github.com/sesinbound/sesinbound/receipt"

type receiptFilter = receipt.Filter

type receiptRuleSetName struct{ name string }

// ruleSet wraps a rule set name in a rule set, for the validator.
func (n receiptRuleSetName) ruleSet(s *Service) *receipt.RuleSet {
	return &receipt.RuleSet{AccountID: s.cfg.AccountID, Region: s.cfg.Region, Metadata: &receipt.RuleSetMetadata{Name: n.name}}
}

func receiptDomains(s *Service, d string) *receipt.RuleSet {
	return &receipt.RuleSet{AccountID: s.cfg.AccountID, Region: s.cfg.Region, VerifiedDomains: []string{d}}
}
