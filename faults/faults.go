package faults

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/sesinbound/sesinbound/encrypt"
	"github.com/sesinbound/sesinbound/fakes"
	"github.com/sesinbound/sesinbound/receipt"
)

// Registry holds the faults in force. It is safe for concurrent use, and
// its zero value is an empty Registry ready to use.
type Registry struct {
	mu        sync.Mutex
	smtp      []*firing[receipt.SMTPFault]
	aws       []*firing[receipt.AWSFault]
	envelopes map[string]string
	// Rand returns a number in [0, 1) for probabilities; nil means
	// math/rand/v2. It is called with the Registry locked, so it need not
	// be safe for concurrent use.
	Rand func() float64
}

// firing is a fault with what is left of its count.
type firing[T any] struct {
	fault     T
	remaining int // -1: unlimited
	p         float64
}

// New returns an empty Registry, as new(Registry) does.
func New() *Registry { return &Registry{} }

// Set replaces every fault with spec's.
func (r *Registry) Set(spec receipt.FaultSpec) error {
	if err := receipt.CheckFaults(&spec); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.smtp, r.aws, r.envelopes = nil, nil, nil
	r.add(spec)
	return nil
}

// Add adds spec's faults to those in force.
func (r *Registry) Add(spec receipt.FaultSpec) error {
	if err := receipt.CheckFaults(&spec); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(spec)
	return nil
}

func (r *Registry) add(spec receipt.FaultSpec) {
	for _, f := range spec.SMTP {
		f.Stage = strings.ToUpper(f.Stage)
		r.smtp = append(r.smtp, &firing[receipt.SMTPFault]{fault: f, remaining: remaining(f.Count), p: f.Probability})
	}
	for _, f := range spec.AWS {
		f.Service = strings.ToLower(f.Service)
		if f.Scope == "" {
			f.Scope = receipt.ScopeBoth
		}
		r.aws = append(r.aws, &firing[receipt.AWSFault]{fault: f, remaining: remaining(f.Count), p: f.Probability})
	}
	for rule, v := range spec.Envelopes {
		if r.envelopes == nil {
			r.envelopes = map[string]string{}
		}
		r.envelopes[rule] = v
	}
}

func remaining(count int) int {
	if count > 0 {
		return count
	}
	return -1
}

// Clear removes every fault.
func (r *Registry) Clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.smtp, r.aws, r.envelopes = nil, nil, nil
}

// Spec returns the faults in force, with what is left of each count.
func (r *Registry) Spec() receipt.FaultSpec {
	r.mu.Lock()
	defer r.mu.Unlock()
	var spec receipt.FaultSpec
	for _, f := range r.smtp {
		s := f.fault
		if f.remaining >= 0 {
			n := f.remaining
			s.Remaining = &n
		}
		spec.SMTP = append(spec.SMTP, s)
	}
	for _, f := range r.aws {
		a := f.fault
		if f.remaining >= 0 {
			n := f.remaining
			a.Remaining = &n
		}
		spec.AWS = append(spec.AWS, a)
	}
	if len(r.envelopes) > 0 {
		spec.Envelopes = map[string]string{}
		for k, v := range r.envelopes {
			spec.Envelopes[k] = v
		}
	}
	return spec
}

// fire decides whether f fires now, and uses up one of its count if so.
// The caller holds r.mu.
func fire[T any](r *Registry, f *firing[T]) bool {
	if f.remaining == 0 {
		return false
	}
	if f.p > 0 && r.random() >= f.p {
		return false
	}
	if f.remaining > 0 {
		f.remaining--
	}
	return true
}

func (r *Registry) random() float64 {
	if r.Rand != nil {
		return r.Rand()
	}
	return rand.Float64()
}

// SMTPFault returns the reply to inject at stage (MAIL, RCPT or DATA), if a
// fault fires.
func (r *Registry) SMTPFault(stage string) (code int, enhanced [3]int, message string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.smtp {
		if f.fault.Stage != stage || !fire(r, f) {
			continue
		}
		s := f.fault
		enhanced = [3]int{s.Code / 100, 0, 0}
		if parts := strings.Split(s.Status, "."); len(parts) == 3 {
			for i, p := range parts {
				enhanced[i], _ = strconv.Atoi(p)
			}
		}
		message = s.Message
		if message == "" {
			message = "Injected fault"
		}
		return s.Code, enhanced, message, true
	}
	return 0, enhanced, "", false
}

// AWSFault returns the error to inject for a call to service's operation
// from scope (receipt.ScopeSesinbound or receipt.ScopeEndpoint), if a fault
// fires: the service's answer to the fault's code, with the HTTP status it
// sends (fakes.S3Error, fakes.KMSError).
func (r *Registry) AWSFault(scope, service, operation string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.aws {
		a := f.fault
		if a.Service != service || (a.Operation != "" && !strings.EqualFold(a.Operation, operation)) ||
			(a.Scope != receipt.ScopeBoth && a.Scope != scope) || !fire(r, f) {
			continue
		}
		msg := a.Message
		if msg == "" {
			msg = "injected by sesinbound"
		}
		if service == "kms" {
			return fakes.KMSError(a.Error, msg)
		}
		return fakes.S3Error(a.Error, msg)
	}
	return nil
}

// EndpointFaults returns the hook (fakes.WithS3Faults, fakes.WithKMSFaults)
// that makes the embedded endpoint's requests for service ("s3" or "kms")
// subject to AWS faults of scope endpoint. The fakes name the operation
// and answer the error as the service would.
func (r *Registry) EndpointFaults(service string) fakes.FaultFunc {
	return func(_ context.Context, op string) error {
		return r.AWSFault(receipt.ScopeEndpoint, service, op)
	}
}

// Envelope returns the envelope variant a rule writes.
func (r *Registry) Envelope(rule string) encrypt.Variant {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.envelopes[rule]; ok {
		return encrypt.Variant(v)
	}
	return encrypt.Variant(r.envelopes["*"])
}

// Store makes the pipeline's S3 writes subject to AWS faults of scope
// sesinbound. With no Faults it only passes calls on.
type Store struct {
	receipt.ObjectStore
	Faults *Registry
}

// PutObject fails with an injected error or calls the store.
func (s Store) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := s.Faults.pipeline("s3", "PutObject"); err != nil {
		return nil, err
	}
	return s.ObjectStore.PutObject(ctx, in, optFns...)
}

// KMS makes the pipeline's data-key requests subject to AWS faults of
// scope sesinbound. With no Faults it only passes calls on.
type KMS struct {
	encrypt.KMS
	Faults *Registry
}

// GenerateDataKey fails with an injected error or calls KMS.
func (k KMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	if err := k.Faults.pipeline("kms", "GenerateDataKey"); err != nil {
		return nil, err
	}
	return k.KMS.GenerateDataKey(ctx, in, optFns...)
}

// pipeline is the fault, if any, for one of the pipeline's calls; a nil
// Registry has none.
func (r *Registry) pipeline(service, operation string) error {
	if r == nil {
		return nil
	}
	return r.AWSFault(receipt.ScopeSesinbound, service, operation)
}
