package sesapi

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sesinbound/sesinbound/receipt"
)

// APIVersion is the SES v1 API version served.
const APIVersion = "2010-12-01"

type op struct {
	run func(s *Service, ctx context.Context, f form, w *xw) *Error
	// noResult marks the deprecated operations whose reply has no Result
	// element (the model gives them no output shape).
	noResult bool
}

// operations are the SES v1 operations served, by Action.
func operations() map[string]op {
	return map[string]op{
		"CreateReceiptRuleSet":              {run: (*Service).createReceiptRuleSet},
		"CloneReceiptRuleSet":               {run: (*Service).cloneReceiptRuleSet},
		"DeleteReceiptRuleSet":              {run: (*Service).deleteReceiptRuleSet},
		"ListReceiptRuleSets":               {run: (*Service).listReceiptRuleSets},
		"DescribeReceiptRuleSet":            {run: (*Service).describeReceiptRuleSet},
		"DescribeActiveReceiptRuleSet":      {run: (*Service).describeActiveReceiptRuleSet},
		"SetActiveReceiptRuleSet":           {run: (*Service).setActiveReceiptRuleSet},
		"ReorderReceiptRuleSet":             {run: (*Service).reorderReceiptRuleSet},
		"CreateReceiptRule":                 {run: (*Service).createReceiptRule},
		"UpdateReceiptRule":                 {run: (*Service).updateReceiptRule},
		"DeleteReceiptRule":                 {run: (*Service).deleteReceiptRule},
		"DescribeReceiptRule":               {run: (*Service).describeReceiptRule},
		"SetReceiptRulePosition":            {run: (*Service).setReceiptRulePosition},
		"CreateReceiptFilter":               {run: (*Service).createReceiptFilter},
		"DeleteReceiptFilter":               {run: (*Service).deleteReceiptFilter},
		"ListReceiptFilters":                {run: (*Service).listReceiptFilters},
		"VerifyDomainIdentity":              {run: (*Service).verifyDomainIdentity},
		"VerifyEmailIdentity":               {run: (*Service).verifyEmailIdentity},
		"VerifyEmailAddress":                {run: (*Service).verifyEmailIdentity, noResult: true},
		"ListIdentities":                    {run: (*Service).listIdentities},
		"GetIdentityVerificationAttributes": {run: (*Service).getIdentityVerificationAttributes},
		"DeleteIdentity":                    {run: (*Service).deleteIdentity},
		"DeleteVerifiedEmailAddress":        {run: (*Service).deleteVerifiedEmailAddress, noResult: true},
		"ListVerifiedEmailAddresses":        {run: (*Service).listVerifiedEmailAddresses},
		"VerifyDomainDkim":                  {run: (*Service).verifyDomainDkim},
		"GetIdentityDkimAttributes":         {run: (*Service).getIdentityDkimAttributes},
	}
}

// IsOperation reports whether action is an SES v1 operation this package
// serves, for routing unsigned requests.
func IsOperation(action string) bool {
	_, ok := operations()[action]
	return ok
}

// ServeHTTP serves SES v1 (POST / with a form body, or the same members in
// the query string) and, under /v2/, SES v2.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v2/") {
		s.serveV2(w, r)
		return
	}
	reqID := s.requestID()
	if err := s.checkRegion(r); err != nil {
		writeError(w, reqID, err)
		return
	}
	body, rerr := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	if rerr != nil {
		writeError(w, reqID, errorf(CodeMalformedInput, "reading the request: %v", rerr))
		return
	}
	if len(body) > maxFormBytes {
		writeError(w, reqID, errorf(CodeMalformedInput, "the request body is over %d bytes", maxFormBytes))
		return
	}
	f, err := parseForm(string(body))
	if err == nil && len(f) == 0 && r.URL.RawQuery != "" {
		f, err = parseForm(r.URL.RawQuery)
	}
	if err != nil {
		writeError(w, reqID, err)
		return
	}
	s.serveForm(w, r.Context(), reqID, f)
}

func (s *Service) serveForm(w http.ResponseWriter, ctx context.Context, reqID string, f form) {
	action := f["Action"]
	if action == "" {
		writeError(w, reqID, errorf(CodeMissingAction, "Missing Action"))
		return
	}
	o, ok := operations()[action]
	if !ok {
		writeError(w, reqID, errorf(CodeInvalidAction, "The action %s is not valid for this web service (sesinbound serves SES receiving and identities).", action))
		return
	}
	if v := f["Version"]; v != "" && v != APIVersion {
		writeError(w, reqID, errorf(CodeInvalidAction, "API version %s is not served; SES v1 is %s", v, APIVersion))
		return
	}
	var out xw
	if err := o.run(s, ctx, f, &out); err != nil {
		writeError(w, reqID, err)
		return
	}
	var b xw
	b.WriteString(`<` + action + `Response xmlns="` + Namespace + `">`)
	if !o.noResult {
		b.open(action + "Result")
		b.Write(out.Bytes())
		b.close(action + "Result")
	}
	b.open("ResponseMetadata")
	b.leaf("RequestId", reqID)
	b.close("ResponseMetadata")
	b.close(action + "Response")
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Write(b.Bytes())
}

// writeError writes an SES v1 error reply: HTTP 400 (or the error's
// status), <ErrorResponse><Error><Type>Sender</Type><Code>...
func writeError(w http.ResponseWriter, reqID string, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	var b xw
	b.WriteString(`<ErrorResponse xmlns="` + Namespace + `">`)
	b.open("Error")
	b.leaf("Type", typ)
	b.leaf("Code", e.Code)
	b.leaf("Message", e.Message)
	if e.Member != "" {
		b.leaf(e.Member, e.Value)
	}
	b.close("Error")
	b.leaf("RequestId", reqID)
	b.close("ErrorResponse")
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// --- rule sets ---

func (s *Service) ruleSetName(f form, key string) (string, *Error) {
	name, err := f.required(key, "ruleSetName")
	if err != nil {
		return "", err
	}
	return name, nil
}

func (s *Service) createReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	name, err := s.ruleSetName(f, "RuleSetName")
	if err != nil {
		return err
	}
	if err := s.checkRuleSetName(name); err != nil {
		return err
	}
	return s.update(func(st *state) *Error {
		if _, set := st.set(name); set != nil {
			return errAlreadyExists("Rule set", name)
		}
		if len(st.sets) >= MaxRuleSets {
			return errorf(CodeLimitExceeded, "Too many rule sets: an account has at most %d per region", MaxRuleSets)
		}
		st.sets = append(st.sets, &ruleSet{name: name, created: s.cfg.Now()})
		return nil
	})
}

func (s *Service) checkRuleSetName(name string) *Error {
	rs := s.base()
	rs.Metadata = &receipt.RuleSetMetadata{Name: name}
	return s.validate(rs, "Metadata.Name", "RuleSetName")
}

func (s *Service) cloneReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	name, err := s.ruleSetName(f, "RuleSetName")
	if err != nil {
		return err
	}
	orig, err := f.required("OriginalRuleSetName", "originalRuleSetName")
	if err != nil {
		return err
	}
	if err := s.checkRuleSetName(name); err != nil {
		return err
	}
	return s.update(func(st *state) *Error {
		if _, set := st.set(name); set != nil {
			return errAlreadyExists("Rule set", name)
		}
		_, src := st.set(orig)
		if src == nil {
			return errNoRuleSet(orig)
		}
		if len(st.sets) >= MaxRuleSets {
			return errorf(CodeLimitExceeded, "Too many rule sets: an account has at most %d per region", MaxRuleSets)
		}
		st.sets = append(st.sets, &ruleSet{name: name, created: s.cfg.Now(), rules: slices.Clone(src.rules)})
		return nil
	})
}

func (s *Service) deleteReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	name, err := s.ruleSetName(f, "RuleSetName")
	if err != nil {
		return err
	}
	return s.update(func(st *state) *Error {
		i, _ := st.set(name)
		if i < 0 {
			return nil // idempotent, as on AWS
		}
		if st.active == name {
			return withMember(errorf(CodeCannotDelete, "Cannot delete active rule set: %s", name), "Name", name)
		}
		st.sets = slices.Delete(st.sets, i, i+1)
		return nil
	})
}

func (s *Service) listReceiptRuleSets(ctx context.Context, f form, w *xw) *Error {
	s.mu.Lock()
	sets := slices.Clone(s.st.sets)
	s.mu.Unlock()
	slices.SortFunc(sets, func(a, b *ruleSet) int { return strings.Compare(a.name, b.name) })
	start := 0
	if tok := f["NextToken"]; tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(sets) {
			return errorf(CodeInvalidParameterValue, "Invalid NextToken: %s", tok)
		}
		start = n
	}
	end := min(start+pageSize, len(sets))
	w.open("RuleSets")
	for _, set := range sets[start:end] {
		w.open("member")
		w.leaf("Name", set.name)
		w.leaf("CreatedTimestamp", timestamp(set.created))
		w.close("member")
	}
	w.close("RuleSets")
	if end < len(sets) {
		w.leaf("NextToken", strconv.Itoa(end))
	}
	return nil
}

func (s *Service) describeReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	name, err := s.ruleSetName(f, "RuleSetName")
	if err != nil {
		return err
	}
	s.mu.Lock()
	_, set := s.st.set(name)
	s.mu.Unlock()
	if set == nil {
		return errNoRuleSet(name)
	}
	writeSet(w, set)
	return nil
}

func writeSet(w *xw, set *ruleSet) {
	w.metadata(set)
	w.open("Rules")
	for i := range set.rules {
		w.open("member")
		w.rule(&set.rules[i])
		w.close("member")
	}
	w.close("Rules")
}

func (s *Service) describeActiveReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	s.mu.Lock()
	_, set := s.st.set(s.st.active)
	s.mu.Unlock()
	if set != nil {
		writeSet(w, set)
	}
	return nil // nothing active: an empty result, as on AWS
}

func (s *Service) setActiveReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	name := f["RuleSetName"] // absent or empty: turn receiving off
	return s.update(func(st *state) *Error {
		if name != "" {
			if _, set := st.set(name); set == nil {
				return errNoRuleSet(name)
			}
		}
		st.active = name
		return nil
	})
}

func (s *Service) reorderReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	name, err := s.ruleSetName(f, "RuleSetName")
	if err != nil {
		return err
	}
	names, err := f.list("RuleNames")
	if err != nil {
		return err
	}
	return s.update(func(st *state) *Error {
		i, set := st.set(name)
		if set == nil {
			return errNoRuleSet(name)
		}
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				return errorf(CodeInvalidParameterValue, "Multiple positions found for rule: %s", n)
			}
			seen[n] = true
		}
		var missing []string
		for _, r := range set.rules {
			if !seen[r.Name] {
				missing = append(missing, r.Name)
			}
		}
		if len(missing) > 0 {
			return errorf(CodeInvalidParameterValue, "Positions for rules not found: %s", strings.Join(missing, ", "))
		}
		for _, n := range names {
			if set.rule(n) < 0 {
				return errNoRule(n)
			}
		}
		ed := st.editSet(i)
		for j, n := range names {
			ed.rules[j] = set.rules[set.rule(n)]
		}
		return nil
	})
}

// --- rules ---

func (s *Service) createReceiptRule(ctx context.Context, f form, w *xw) *Error {
	name, err := s.ruleSetName(f, "RuleSetName")
	if err != nil {
		return err
	}
	rule, err := f.rule("Rule")
	if err != nil {
		return err
	}
	after, hasAfter := f["After"]
	s.mu.Lock()
	defer s.mu.Unlock()
	// Existence first, as SES checks it before the rule's content.
	_, set := s.st.set(name)
	if set == nil {
		return errNoRuleSet(name)
	}
	if set.rule(rule.Name) >= 0 {
		return errAlreadyExists("Rule", rule.Name)
	}
	if hasAfter && after != "" && set.rule(after) < 0 {
		return errNoRule(after)
	}
	if len(set.rules) >= MaxRulesPerSet {
		return errorf(CodeLimitExceeded, "Too many rules: a rule set has at most %d", MaxRulesPerSet)
	}
	if err := s.validateRule(&rule); err != nil {
		return err
	}
	if err := s.checkTargets(ctx, &rule); err != nil {
		return err
	}
	return s.updateLocked(func(st *state) *Error {
		i, set := st.set(name)
		if set == nil {
			return errNoRuleSet(name)
		}
		ed := st.editSet(i)
		at := 0 // no After: the front, as on AWS
		if after != "" {
			at = ed.rule(after) + 1
		}
		ed.rules = slices.Insert(ed.rules, at, rule)
		return nil
	})
}

func (s *Service) updateReceiptRule(ctx context.Context, f form, w *xw) *Error {
	name, err := s.ruleSetName(f, "RuleSetName")
	if err != nil {
		return err
	}
	rule, err := f.rule("Rule")
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, set := s.st.set(name)
	if set == nil {
		return errNoRuleSet(name)
	}
	if set.rule(rule.Name) < 0 {
		return errNoRule(rule.Name)
	}
	if err := s.validateRule(&rule); err != nil {
		return err
	}
	if err := s.checkTargets(ctx, &rule); err != nil {
		return err
	}
	return s.updateLocked(func(st *state) *Error {
		i, _ := st.set(name)
		ed := st.editSet(i)
		ed.rules[ed.rule(rule.Name)] = rule // in place: the position stays
		return nil
	})
}

func (s *Service) deleteReceiptRule(ctx context.Context, f form, w *xw) *Error {
	name, err := s.ruleSetName(f, "RuleSetName")
	if err != nil {
		return err
	}
	rule, err := f.required("RuleName", "ruleName")
	if err != nil {
		return err
	}
	return s.update(func(st *state) *Error {
		i, set := st.set(name)
		if set == nil {
			return errNoRuleSet(name)
		}
		j := set.rule(rule)
		if j < 0 {
			return nil // idempotent, as on AWS
		}
		ed := st.editSet(i)
		ed.rules = slices.Delete(ed.rules, j, j+1)
		return nil
	})
}

func (s *Service) describeReceiptRule(ctx context.Context, f form, w *xw) *Error {
	name, err := s.ruleSetName(f, "RuleSetName")
	if err != nil {
		return err
	}
	rule, err := f.required("RuleName", "ruleName")
	if err != nil {
		return err
	}
	s.mu.Lock()
	_, set := s.st.set(name)
	s.mu.Unlock()
	if set == nil {
		return errNoRuleSet(name)
	}
	j := set.rule(rule)
	if j < 0 {
		return errNoRule(rule)
	}
	w.open("Rule")
	w.rule(&set.rules[j])
	w.close("Rule")
	return nil
}

func (s *Service) setReceiptRulePosition(ctx context.Context, f form, w *xw) *Error {
	name, err := s.ruleSetName(f, "RuleSetName")
	if err != nil {
		return err
	}
	rule, err := f.required("RuleName", "ruleName")
	if err != nil {
		return err
	}
	after := f["After"]
	return s.update(func(st *state) *Error {
		i, set := st.set(name)
		if set == nil {
			return errNoRuleSet(name)
		}
		j := set.rule(rule)
		if j < 0 {
			return errNoRule(rule)
		}
		if after != "" && set.rule(after) < 0 {
			return errNoRule(after)
		}
		if after == rule {
			return nil // after itself: no change
		}
		ed := st.editSet(i)
		r := ed.rules[j]
		ed.rules = slices.Delete(ed.rules, j, j+1)
		at := 0
		if after != "" {
			at = ed.rule(after) + 1
		}
		ed.rules = slices.Insert(ed.rules, at, r)
		return nil
	})
}

// --- filters ---

func (s *Service) createReceiptFilter(ctx context.Context, f form, w *xw) *Error {
	flt, err := f.filter("Filter")
	if err != nil {
		return err
	}
	if err := s.report(receipt.CheckFilter(&flt), "", "Filter."); err != nil {
		return err
	}
	return s.update(func(st *state) *Error {
		if st.filter(flt.Name) >= 0 {
			return errAlreadyExists("Filter", flt.Name)
		}
		if len(st.filters) >= MaxFilters {
			return errorf(CodeLimitExceeded, "Too many filters: an account has at most %d per region", MaxFilters)
		}
		st.filters = append(st.filters, flt)
		return nil
	})
}

func (s *Service) deleteReceiptFilter(ctx context.Context, f form, w *xw) *Error {
	name, err := f.required("FilterName", "filterName")
	if err != nil {
		return err
	}
	return s.update(func(st *state) *Error {
		if i := st.filter(name); i >= 0 {
			st.filters = slices.Delete(st.filters, i, i+1)
		}
		return nil
	})
}

func (s *Service) listReceiptFilters(ctx context.Context, f form, w *xw) *Error {
	s.mu.Lock()
	filters := slices.Clone(s.st.filters)
	s.mu.Unlock()
	slices.SortFunc(filters, func(a, b receipt.Filter) int { return strings.Compare(a.Name, b.Name) })
	w.open("Filters")
	for _, flt := range filters {
		w.open("member")
		w.filter(flt)
		w.close("member")
	}
	w.close("Filters")
	return nil
}

// --- identities ---

func (s *Service) addIdentity(name string) *Error {
	return s.update(func(st *state) *Error {
		if st.identity(name) < 0 {
			st.identities = append(st.identities, identity{name: name, typ: identityType(name)})
		}
		return nil
	})
}

func (s *Service) checkIdentity(name string) *Error {
	if identityType(name) == IdentityDomain {
		rs := s.base()
		rs.VerifiedDomains = []string{name}
		return s.validate(rs, "VerifiedDomains[0]", "Domain")
	}
	if strings.Count(name, "@") != 1 || strings.HasPrefix(name, "@") || strings.HasSuffix(name, "@") {
		return errorf(CodeInvalidParameterValue, "Invalid email address: %s", name)
	}
	return nil
}

// VerificationToken is the token SES v1 returns for a domain: derived from
// the name, so it is stable across restarts.
func VerificationToken(domain string) string {
	sum := sha256.Sum256([]byte("sesinbound verification " + strings.ToLower(domain)))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// DKIMTokens are the three CNAME tokens of a domain, stable across restarts.
func DKIMTokens(domain string) []string {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	out := make([]string, 3)
	for i := range out {
		sum := sha256.Sum256([]byte("sesinbound dkim " + strconv.Itoa(i) + " " + strings.ToLower(domain)))
		out[i] = strings.ToLower(enc.EncodeToString(sum[:20]))
	}
	return out
}

func (s *Service) verifyDomainIdentity(ctx context.Context, f form, w *xw) *Error {
	d, err := f.required("Domain", "domain")
	if err != nil {
		return err
	}
	d = strings.TrimSuffix(d, ".")
	if identityType(d) != IdentityDomain {
		return errorf(CodeInvalidParameterValue, "Invalid domain name: %s", d)
	}
	if err := s.checkIdentity(d); err != nil {
		return err
	}
	if err := s.addIdentity(d); err != nil {
		return err
	}
	w.leaf("VerificationToken", VerificationToken(d))
	return nil
}

func (s *Service) verifyEmailIdentity(ctx context.Context, f form, w *xw) *Error {
	e, err := f.required("EmailAddress", "emailAddress")
	if err != nil {
		return err
	}
	e = strings.TrimSuffix(e, ".")
	if identityType(e) != IdentityEmail {
		return errorf(CodeInvalidParameterValue, "Invalid email address: %s", e)
	}
	if err := s.checkIdentity(e); err != nil {
		return err
	}
	return s.addIdentity(e)
}

func (s *Service) listIdentities(ctx context.Context, f form, w *xw) *Error {
	typ := f["IdentityType"]
	switch typ {
	case "", IdentityEmail, IdentityDomain:
	default:
		return errorf(CodeValidationError, "1 validation error detected: Value '%s' at 'identityType' failed to satisfy constraint: Member must satisfy enum value set: [EmailAddress, Domain]", typ)
	}
	max := pageSize
	if v := f["MaxItems"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errorf(CodeInvalidParameterValue, "MaxItems must be between 1 and 1000, got %s", v)
		}
		max = n
	}
	s.mu.Lock()
	var names []string
	for _, id := range s.st.identities {
		if typ == "" || id.typ == typ {
			names = append(names, id.name)
		}
	}
	s.mu.Unlock()
	start := 0
	if tok := f["NextToken"]; tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(names) {
			return errorf(CodeInvalidParameterValue, "Invalid NextToken: %s", tok)
		}
		start = n
	}
	end := min(start+max, len(names))
	w.members("Identities", names[start:end])
	if end < len(names) {
		w.leaf("NextToken", strconv.Itoa(end))
	}
	return nil
}

// getIdentityVerificationAttributes reports Success for every known
// identity and leaves unknown ones out (Terraform relies on that to see a
// deleted identity).
func (s *Service) getIdentityVerificationAttributes(ctx context.Context, f form, w *xw) *Error {
	names, err := f.list("Identities")
	if err != nil {
		return err
	}
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	w.open("VerificationAttributes")
	for _, n := range names {
		i := st.identity(n)
		if i < 0 {
			continue
		}
		w.open("entry")
		w.leaf("key", n)
		w.open("value")
		w.leaf("VerificationStatus", "Success")
		if st.identities[i].typ == IdentityDomain {
			w.leaf("VerificationToken", VerificationToken(st.identities[i].name))
		}
		w.close("value")
		w.close("entry")
	}
	w.close("VerificationAttributes")
	return nil
}

func (s *Service) deleteIdentity(ctx context.Context, f form, w *xw) *Error {
	name, err := f.required("Identity", "identity")
	if err != nil {
		return err
	}
	return s.removeIdentity(name)
}

func (s *Service) removeIdentity(name string) *Error {
	return s.update(func(st *state) *Error {
		if i := st.identity(name); i >= 0 {
			st.identities = slices.Delete(st.identities, i, i+1)
		}
		return nil
	})
}

func (s *Service) deleteVerifiedEmailAddress(ctx context.Context, f form, w *xw) *Error {
	name, err := f.required("EmailAddress", "emailAddress")
	if err != nil {
		return err
	}
	return s.removeIdentity(name)
}

func (s *Service) listVerifiedEmailAddresses(ctx context.Context, f form, w *xw) *Error {
	s.mu.Lock()
	var names []string
	for _, id := range s.st.identities {
		if id.typ == IdentityEmail {
			names = append(names, id.name)
		}
	}
	s.mu.Unlock()
	w.members("VerifiedEmailAddresses", names)
	return nil
}

func (s *Service) verifyDomainDkim(ctx context.Context, f form, w *xw) *Error {
	d, err := f.required("Domain", "domain")
	if err != nil {
		return err
	}
	d = strings.TrimSuffix(d, ".")
	if err := s.checkIdentity(d); err != nil {
		return err
	}
	err = s.update(func(st *state) *Error {
		i := st.identity(d)
		if i < 0 {
			st.identities = append(st.identities, identity{name: d, typ: IdentityDomain})
			i = len(st.identities) - 1
		}
		st.identities[i].dkim = true
		return nil
	})
	if err != nil {
		return err
	}
	w.members("DkimTokens", DKIMTokens(d))
	return nil
}

func (s *Service) getIdentityDkimAttributes(ctx context.Context, f form, w *xw) *Error {
	names, err := f.list("Identities")
	if err != nil {
		return err
	}
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	w.open("DkimAttributes")
	for _, n := range names {
		i := st.identity(n)
		dkim := i >= 0 && st.identities[i].dkim
		w.open("entry")
		w.leaf("key", n)
		w.open("value")
		w.boolean("DkimEnabled", dkim)
		if dkim {
			w.leaf("DkimVerificationStatus", "Success")
			w.members("DkimTokens", DKIMTokens(st.identities[i].name))
		} else {
			w.leaf("DkimVerificationStatus", "NotStarted")
		}
		w.close("value")
		w.close("entry")
	}
	w.close("DkimAttributes")
	return nil
}
