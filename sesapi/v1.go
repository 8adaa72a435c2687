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

// op serves one SES v1 operation: it reads the request's members from f
// and writes the members of its Result element to w.
type op func(s *Service, ctx context.Context, f form, w *xw) *Error

// operations are the SES v1 operations served, by Action.
func operations() map[string]op {
	return map[string]op{
		"CreateReceiptRuleSet":              (*Service).createReceiptRuleSet,
		"CloneReceiptRuleSet":               (*Service).cloneReceiptRuleSet,
		"DeleteReceiptRuleSet":              (*Service).deleteReceiptRuleSet,
		"ListReceiptRuleSets":               (*Service).listReceiptRuleSets,
		"DescribeReceiptRuleSet":            (*Service).describeReceiptRuleSet,
		"DescribeActiveReceiptRuleSet":      (*Service).describeActiveReceiptRuleSet,
		"SetActiveReceiptRuleSet":           (*Service).setActiveReceiptRuleSet,
		"ReorderReceiptRuleSet":             (*Service).reorderReceiptRuleSet,
		"CreateReceiptRule":                 (*Service).createReceiptRule,
		"UpdateReceiptRule":                 (*Service).updateReceiptRule,
		"DeleteReceiptRule":                 (*Service).deleteReceiptRule,
		"DescribeReceiptRule":               (*Service).describeReceiptRule,
		"SetReceiptRulePosition":            (*Service).setReceiptRulePosition,
		"CreateReceiptFilter":               (*Service).createReceiptFilter,
		"DeleteReceiptFilter":               (*Service).deleteReceiptFilter,
		"ListReceiptFilters":                (*Service).listReceiptFilters,
		"VerifyDomainIdentity":              (*Service).verifyDomainIdentity,
		"VerifyEmailIdentity":               (*Service).verifyEmailIdentity,
		"VerifyEmailAddress":                (*Service).verifyEmailIdentity,
		"ListIdentities":                    (*Service).listIdentities,
		"GetIdentityVerificationAttributes": (*Service).getIdentityVerificationAttributes,
		"DeleteIdentity":                    (*Service).deleteIdentity,
		"DeleteVerifiedEmailAddress":        (*Service).deleteVerifiedEmailAddress,
		"ListVerifiedEmailAddresses":        (*Service).listVerifiedEmailAddresses,
		"VerifyDomainDkim":                  (*Service).verifyDomainDkim,
		"GetIdentityDkimAttributes":         (*Service).getIdentityDkimAttributes,
	}
}

// noResult reports the deprecated operations whose reply has no Result
// element (the model gives them no output shape).
func noResult(action string) bool {
	return action == "VerifyEmailAddress" || action == "DeleteVerifiedEmailAddress"
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
	run, ok := operations()[action]
	if !ok {
		writeError(w, reqID, errorf(CodeInvalidAction, "The action %s is not valid for this web service (sesinbound serves SES receiving and identities).", action))
		return
	}
	if v := f["Version"]; v != "" && v != APIVersion {
		writeError(w, reqID, errorf(CodeInvalidAction, "API version %s is not served; SES v1 is %s", v, APIVersion))
		return
	}
	var out xw
	if err := run(s, ctx, f, &out); err != nil {
		writeError(w, reqID, err)
		return
	}
	var b xw
	b.WriteString(`<` + action + `Response xmlns="` + Namespace + `">`)
	if !noResult(action) {
		b.open(action + "Result")
		b.Write(out.Bytes())
		b.close(action + "Result")
	}
	b.open("ResponseMetadata")
	b.leaf("RequestId", reqID)
	b.close("ResponseMetadata")
	b.close(action + "Response")
	writeXML(w, reqID, http.StatusOK, &b)
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
	writeXML(w, reqID, status, &b)
}

func writeXML(w http.ResponseWriter, reqID string, status int, b *xw) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// --- rule sets ---

// ruleSetName reads RuleSetName, which every rule-set and rule operation
// but SetActiveReceiptRuleSet requires.
func (f form) ruleSetName() (string, *Error) { return f.required("RuleSetName", "ruleSetName") }

// ruleSetAnd reads RuleSetName and then the member that read reads.
func ruleSetAnd[T any](f form, read func() (T, *Error)) (string, T, *Error) {
	var v T
	set, err := f.ruleSetName()
	if err == nil {
		v, err = read()
	}
	return set, v, err
}

// ruleSetAndRule reads RuleSetName and RuleName.
func (f form) ruleSetAndRule() (set, rule string, err *Error) {
	return ruleSetAnd(f, func() (string, *Error) { return f.required("RuleName", "ruleName") })
}

// snapshot returns the state published now. A published state is never
// changed, so the caller reads it without the lock.
func (s *Service) snapshot() *state {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *Service) createReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	return s.addRuleSet(f, false)
}

func (s *Service) cloneReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	return s.addRuleSet(f, true)
}

// addRuleSet creates the rule set RuleSetName: empty, or, for a clone,
// with a copy of the rules of OriginalRuleSetName. As on AWS, a clone is
// not active, and the new name is checked to be free before the original
// is looked for.
func (s *Service) addRuleSet(f form, clone bool) *Error {
	name, err := f.ruleSetName()
	if err != nil {
		return err
	}
	orig := ""
	if clone {
		if orig, err = f.required("OriginalRuleSetName", "originalRuleSetName"); err != nil {
			return err
		}
	}
	if err := s.checkRuleSetName(name); err != nil {
		return err
	}
	return s.update(func(st *state) *Error {
		if _, set := st.set(name); set != nil {
			return errAlreadyExists("Rule set", name)
		}
		var rules []receipt.Rule
		if clone {
			_, src, err := st.existingSet(orig)
			if err != nil {
				return err
			}
			rules = slices.Clone(src.rules)
		}
		if len(st.sets) >= MaxRuleSets {
			return errorf(CodeLimitExceeded, "Too many rule sets: an account has at most %d per region", MaxRuleSets)
		}
		st.sets = append(st.sets, &ruleSet{name: name, created: s.cfg.Now(), rules: rules})
		return nil
	})
}

func (s *Service) checkRuleSetName(name string) *Error {
	rs := s.base()
	rs.Metadata = &receipt.RuleSetMetadata{Name: name}
	return s.validate(rs, "Metadata.Name", "RuleSetName")
}

func (s *Service) listReceiptRuleSets(ctx context.Context, f form, w *xw) *Error {
	sets := slices.Clone(s.snapshot().sets)
	slices.SortFunc(sets, func(a, b *ruleSet) int { return strings.Compare(a.name, b.name) })
	return writePage(w, f["NextToken"], "RuleSets", sets, pageSize, func(set *ruleSet) {
		w.leaf("Name", set.name)
		w.leaf("CreatedTimestamp", timestamp(set.created))
	})
}

// page returns the bounds of the page of n items that token starts (a
// NextToken this package returned: the index of the page's first item),
// size items at most; ok is false for a token it did not return.
func page(token string, n, size int) (start, end int, ok bool) {
	if token != "" {
		t, err := strconv.Atoi(token)
		if err != nil || t < 0 || t > n {
			return 0, 0, false
		}
		start = t
	}
	return start, min(start+size, n), true
}

// pageSizeOf reads a page size (MaxItems, PageSize): 1 to 1000, pageSize
// when not given.
func pageSizeOf(v string) (int, bool) {
	if v == "" {
		return pageSize, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 1 && n <= 1000
}

// writePage writes as the list name the page of items that token starts,
// size items at most, and then the NextToken of the next page if any.
func writePage[T any](w *xw, token, name string, items []T, size int, item func(T)) *Error {
	start, end, ok := page(token, len(items), size)
	if !ok {
		return errorf(CodeInvalidParameterValue, "Invalid NextToken: %s", token)
	}
	writeList(w, name, items[start:end], item)
	if end < len(items) {
		w.leaf("NextToken", strconv.Itoa(end))
	}
	return nil
}

func (s *Service) describeReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	name, err := f.ruleSetName()
	if err != nil {
		return err
	}
	_, set, err := s.snapshot().existingSet(name)
	if err != nil {
		return err
	}
	writeSet(w, set)
	return nil
}

func writeSet(w *xw, set *ruleSet) {
	w.metadata(set)
	writeList(w, "Rules", set.rules, func(r receipt.Rule) { w.rule(&r) })
}

func (s *Service) describeActiveReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	st := s.snapshot()
	if _, set := st.set(st.active); set != nil {
		writeSet(w, set)
	}
	return nil // nothing active: an empty result, as on AWS
}

func (s *Service) setActiveReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	name := f["RuleSetName"] // absent or empty: turn receiving off
	return s.update(func(st *state) *Error {
		if name != "" {
			if _, _, err := st.existingSet(name); err != nil {
				return err
			}
		}
		st.active = name
		return nil
	})
}

// updateSet applies change to the rule set name (at index i of st), which
// must exist.
func (s *Service) updateSet(name string, change func(st *state, i int, set *ruleSet) *Error) *Error {
	return s.update(func(st *state) *Error {
		i, set, err := st.existingSet(name)
		if err != nil {
			return err
		}
		return change(st, i, set)
	})
}

func (s *Service) reorderReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	name, names, err := ruleSetAnd(f, func() ([]string, *Error) { return f.list("RuleNames") })
	if err != nil {
		return err
	}
	return s.updateSet(name, func(st *state, i int, set *ruleSet) *Error {
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
	return s.putRule(ctx, f, true)
}

func (s *Service) updateReceiptRule(ctx context.Context, f form, w *xw) *Error {
	return s.putRule(ctx, f, false)
}

// putRule creates (CreateReceiptRule: after After, or at the front) or
// replaces in place (UpdateReceiptRule) the rule Rule of the set
// RuleSetName. As SES does, it checks that the set and the rule's place
// exist before the rule's content, and the content before the targets.
func (s *Service) putRule(ctx context.Context, f form, create bool) *Error {
	name, rule, err := ruleSetAnd(f, func() (receipt.Rule, *Error) { return f.rule("Rule") })
	if err != nil {
		return err
	}
	after := f["After"]
	s.mu.Lock()
	defer s.mu.Unlock()
	_, set, err := s.st.existingSet(name)
	if err != nil {
		return err
	}
	if err := checkPlace(set, rule.Name, after, create); err != nil {
		return err
	}
	if err := s.validateRule(&rule); err != nil {
		return err
	}
	if err := s.checkTargets(ctx, &rule); err != nil {
		return err
	}
	return s.updateLocked(func(st *state) *Error {
		i, _ := st.set(name) // still there: the lock is held throughout
		ed := st.editSet(i)
		if create {
			ed.rules = slices.Insert(ed.rules, ed.after(after), rule)
		} else {
			ed.rules[ed.rule(rule.Name)] = rule // the position stays
		}
		return nil
	})
}

// checkPlace checks that a new rule's name is free, its After known and
// the set not full, or that the rule to replace exists.
func checkPlace(set *ruleSet, rule, after string, create bool) *Error {
	switch {
	case !create && set.rule(rule) < 0:
		return errNoRule(rule)
	case !create:
		return nil
	case set.rule(rule) >= 0:
		return errAlreadyExists("Rule", rule)
	case after != "" && set.rule(after) < 0:
		return errNoRule(after)
	case len(set.rules) >= MaxRulesPerSet:
		return errorf(CodeLimitExceeded, "Too many rules: a rule set has at most %d", MaxRulesPerSet)
	}
	return nil
}

func (s *Service) deleteReceiptRule(ctx context.Context, f form, w *xw) *Error {
	name, rule, err := f.ruleSetAndRule()
	if err != nil {
		return err
	}
	return s.updateSet(name, func(st *state, i int, set *ruleSet) *Error {
		if j := set.rule(rule); j >= 0 { // a missing rule: idempotent, as on AWS
			ed := st.editSet(i)
			ed.rules = slices.Delete(ed.rules, j, j+1)
		}
		return nil
	})
}

func (s *Service) describeReceiptRule(ctx context.Context, f form, w *xw) *Error {
	name, rule, err := f.ruleSetAndRule()
	if err != nil {
		return err
	}
	_, set, err := s.snapshot().existingSet(name)
	if err != nil {
		return err
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
	name, rule, err := f.ruleSetAndRule()
	if err != nil {
		return err
	}
	after := f["After"]
	return s.updateSet(name, func(st *state, i int, set *ruleSet) *Error {
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
		ed.rules = slices.Insert(ed.rules, ed.after(after), r)
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

func (s *Service) listReceiptFilters(ctx context.Context, f form, w *xw) *Error {
	filters := slices.Clone(s.snapshot().filters)
	slices.SortFunc(filters, func(a, b receipt.Filter) int { return strings.Compare(a.Name, b.Name) })
	writeList(w, "Filters", filters, w.filter)
	return nil
}

// --- identities ---

// addIdentity adds the identity if it is new, and marks it DKIM-enabled
// when dkim is set.
func (s *Service) addIdentity(name string, dkim bool) *Error {
	return s.update(func(st *state) *Error {
		i := st.identity(name)
		if i < 0 {
			st.identities = append(st.identities, identity{name: name, typ: identityType(name)})
			i = len(st.identities) - 1
		}
		st.identities[i].dkim = st.identities[i].dkim || dkim
		return nil
	})
}

// identityArg reads the identity of type typ at key (wire in errors),
// without a trailing dot, and checks it.
func (s *Service) identityArg(f form, key, wire, typ string) (string, *Error) {
	name, err := f.required(key, wire)
	if err != nil {
		return "", err
	}
	name = strings.TrimSuffix(name, ".")
	if identityType(name) != typ {
		what := map[string]string{IdentityDomain: "domain name", IdentityEmail: "email address"}[typ]
		return "", errorf(CodeInvalidParameterValue, "Invalid %s: %s", what, name)
	}
	if err := s.checkIdentity(name); err != nil {
		return "", err
	}
	return name, nil
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
	return s.verifyDomain(f, w, false)
}

func (s *Service) verifyEmailIdentity(ctx context.Context, f form, w *xw) *Error {
	e, err := s.identityArg(f, "EmailAddress", "emailAddress", IdentityEmail)
	if err != nil {
		return err
	}
	return s.addIdentity(e, false)
}

func (s *Service) verifyDomainDkim(ctx context.Context, f form, w *xw) *Error {
	return s.verifyDomain(f, w, true)
}

// verifyDomain adds the domain identity Domain and writes its verification
// token or, for VerifyDomainDkim (dkim), enables DKIM and writes the DKIM
// tokens.
func (s *Service) verifyDomain(f form, w *xw, dkim bool) *Error {
	d, err := s.identityArg(f, "Domain", "domain", IdentityDomain)
	if err != nil {
		return err
	}
	if err := s.addIdentity(d, dkim); err != nil {
		return err
	}
	if dkim {
		w.members("DkimTokens", DKIMTokens(d))
	} else {
		w.leaf("VerificationToken", VerificationToken(d))
	}
	return nil
}

func (s *Service) listIdentities(ctx context.Context, f form, w *xw) *Error {
	typ := f["IdentityType"]
	switch typ {
	case "", IdentityEmail, IdentityDomain:
	default:
		return errorf(CodeValidationError, "1 validation error detected: Value '%s' at 'identityType' failed to satisfy constraint: Member must satisfy enum value set: [EmailAddress, Domain]", typ)
	}
	size, ok := pageSizeOf(f["MaxItems"])
	if !ok {
		return errorf(CodeInvalidParameterValue, "MaxItems must be between 1 and 1000, got %s", f["MaxItems"])
	}
	return writePage(w, f["NextToken"], "Identities", s.snapshot().names(typ), size, w.text)
}

func (s *Service) listVerifiedEmailAddresses(ctx context.Context, f form, w *xw) *Error {
	w.members("VerifiedEmailAddresses", s.snapshot().names(IdentityEmail))
	return nil
}

// getIdentityVerificationAttributes reports Success for every known
// identity and leaves unknown ones out (Terraform relies on that to see a
// deleted identity).
func (s *Service) getIdentityVerificationAttributes(ctx context.Context, f form, w *xw) *Error {
	return s.identityAttributes(f, w, "VerificationAttributes", true, func(id *identity) {
		w.leaf("VerificationStatus", "Success")
		if id.typ == IdentityDomain {
			w.leaf("VerificationToken", VerificationToken(id.name))
		}
	})
}

func (s *Service) getIdentityDkimAttributes(ctx context.Context, f form, w *xw) *Error {
	return s.identityAttributes(f, w, "DkimAttributes", false, func(id *identity) {
		dkim := id != nil && id.dkim
		w.boolean("DkimEnabled", dkim)
		if dkim {
			w.leaf("DkimVerificationStatus", "Success")
			w.members("DkimTokens", DKIMTokens(id.name))
		} else {
			w.leaf("DkimVerificationStatus", "NotStarted")
		}
	})
}

// identityAttributes writes the map name with an entry for each identity
// the request names (Identities), value writing the entry's value; id is
// nil for an unknown identity, which is left out when knownOnly.
func (s *Service) identityAttributes(f form, w *xw, name string, knownOnly bool, value func(id *identity)) *Error {
	names, err := f.list("Identities")
	if err != nil {
		return err
	}
	st := s.snapshot()
	w.open(name)
	for _, n := range names {
		var id *identity
		if i := st.identity(n); i >= 0 {
			id = &st.identities[i]
		} else if knownOnly {
			continue
		}
		w.open("entry")
		w.leaf("key", n)
		w.open("value")
		value(id)
		w.close("value")
		w.close("entry")
	}
	w.close(name)
	return nil
}

// deleteBy deletes what the member key (wire in errors) names: remove
// takes it out of the state, and does nothing if it is not there (deletes
// are idempotent on AWS).
func (s *Service) deleteBy(f form, key, wire string, remove func(st *state, name string) *Error) *Error {
	name, err := f.required(key, wire)
	if err != nil {
		return err
	}
	return s.update(func(st *state) *Error { return remove(st, name) })
}

func (s *Service) deleteReceiptRuleSet(ctx context.Context, f form, w *xw) *Error {
	return s.deleteBy(f, "RuleSetName", "ruleSetName", (*state).deleteSet)
}

func (s *Service) deleteReceiptFilter(ctx context.Context, f form, w *xw) *Error {
	return s.deleteBy(f, "FilterName", "filterName", (*state).deleteFilter)
}

func (s *Service) deleteIdentity(ctx context.Context, f form, w *xw) *Error {
	return s.deleteBy(f, "Identity", "identity", (*state).deleteIdentity)
}

func (s *Service) deleteVerifiedEmailAddress(ctx context.Context, f form, w *xw) *Error {
	return s.deleteBy(f, "EmailAddress", "emailAddress", (*state).deleteIdentity)
}
