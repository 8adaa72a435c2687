package journal

import (
	"strings"

	"github.com/sesinbound/sesinbound/receipt"
)

// Filter selects records. Every field that is set must match; the zero
// Filter matches everything.
type Filter struct {
	To      string // an envelope recipient, case-insensitive
	From    string // the envelope sender, case-insensitive
	Subject string // a substring of the Subject header, case-insensitive
	Rule    string // the name of a rule that ran
	ID      string // the SES message ID
	// Bounced is a DSN status (pending, sent, recorded, skipped, failed):
	// the message has bounces and every one has that status. "sent"
	// waits for the DSN to have gone.
	Bounced string
}

// Match reports whether res passes f.
func (f Filter) Match(res *receipt.Result) bool {
	if f.ID != "" && res.MessageID != f.ID {
		return false
	}
	if f.From != "" && !strings.EqualFold(res.From, f.From) {
		return false
	}
	if f.To != "" && !containsFold(res.Recipients, f.To) {
		return false
	}
	if f.Subject != "" && !strings.Contains(strings.ToLower(res.Subject), strings.ToLower(f.Subject)) {
		return false
	}
	if f.Rule != "" {
		ran := false
		for _, r := range res.Rules {
			ran = ran || r.Name == f.Rule
		}
		if !ran {
			return false
		}
	}
	if f.Bounced != "" {
		if len(res.Bounces) == 0 {
			return false
		}
		for _, b := range res.Bounces {
			if b.Status != f.Bounced {
				return false
			}
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
