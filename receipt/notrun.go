package receipt

// Reasons a rule did not run, in NotRunRule.Reason.
const (
	NotRunDisabled = "disabled"
	NotRunNoMatch  = "no recipient matched"
	NotRunStopped  = "stopped earlier"
	NotRunFailed   = "an earlier action failed"
)

// NotRunRule is a rule of the rule set that did not run for a message.
type NotRunRule struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
	// By names the rule that ended the evaluation, by a StopAction or a
	// Lambda disposition (NotRunStopped) or by a failed action
	// (NotRunFailed).
	By string `json:"by,omitempty"`
}

// WithNotRun returns a copy of res with NotRun filled in from the
// configuration snapshot the message ran under. It is worked out when asked for, not while the
// message is delivered: most records are never read, and a rule set of 200
// rules would otherwise cost 199 entries per message.
func (res *Result) WithNotRun() *Result {
	out := *res
	if res.snapshot == nil {
		return &out
	}
	rs, m := res.snapshot.rules, res.snapshot.match
	ran := make(map[string]bool, len(res.Rules))
	for _, r := range res.Rules {
		ran[r.Name] = true
	}
	last, lastFailed := "", false
	if n := len(res.Rules); n > 0 {
		last = res.Rules[n-1].Name
		for _, a := range res.Rules[n-1].Actions {
			lastFailed = lastFailed || (a.Error != "" && a.Type == "S3Action")
		}
	}
	matched := map[int]bool{}
	var buf []int
	for _, rc := range res.Recipients {
		for _, i := range m.match(rc, buf[:0]) {
			matched[i] = true
		}
	}
	out.NotRun = nil
	for i, r := range rs.Rules {
		if ran[r.Name] {
			continue
		}
		nr := NotRunRule{Name: r.Name}
		switch {
		case !r.Enabled:
			nr.Reason = NotRunDisabled
		case !matched[i]:
			nr.Reason = NotRunNoMatch
		case lastFailed:
			nr.Reason, nr.By = NotRunFailed, last
		default:
			nr.Reason, nr.By = NotRunStopped, last
		}
		out.NotRun = append(out.NotRun, nr)
	}
	return &out
}
