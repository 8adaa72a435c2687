package receipt

import (
	"slices"
	"strings"
)

// matcher finds the enabled rules whose Recipients cover an address. It is
// built once per rule set and indexes every recipient condition, so a RCPT
// costs a few map lookups however many rules there are.
//
// SES's conditions (developer guide, "receipt rule conditions"):
//   - user@example.com matches that address, and also user+label@example.com;
//   - example.com matches every address in that domain, not its subdomains;
//   - .example.com matches every address in every subdomain, not the domain;
//   - no condition matches every address (of a verified domain).
//
// Matching is case-insensitive throughout; SES does not document the case of
// local parts, and mail systems that care are rare.
type matcher struct {
	address   map[string][]int // "user@example.com" -> rule indices
	domain    map[string][]int // "example.com"
	subdomain map[string][]int // ".example.com"
	catchAll  []int
	// verified, when set, limits every match to these domains and their
	// subdomains, as SES only receives for verified identities.
	verified []string
}

func newMatcher(rs *RuleSet) *matcher {
	m := &matcher{
		address:   map[string][]int{},
		domain:    map[string][]int{},
		subdomain: map[string][]int{},
	}
	for _, d := range rs.VerifiedDomains {
		m.verified = append(m.verified, strings.ToLower(d))
	}
	for i, r := range rs.Rules {
		if !r.Enabled {
			continue
		}
		if len(r.Recipients) == 0 {
			m.catchAll = append(m.catchAll, i)
			continue
		}
		for _, rc := range r.Recipients {
			rc = strings.ToLower(rc)
			switch {
			case strings.Contains(rc, "@"):
				m.address[rc] = appendOnce(m.address[rc], i)
			case strings.HasPrefix(rc, "."):
				m.subdomain[rc] = appendOnce(m.subdomain[rc], i)
			default:
				m.domain[rc] = appendOnce(m.domain[rc], i)
			}
		}
	}
	return m
}

func appendOnce(s []int, i int) []int {
	if len(s) > 0 && s[len(s)-1] == i {
		return s
	}
	return append(s, i)
}

// match appends to dst the indices of the enabled rules that match rcpt, in
// rule order, without duplicates.
func (m *matcher) match(rcpt string, dst []int) []int {
	addr := strings.ToLower(rcpt)
	at := strings.LastIndexByte(addr, '@')
	local, domain := addr, ""
	if at >= 0 {
		local, domain = addr[:at], addr[at+1:]
	}
	if !m.isVerified(domain) {
		return dst
	}
	start := len(dst)
	dst = append(dst, m.catchAll...)
	if domain != "" {
		dst = append(dst, m.address[addr]...)
		if plus := strings.IndexByte(local, '+'); plus > 0 {
			dst = append(dst, m.address[local[:plus]+"@"+domain]...)
		}
		dst = append(dst, m.domain[domain]...)
		for d := domain; ; {
			i := strings.IndexByte(d, '.')
			if i < 0 {
				break
			}
			dst = append(dst, m.subdomain[d[i:]]...)
			d = d[i+1:]
		}
	}
	found := dst[start:]
	if len(found) > 1 {
		slices.Sort(found)
		dst = dst[:start+len(slices.Compact(found))]
	}
	return dst
}

func (m *matcher) isVerified(domain string) bool {
	if m.verified == nil {
		return true
	}
	for _, v := range m.verified {
		if domain == v || strings.HasSuffix(domain, "."+v) {
			return true
		}
	}
	return false
}
