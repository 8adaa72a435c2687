package sesapi

import (
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sesinbound/sesinbound/receipt"
)

// form is a decoded query-protocol request: Action, Version and the
// flattened members (Rule.Actions.member.1.S3Action.BucketName=...).
type form map[string]string

// maxFormBytes bounds a request body; SES's own requests are a few KB.
const maxFormBytes = 1 << 20

// parseForm decodes a form-encoded body. A key given twice keeps its first
// value, as AWS's query services do.
func parseForm(body string) (form, *Error) {
	vals, err := url.ParseQuery(body)
	if err != nil {
		return nil, errorf(CodeMalformedInput, "the request body is not form-encoded: %v", err)
	}
	f := make(form, len(vals))
	for k, v := range vals {
		if len(v) > 0 {
			f[k] = v[0]
		}
	}
	return f, nil
}

// has reports whether a member was sent, even empty.
func (f form) has(key string) bool {
	_, ok := f[key]
	return ok
}

// required returns a member that must be present and not empty.
func (f form) required(key, wire string) (string, *Error) {
	v := f[key]
	if v == "" {
		return "", errRequired(wire)
	}
	return v, nil
}

// boolean reads an optional boolean; absent means false, as the Go SDK
// leaves false out.
func (f form) boolean(key string) (bool, *Error) {
	v, ok := f[key]
	if !ok || v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errorf(CodeMalformedInput, "%s: %q is not a boolean (true or false)", key, v)
	}
	return b, nil
}

// indices returns the member numbers N of prefix.member.N..., which must run
// 1, 2, ... without gaps. botocore sends "prefix=" for an empty list.
func (f form) indices(prefix string) ([]int, *Error) {
	head := prefix + ".member."
	seen := map[int]bool{}
	for k := range f {
		rest, ok := strings.CutPrefix(k, head)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || strconv.Itoa(n) != num {
			return nil, errorf(CodeMalformedInput, "%s is not a valid index", num)
		}
		seen[n] = true
	}
	idx := make([]int, 0, len(seen))
	for n := range seen {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	for i, n := range idx {
		if n != i+1 {
			return nil, errorf(CodeMalformedInput, "%s.member.%d is missing: list members are numbered from 1 without gaps", prefix, i+1)
		}
	}
	return idx, nil
}

// list reads a list of strings, prefix.member.N. An empty member (as in
// "Rule.Recipients=") is an empty list.
func (f form) list(prefix string) ([]string, *Error) {
	idx, err := f.indices(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(idx))
	for _, n := range idx {
		k := prefix + ".member." + strconv.Itoa(n)
		v, ok := f[k]
		if !ok {
			return nil, errorf(CodeMalformedInput, "%s: a list of strings takes no nested members", k)
		}
		out = append(out, v)
	}
	return out, nil
}

// actionTypes returns the members of receipt.Action: field index by API
// name.
func actionTypes() map[string]int {
	t := reflect.TypeOf(receipt.Action{})
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("yaml"); tag != "" && tag != "-" && t.Field(i).Type.Kind() == reflect.Pointer {
			m[tag] = i
		}
	}
	return m
}

// rule reads a ReceiptRule at prefix (Rule). Members left out take SES's
// defaults once validated.
func (f form) rule(prefix string) (receipt.Rule, *Error) {
	var r receipt.Rule
	var err *Error
	if r.Name, err = f.required(prefix+".Name", "rule.name"); err != nil {
		return r, err
	}
	if r.Enabled, err = f.boolean(prefix + ".Enabled"); err != nil {
		return r, err
	}
	if r.ScanEnabled, err = f.boolean(prefix + ".ScanEnabled"); err != nil {
		return r, err
	}
	r.TLSPolicy = f[prefix+".TlsPolicy"]
	if r.Recipients, err = f.list(prefix + ".Recipients"); err != nil {
		return r, err
	}
	if len(r.Recipients) == 0 {
		r.Recipients = nil
	}
	idx, err := f.indices(prefix + ".Actions")
	if err != nil {
		return r, err
	}
	for _, n := range idx {
		a, err := f.action(prefix + ".Actions.member." + strconv.Itoa(n))
		if err != nil {
			return r, err
		}
		r.Actions = append(r.Actions, a)
	}
	return r, nil
}

// action reads one ReceiptAction: exactly one member, each of its fields a
// string.
func (f form) action(prefix string) (receipt.Action, *Error) {
	var a receipt.Action
	types := map[string]bool{}
	for k := range f {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		typ, _, _ := strings.Cut(rest, ".")
		types[typ] = true
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for t := range types {
			if !yield(t) {
				return
			}
		}
	})
	members := actionTypes()
	var known []string
	for _, t := range names {
		if _, ok := members[t]; ok {
			known = append(known, t)
		}
	}
	if len(known) != 1 {
		return a, errorf(CodeInvalidParameterValue, "Exactly one action type must be specified for each ReceiptAction")
	}
	av := reflect.ValueOf(&a).Elem()
	fv := av.Field(members[known[0]])
	member := reflect.New(fv.Type().Elem())
	mt := member.Elem().Type()
	for i := 0; i < mt.NumField(); i++ {
		tag := mt.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" || mt.Field(i).Type.Kind() != reflect.String {
			continue
		}
		if v, ok := f[prefix+"."+known[0]+"."+tag]; ok {
			member.Elem().Field(i).SetString(v)
		}
	}
	fv.Set(member)
	return a, nil
}

// filter reads a ReceiptFilter at prefix (Filter).
func (f form) filter(prefix string) (receipt.Filter, *Error) {
	var flt receipt.Filter
	var err *Error
	if flt.Name, err = f.required(prefix+".Name", "filter.name"); err != nil {
		return flt, err
	}
	if flt.IPFilter.Policy, err = f.required(prefix+".IpFilter.Policy", "filter.ipFilter.policy"); err != nil {
		return flt, err
	}
	if flt.IPFilter.Cidr, err = f.required(prefix+".IpFilter.Cidr", "filter.ipFilter.cidr"); err != nil {
		return flt, err
	}
	return flt, nil
}
