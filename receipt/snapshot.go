package receipt

import "net/netip"

// Snapshot is one configuration the pipeline runs: a rule set with its
// recipient index and IP filters, built once and never changed. A Processor
// holds the current one behind an atomic pointer; a change of configuration
// builds a new Snapshot and swaps it in, so the SMTP path takes no lock. A
// message reads the snapshot once, at MAIL, and keeps it to its reply.
type Snapshot struct {
	rules   *RuleSet
	match   *matcher
	filters *ipFilters
}

// NewSnapshot indexes a validated rule set. The rule set must not change
// afterwards.
func NewSnapshot(rs *RuleSet) *Snapshot {
	return &Snapshot{rules: rs, match: newMatcher(rs), filters: newIPFilters(rs.Filters)}
}

// Rules returns the rule set; the caller must not change it.
func (s *Snapshot) Rules() *RuleSet { return s.rules }

// RuleSetName names the active receipt rule set, or "" when none is (or the
// rules file gave none).
func (s *Snapshot) RuleSetName() string {
	if s.rules.Metadata == nil {
		return ""
	}
	return s.rules.Metadata.Name
}

// Snapshot returns the configuration in force now.
func (p *Processor) Snapshot() *Snapshot { return p.cfg.Load() }

// SetRules makes rs the configuration of every message that starts from now
// on; messages already past MAIL finish under the one they started with.
// rs must be validated and must not change afterwards. A rule set with no
// rules receives nothing: every RCPT is refused.
func (p *Processor) SetRules(rs *RuleSet) { p.cfg.Store(NewSnapshot(rs)) }

func (s *Snapshot) blocked(addr netip.Addr) (string, bool) { return s.filters.blocked(addr) }
