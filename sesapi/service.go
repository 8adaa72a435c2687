package sesapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sesinbound/sesinbound/receipt"
)

// DefaultRuleSetName names the rule set a rules file becomes when its
// Metadata gives no Name, and the built-in rule's set.
const DefaultRuleSetName = "sesinbound"

// Targets checks what an action names when a rule is created or updated,
// as SES does. Each method returns nil when the target works, or an error
// whose text tells the user what is wrong and how to fix it.
type Targets interface {
	// CheckS3 proves that the action's bucket (and key, if any) can take
	// mail, by storing AMAZON_SES_SETUP_NOTIFICATION under its prefix.
	CheckS3(ctx context.Context, rule string, a *receipt.S3Action) error
	// CheckTopic and CheckFunction return ErrUnknown when sesinbound cannot
	// tell (no endpoint is configured for SNS or Lambda).
	CheckTopic(ctx context.Context, arn string) error
	CheckFunction(ctx context.Context, arn string) error
}

// Config is what a Service serves.
type Config struct {
	// AccountID and Region are the instance's one account and region.
	AccountID, Region string
	// Topics and Functions are the rules file's URL maps, passed on to
	// every rule set the service builds.
	Topics, Functions map[string]string
	// Apply receives every new configuration, once it is saved; it swaps
	// it into the pipeline (receipt.Processor.SetRules).
	Apply func(*receipt.RuleSet)
	// Targets checks action targets at CreateReceiptRule and
	// UpdateReceiptRule; nil checks none.
	Targets Targets
	// Store saves every change before the call returns; nil keeps the
	// configuration in memory.
	Store *Store
	// Now and Rand default to time.Now and crypto/rand (request IDs).
	Now  func() time.Time
	Rand io.Reader
	Log  *slog.Logger
}

// Service is the live receiving configuration and the API over it. API
// calls are serialized by a mutex; the SMTP path never takes it, since it
// reads the immutable rule set last handed to Apply.
type Service struct {
	cfg Config
	mu  sync.Mutex
	st  *state
}

// New returns a service with an empty configuration: no rule sets, nothing
// active. Load, Import or Default fill it.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, st: &state{}}
}

// Load restores the configuration saved in the store, and reports whether
// there was one.
func (s *Service) Load() (bool, error) { return s.LoadFrom(s.cfg.Store) }

// LoadFrom restores the configuration saved in store (nil: none), without
// saving changes to it, and reports whether there was one. It is how
// doctor sees what serve would run.
func (s *Service) LoadFrom(store *Store) (bool, error) {
	if store == nil {
		return false, nil
	}
	st, ok, err := store.load(s.cfg.AccountID, s.cfg.Region)
	if err != nil || !ok {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
	s.apply()
	return true, nil
}

// Import takes a rules file as it is loaded with --config: its rules become
// the rule set named by Metadata.Name (DefaultRuleSetName when it has none),
// replacing a set of that name, and that set becomes active; its Filters
// replace the filters of the same names, and each of its VerifiedDomains
// becomes a domain identity. Everything else in the configuration stays.
func (s *Service) Import(rs *receipt.RuleSet) error {
	name, created := DefaultRuleSetName, s.cfg.Now()
	if m := rs.Metadata; m != nil {
		if m.Name != "" {
			name = m.Name
		}
		if t, ok := parseTimestamp(m.CreatedTimestamp); ok {
			created = t
		}
	}
	err := s.update(func(st *state) *Error {
		set := &ruleSet{name: name, created: created, rules: rs.Rules}
		if i, _ := st.set(name); i >= 0 {
			st.sets[i] = set
		} else {
			st.sets = append(st.sets, set)
		}
		st.active = name
		for _, f := range rs.Filters {
			if i := st.filter(f.Name); i >= 0 {
				st.filters[i] = f
			} else {
				st.filters = append(st.filters, f)
			}
		}
		for _, d := range rs.VerifiedDomains {
			if st.identity(d) < 0 {
				st.identities = append(st.identities, identity{name: d, typ: IdentityDomain})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return nil
}

// RuleSet returns the configuration the pipeline runs now, as a rule set.
func (s *Service) RuleSet() *receipt.RuleSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.build(s.st)
}

// update applies change to a copy of the state, saves it, publishes it and
// hands the new rule set to Apply. On any error nothing changes.
func (s *Service) update(change func(*state) *Error) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateLocked(change)
}

func (s *Service) updateLocked(change func(*state) *Error) *Error {
	next := s.st.clone()
	if err := change(next); err != nil {
		return err
	}
	if s.cfg.Store != nil {
		if err := s.cfg.Store.save(s.cfg.AccountID, s.cfg.Region, next); err != nil {
			s.cfg.Log.Error("could not save the SES configuration; the change is refused", slog.Any("err", err))
			return &Error{Status: 500, Code: CodeInternalFailure, Message: "could not save the configuration: " + err.Error()}
		}
	}
	s.st = next
	s.apply()
	return nil
}

func (s *Service) apply() {
	if s.cfg.Apply != nil {
		s.cfg.Apply(s.build(s.st))
	}
}

// build turns a state into the rule set the pipeline runs: the active
// set's rules (none when receiving is off), the filters, and the domain
// identities as the verified domains.
func (s *Service) build(st *state) *receipt.RuleSet {
	rs := &receipt.RuleSet{
		AccountID:       s.cfg.AccountID,
		Region:          s.cfg.Region,
		VerifiedDomains: st.domains(),
		Filters:         st.filters,
		Topics:          s.cfg.Topics,
		Functions:       s.cfg.Functions,
		Source:          "SES API",
	}
	if _, set := st.set(st.active); set != nil {
		rs.Metadata = &receipt.RuleSetMetadata{Name: set.name, CreatedTimestamp: timestamp(set.created)}
		rs.Rules = set.rules
		rs.Source = "rule set " + set.name
	} else {
		rs.Source = "no active rule set"
	}
	return rs
}

func (s *Service) requestID() string {
	id, err := uuid.NewRandomFromReader(s.cfg.Rand)
	if err != nil {
		return "00000000-0000-0000-0000-000000000000"
	}
	return id.String()
}

// validateRule checks a rule with the rules file's validator
// (receipt.RuleSet.CheckRule) and fills in SES's defaults. The file
// reports the problems at file:line; the API reports them with the SES code
// of their kind, naming the member.
func (s *Service) validateRule(r *receipt.Rule) *Error {
	if len(r.Actions) > MaxActionsPerRule {
		return errorf(CodeLimitExceeded, "Too many actions: a rule takes at most %d, got %d", MaxActionsPerRule, len(r.Actions))
	}
	for i, a := range r.Actions {
		if a.StopAction != nil && i != len(r.Actions)-1 {
			return errorf(CodeInvalidParameterValue, "Stop action, if any, must be placed at the end of the actions list")
		}
	}
	return s.report(s.base().CheckRule(r), "", "Rule.")
}

// base is an empty rule set of the instance's account and region, the
// context the validator checks a rule or name in.
func (s *Service) base() *receipt.RuleSet {
	return &receipt.RuleSet{AccountID: s.cfg.AccountID, Region: s.cfg.Region}
}

// validate checks a rule set holding one name, filter or domain, and
// reports its problems with their field paths rewritten from the file's
// (from) to the API's (to).
func (s *Service) validate(rs *receipt.RuleSet, from, to string) *Error {
	return s.report(rs.Check(), from, to)
}

// report turns the validator's problems into one SES error: the code of the
// first problem's kind (LimitExceeded when any is a limit), and every
// problem in the message, "; "-separated as SES joins its own.
func (s *Service) report(ps []receipt.Problem, from, to string) *Error {
	if len(ps) == 0 {
		return nil
	}
	code := ps[0].Kind.SESCode()
	msgs := make([]string, len(ps))
	for i, p := range ps {
		if p.Kind == receipt.KindLimit {
			code = CodeLimitExceeded
		}
		field := p.Field
		if rest, ok := strings.CutPrefix(field, from); ok {
			field = to + rest
		}
		msgs[i] = fmt.Sprintf("%s: %s", field, p.Msg)
	}
	return errorf(code, "%s", strings.Join(msgs, "; "))
}

// checkTargets makes SES's checks of what the rule's actions name.
func (s *Service) checkTargets(ctx context.Context, r *receipt.Rule) *Error {
	t := s.cfg.Targets
	if t == nil {
		return nil
	}
	topic := func(arn string) *Error {
		if arn == "" {
			return nil
		}
		if err := t.CheckTopic(ctx, arn); err != nil && err != ErrUnknown {
			return withMember(errorf(CodeInvalidSnsTopic, "Invalid SNS topic: %s: %v", arn, err), "Topic", arn)
		}
		return nil
	}
	for _, a := range r.Actions {
		var err *Error
		switch {
		case a.S3Action != nil:
			if e := t.CheckS3(ctx, r.Name, a.S3Action); e != nil {
				return withMember(errorf(CodeInvalidS3Configuration, "%v", e), "Bucket", a.S3Action.BucketName)
			}
			err = topic(a.S3Action.TopicArn)
		case a.SNSAction != nil:
			err = topic(a.SNSAction.TopicArn)
		case a.LambdaAction != nil:
			if e := t.CheckFunction(ctx, a.LambdaAction.FunctionArn); e != nil && e != ErrUnknown {
				return withMember(errorf(CodeInvalidLambdaFunction, "Invalid Lambda function: %s: %v", a.LambdaAction.FunctionArn, e), "FunctionArn", a.LambdaAction.FunctionArn)
			}
			err = topic(a.LambdaAction.TopicArn)
		case a.BounceAction != nil:
			err = topic(a.BounceAction.TopicArn)
		case a.StopAction != nil:
			err = topic(a.StopAction.TopicArn)
		case a.WorkmailAction != nil:
			err = topic(a.WorkmailAction.TopicArn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ErrUnknown is what a Targets check returns when it cannot tell.
var ErrUnknown = errUnknown{}

type errUnknown struct{}

func (errUnknown) Error() string { return "sesinbound cannot tell" }

// SetTargets sets the checker of action targets, once the backends it
// needs exist; call it before serving.
func (s *Service) SetTargets(t Targets) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Targets = t
}
