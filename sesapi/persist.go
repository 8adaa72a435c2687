package sesapi

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sesinbound/sesinbound/receipt"
)

// Store keeps the configuration in one file, DIR/ses/config.yaml, in the
// rules file's shapes. Every change is written to a temporary file, synced,
// renamed over the old one and the directory synced, so a crash at any
// moment leaves the old configuration or the new one.
type Store struct {
	Path string
}

// NewStore returns the store of a data directory.
func NewStore(dataDir string) *Store {
	return &Store{Path: filepath.Join(dataDir, "ses", "config.yaml")}
}

// savedState is the file's shape.
type savedState struct {
	AccountID     string           `yaml:"AccountId"`
	Region        string           `yaml:"Region"`
	ActiveRuleSet string           `yaml:"ActiveRuleSet"`
	RuleSets      []savedRuleSet   `yaml:"RuleSets"`
	Filters       []receipt.Filter `yaml:"Filters"`
	Identities    []savedIdentity  `yaml:"Identities"`
	_             struct{}         `yaml:"-"`
}

type savedRuleSet struct {
	Metadata receipt.RuleSetMetadata `yaml:"Metadata"`
	Rules    []receipt.Rule          `yaml:"Rules"`
}

type savedIdentity struct {
	Identity    string `yaml:"Identity"`
	Type        string `yaml:"Type"`
	DkimEnabled bool   `yaml:"DkimEnabled"`
}

const tempPrefix = ".tmp-"

func (s *Store) save(account, region string, st *state) error {
	doc := savedState{AccountID: account, Region: region, ActiveRuleSet: st.active, Filters: st.filters}
	for _, set := range st.sets {
		doc.RuleSets = append(doc.RuleSets, savedRuleSet{
			Metadata: receipt.RuleSetMetadata{Name: set.name, CreatedTimestamp: timestamp(set.created)},
			Rules:    set.rules,
		})
	}
	for _, id := range st.identities {
		doc.Identities = append(doc.Identities, savedIdentity{Identity: id.name, Type: id.typ, DkimEnabled: id.dkim})
	}
	data, err := Marshal(doc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(s.Path, data)
}

// load reads the saved configuration; ok is false when there is none. A
// file saved for another account or region is refused.
func (s *Store) load(account, region string) (*state, bool, error) {
	removeTempFiles(filepath.Dir(s.Path))
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var doc savedState
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, false, fmt.Errorf("%s: %w", s.Path, err)
	}
	if doc.AccountID != account || doc.Region != region {
		return nil, false, fmt.Errorf("%s holds the configuration of account %s in %s, but this instance is account %s in %s; use another --data-dir or the same AccountId and Region",
			s.Path, doc.AccountID, doc.Region, account, region)
	}
	st := &state{active: doc.ActiveRuleSet, filters: doc.Filters}
	for _, set := range doc.RuleSets {
		created, _ := parseTimestamp(set.Metadata.CreatedTimestamp)
		rs := &receipt.RuleSet{AccountID: account, Region: region, Rules: set.Rules, Metadata: &set.Metadata, Source: s.Path}
		if err := rs.Validate(); err != nil {
			return nil, false, fmt.Errorf("%s: rule set %s: %w", s.Path, set.Metadata.Name, err)
		}
		st.sets = append(st.sets, &ruleSet{name: set.Metadata.Name, created: created, rules: rs.Rules})
	}
	for _, id := range doc.Identities {
		st.identities = append(st.identities, identity{name: id.Identity, typ: id.Type, dkim: id.DkimEnabled})
	}
	if st.active != "" {
		if _, set := st.set(st.active); set == nil {
			return nil, false, fmt.Errorf("%s: the active rule set %s is not among its rule sets", s.Path, st.active)
		}
	}
	return st, true, nil
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func removeTempFiles(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if len(e.Name()) > len(tempPrefix) && e.Name()[:len(tempPrefix)] == tempPrefix {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Marshal writes v as YAML in its fields' order, keys named by their yaml
// tags, leaving out every zero value (false, "", empty lists and maps), so
// what a rules file leaves out stays out. Maps are written with sorted keys.
func Marshal(v any) ([]byte, error) {
	n := node(reflect.ValueOf(v))
	if n == nil {
		n = &yaml.Node{Kind: yaml.MappingNode}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func node(v reflect.Value) *yaml.Node {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			return scalar(timestamp(t), "!!str")
		}
		m := &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i < v.NumField(); i++ {
			tag := v.Type().Field(i).Tag.Get("yaml")
			if tag == "" || tag == "-" || !v.Type().Field(i).IsExported() {
				continue
			}
			if c := node(v.Field(i)); c != nil {
				m.Content = append(m.Content, scalar(tag, "!!str"), c)
			}
		}
		if len(m.Content) == 0 {
			return nil
		}
		return m
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		s := &yaml.Node{Kind: yaml.SequenceNode}
		for i := 0; i < v.Len(); i++ {
			c := node(v.Index(i))
			if c == nil {
				c = &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
			}
			s.Content = append(s.Content, c)
		}
		return s
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range keys {
			c := node(v.MapIndex(reflect.ValueOf(k)))
			if c == nil {
				c = scalar("", "!!str")
			}
			m.Content = append(m.Content, scalar(k, "!!str"), c)
		}
		return m
	case reflect.String:
		if v.String() == "" {
			return nil
		}
		return scalar(v.String(), "!!str")
	case reflect.Bool:
		if !v.Bool() {
			return nil
		}
		return scalar("true", "!!bool")
	case reflect.Int, reflect.Int64, reflect.Int32:
		if v.Int() == 0 {
			return nil
		}
		return scalar(strconv.FormatInt(v.Int(), 10), "!!int")
	case reflect.Float64:
		if v.Float() == 0 {
			return nil
		}
		return scalar(strconv.FormatFloat(v.Float(), 'g', -1, 64), "!!float")
	}
	return nil
}

func scalar(value, tag string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

// Export writes a rule set in the rules file's shape (what --config loads):
// the account, region, verified domains, filters, the set's metadata, the
// URL maps and the rules, leaving out what is empty or false. Exporting
// what loading an export gives yields the same bytes.
func Export(rs *receipt.RuleSet) ([]byte, error) {
	out := *rs
	out.Faults = nil // injected failures are not configuration
	return Marshal(out)
}
