package receipt

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

// TestSnapshotSwap: SetRules changes what the next message sees; a message
// holding the old snapshot keeps it; a rule set without rules refuses
// every recipient; filters follow the current snapshot.
func TestSnapshotSwap(t *testing.T) {
	ctx := context.Background()
	old := &RuleSet{AccountID: DefaultAccountID, Region: DefaultRegion, Metadata: &RuleSetMetadata{Name: "old"},
		Rules: []Rule{{Name: "a", Enabled: true, Recipients: []string{"example.com"}}}}
	p := NewProcessor(old, nil, nil)
	held := p.Snapshot()
	p.SetRules(&RuleSet{AccountID: DefaultAccountID, Region: DefaultRegion, Metadata: &RuleSetMetadata{Name: "new"},
		Rules:   []Rule{{Name: "b", Enabled: true, Recipients: []string{"example.org"}}},
		Filters: []Filter{{Name: "f", IPFilter: IPFilter{Policy: FilterPolicyBlock, Cidr: "192.0.2.0/24"}}}})
	if err := p.AcceptsRecipient(ctx, held, "x@example.com", Client{}); err != nil {
		t.Fatalf("the held snapshot: %v", err)
	}
	if err := p.AcceptsRecipient(ctx, nil, "x@example.com", Client{}); !errors.Is(err, ErrNoMatchingRule) {
		t.Fatalf("the current snapshot accepted a recipient of the old rules: %v", err)
	}
	if err := p.AcceptsRecipient(ctx, p.Snapshot(), "x@example.org", Client{}); err != nil {
		t.Fatal(err)
	}
	if got := p.Snapshot().RuleSetName(); got != "new" {
		t.Fatalf("RuleSetName = %q", got)
	}
	if held.RuleSetName() != "old" {
		t.Fatal("the held snapshot changed")
	}
	if err := p.AcceptsConnection(ctx, netip.MustParseAddr("192.0.2.7")); !errors.Is(err, ErrBlocked) {
		t.Fatalf("the new filter: %v", err)
	}
	p.SetRules(&RuleSet{AccountID: DefaultAccountID, Region: DefaultRegion})
	if err := p.AcceptsRecipient(ctx, nil, "x@example.org", Client{}); !errors.Is(err, ErrNoMatchingRule) {
		t.Fatalf("no active rule set: %v", err)
	}
	if p.Snapshot().RuleSetName() != "" {
		t.Fatal("a name with nothing active")
	}
}
