package receipt

import "net/netip"

// ipFilters applies SES's receipt IP address filters: mail is refused when
// a Block filter covers the client and no Allow filter does. Allow wins, so
// "block 0.0.0.0/0, allow what you trust" receives only from the trusted.
// https://docs.aws.amazon.com/ses/latest/dg/receiving-email-ip-filtering-console-walkthrough.html
type ipFilters struct {
	block, allow []namedPrefix
}

type namedPrefix struct {
	name   string
	prefix netip.Prefix
}

func newIPFilters(filters []Filter) *ipFilters {
	f := &ipFilters{}
	for _, flt := range filters {
		p, err := ParseCIDR(flt.IPFilter.Cidr)
		if err != nil {
			continue // validated at load
		}
		np := namedPrefix{flt.Name, p}
		if flt.IPFilter.Policy == FilterPolicyAllow {
			f.allow = append(f.allow, np)
		} else {
			f.block = append(f.block, np)
		}
	}
	return f
}

// blocked reports whether addr is refused, and the Block filter that did it.
func (f *ipFilters) blocked(addr netip.Addr) (string, bool) {
	addr = addr.Unmap()
	for _, a := range f.allow {
		if a.prefix.Contains(addr) {
			return "", false
		}
	}
	for _, b := range f.block {
		if b.prefix.Contains(addr) {
			return b.name, true
		}
	}
	return "", false
}
