package sesapi

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"slices"
	"strconv"

	"github.com/sesinbound/sesinbound/receipt"
)

// Namespace is the XML namespace of SES v1 replies.
const Namespace = "http://ses.amazonaws.com/doc/2010-12-01/"

// xw writes an XML reply element by element.
type xw struct{ bytes.Buffer }

func (w *xw) open(name string)  { w.WriteString("<" + name + ">") }
func (w *xw) close(name string) { w.WriteString("</" + name + ">") }

func (w *xw) leaf(name, value string) {
	w.open(name)
	w.text(value)
	w.close(name)
}

func (w *xw) boolean(name string, v bool) { w.leaf(name, strconv.FormatBool(v)) }

func (w *xw) text(value string) { xml.EscapeText(w, []byte(value)) }

// members writes a list of strings.
func (w *xw) members(name string, values []string) { writeList(w, name, values, w.text) }

// writeList writes a list: <name><member>item</member>...</name>.
func writeList[T any](w *xw, name string, items []T, item func(T)) {
	w.open(name)
	for _, v := range items {
		w.open("member")
		item(v)
		w.close("member")
	}
	w.close(name)
}

// rule writes a ReceiptRule as Describe returns it: Enabled, TlsPolicy and
// ScanEnabled always, Recipients sorted and only when there are some,
// Actions always and in stored order.
func (w *xw) rule(r *receipt.Rule) {
	w.leaf("Name", r.Name)
	w.boolean("Enabled", r.Enabled)
	w.leaf("TlsPolicy", r.TLSPolicy)
	if len(r.Recipients) > 0 {
		w.members("Recipients", slices.Sorted(slices.Values(r.Recipients)))
	}
	writeList(w, "Actions", r.Actions, func(a receipt.Action) { w.action(&a) })
	w.boolean("ScanEnabled", r.ScanEnabled)
}

// action writes the one member of a ReceiptAction with its non-empty fields.
func (w *xw) action(a *receipt.Action) {
	av := reflect.ValueOf(a).Elem()
	for i := 0; i < av.NumField(); i++ {
		f := av.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		name := av.Type().Field(i).Tag.Get("yaml")
		w.open(name)
		m := f.Elem()
		for j := 0; j < m.NumField(); j++ {
			tag := m.Type().Field(j).Tag.Get("yaml")
			if v := m.Field(j); v.Kind() == reflect.String && v.String() != "" && tag != "" && tag != "-" {
				w.leaf(tag, v.String())
			}
		}
		w.close(name)
	}
}

func (w *xw) metadata(set *ruleSet) {
	w.open("Metadata")
	w.leaf("Name", set.name)
	w.leaf("CreatedTimestamp", timestamp(set.created))
	w.close("Metadata")
}

func (w *xw) filter(f receipt.Filter) {
	w.leaf("Name", f.Name)
	w.open("IpFilter")
	w.leaf("Policy", f.IPFilter.Policy)
	w.leaf("Cidr", f.IPFilter.Cidr)
	w.close("IpFilter")
}
