package receipt_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/sesinbound/sesinbound/receipt"
)

// TestIPFilters checks the filter logic through AcceptsConnection, with
// addresses as values: no socket, so no test depends on binding
// 127.0.0.2 or an IPv6 address.
func TestIPFilters(t *testing.T) {
	const rules = `
Filters:
  - {Name: block-all-v4, IpFilter: {Policy: Block, Cidr: 0.0.0.0/0}}
  - {Name: allow-office, IpFilter: {Policy: Allow, Cidr: 192.0.2.0/24}}
  - {Name: block-one, IpFilter: {Policy: Block, Cidr: 192.0.2.77/32}}
  - {Name: allow-host, IpFilter: {Policy: Allow, Cidr: 198.51.100.9}}
  - {Name: block-v6-net, IpFilter: {Policy: Block, Cidr: "2001:db8::/32"}}
  - {Name: allow-v6-host, IpFilter: {Policy: Allow, Cidr: "2001:db8::25/128"}}
  - {Name: block-v6-host, IpFilter: {Policy: Block, Cidr: "2001:db9::1"}}
  - {Name: block-unmasked, IpFilter: {Policy: Block, Cidr: "2001:dba::ff/120"}}
Rules:
  - Name: all
    Enabled: true
    Actions: [{S3Action: {BucketName: inbound}}]
`
	rs, err := receipt.ParseRules(strings.NewReader(rules), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := receipt.NewProcessor(rs, nil, nil)
	for _, tt := range []struct {
		addr       string
		wantFilter string // "" means accepted
	}{
		{"203.0.113.5", "block-all-v4"},        // covered by the /0
		{"192.0.2.10", ""},                     // Allow over Block
		{"192.0.2.77", ""},                     // Allow over a /32 Block too
		{"192.0.3.1", "block-all-v4"},          // just past the /24
		{"198.51.100.9", ""},                   // an Allow of a bare address is a /32
		{"198.51.100.10", "block-all-v4"},      // its neighbour is not allowed
		{"::ffff:192.0.2.10", ""},              // IPv4-mapped IPv6 is the IPv4 address
		{"::ffff:203.0.113.5", "block-all-v4"}, //
		{"2001:db8:1::1", "block-v6-net"},      // an IPv6 range
		{"2001:db8::25", ""},                   // Allow /128 over the range
		{"2001:db8::26", "block-v6-net"},       //
		{"2001:db9::1", "block-v6-host"},       // a bare IPv6 address is a /128
		{"2001:db9::2", ""},                    // the IPv4 /0 does not cover IPv6
		{"2001:dba::1", "block-unmasked"},      // host bits in the CIDR are masked
		{"2001:dba::1:1", ""},                  //
		{"127.0.0.1", "block-all-v4"},          //
		{"::1", ""},                            //
	} {
		err := p.AcceptsConnection(t.Context(), netip.MustParseAddr(tt.addr))
		switch {
		case tt.wantFilter == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tt.addr, err)
		case tt.wantFilter != "" && !errors.Is(err, receipt.ErrBlocked):
			t.Errorf("%s: %v, want blocked by %s", tt.addr, err, tt.wantFilter)
		case tt.wantFilter != "" && !strings.Contains(err.Error(), "filter "+tt.wantFilter+":"):
			t.Errorf("%s: %v, want it to name filter %s", tt.addr, err, tt.wantFilter)
		}
	}

	// No filters: everyone is accepted.
	rs, err = receipt.ParseRules(strings.NewReader("Rules: [{Name: all, Enabled: true, Actions: [{S3Action: {BucketName: inbound}}]}]\n"), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := receipt.NewProcessor(rs, nil, nil).AcceptsConnection(t.Context(), netip.MustParseAddr("203.0.113.5")); err != nil {
		t.Errorf("no filters: %v", err)
	}
}
