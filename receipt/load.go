package receipt

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadRules reads, decodes and validates the rules file at path, YAML or
// JSON. Every problem is reported at once in a *ConfigError.
func LoadRules(path string) (*RuleSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	return ParseRules(bytes.NewReader(data), path)
}

// ParseRules decodes and validates a rules document; name is used in
// messages. Unknown keys, wrong types and breaches of SES's limits are all
// reported, each with its line, rule and field.
func ParseRules(r io.Reader, name string) (*RuleSet, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read rules %s: %w", name, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ConfigError{Problems: []Problem{{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}}
	}
	c := &checker{file: name, lines: map[string]int{}}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == 0 || (root.Kind == yaml.DocumentNode && len(root.Content) == 0) {
		return nil, &ConfigError{Problems: []Problem{{File: name, Msg: "the file is empty"}}}
	}
	c.ruleNames = ruleNames(root)
	c.check(root, reflect.TypeOf(RuleSet{}), "")
	if len(c.problems) > 0 {
		return nil, &ConfigError{Problems: c.problems}
	}
	rs := &RuleSet{}
	if err := root.Decode(rs); err != nil {
		return nil, &ConfigError{Problems: []Problem{{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}}
	}
	rs.Source = name
	if ps := rs.Check(); len(ps) > 0 {
		for i := range ps {
			ps[i].File = name
			ps[i].Line = c.line(ps[i].Field)
		}
		return nil, &ConfigError{Problems: ps}
	}
	return rs, nil
}

// checker walks the YAML tree against the Go types before decoding, so that
// each unknown key and wrong type becomes a Problem with its own line and
// path instead of one opaque decoder error.
type checker struct {
	file      string
	problems  []Problem
	lines     map[string]int // field path -> line, for validation problems
	ruleNames []string
}

func (c *checker) add(n *yaml.Node, path, format string, args ...any) {
	c.problems = append(c.problems, Problem{
		File: c.file, Line: n.Line, Rule: c.ruleFor(path), Field: path, Msg: fmt.Sprintf(format, args...),
	})
}

func (c *checker) check(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	c.lines[path] = n.Line
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isNull(n) {
		return // an absent value: the default applies
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			c.add(n, path, "want a mapping of %s fields, got %s", t.Name(), describe(n))
			return
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if tag := f.Tag.Get("yaml"); tag != "" && tag != "-" {
				fields[tag] = f
			}
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			fp := join(path, k.Value)
			f, ok := fields[k.Value]
			switch {
			case !ok:
				c.lines[fp] = k.Line
				if s := suggest(k.Value, fields); s != "" {
					c.add(k, fp, "unknown field (did you mean %s?)", s)
				} else {
					c.add(k, fp, "unknown field; %s accepts %s", orTop(t.Name()), strings.Join(sortedKeys(fields), ", "))
				}
			case seen[k.Value]:
				c.add(k, fp, "duplicate field")
			default:
				seen[k.Value] = true
				c.check(v, f.Type, fp)
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.add(n, path, "want a list, got %s", describe(n))
			return
		}
		for i, e := range n.Content {
			c.check(e, t.Elem(), path+"["+strconv.Itoa(i)+"]")
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.add(n, path, "want a mapping, got %s", describe(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			c.check(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			c.add(n, path, "want a string, got %s", describe(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			c.add(n, path, "want true or false, got %s", describe(n))
		}
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			c.add(n, path, "want a whole number, got %s", describe(n))
		}
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			c.add(n, path, "want a number, got %s", describe(n))
		}
	}
}

func (c *checker) line(path string) int {
	for p := path; ; {
		if l, ok := c.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return c.lines[""]
		}
		p = p[:i]
	}
}

// ruleFor returns the name of the rule a path points into, or "".
func (c *checker) ruleFor(path string) string {
	if !strings.HasPrefix(path, "Rules[") {
		return ""
	}
	end := strings.IndexByte(path, ']')
	i, err := strconv.Atoi(path[len("Rules["):end])
	if err != nil || i >= len(c.ruleNames) {
		return ""
	}
	return c.ruleNames[i]
}

// ruleNames reads each rule's Name straight from the tree, so problems can
// name their rule even when the rest of the file does not decode.
func ruleNames(root *yaml.Node) []string {
	if root.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "Rules" || root.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		var names []string
		for _, r := range root.Content[i+1].Content {
			name := ""
			for j := 0; r.Kind == yaml.MappingNode && j+1 < len(r.Content); j += 2 {
				if r.Content[j].Value == "Name" && r.Content[j+1].Kind == yaml.ScalarNode {
					name = r.Content[j+1].Value
				}
			}
			names = append(names, name)
		}
		return names
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!bool":
		return "a boolean " + n.Value
	case "!!int", "!!float":
		return "a number " + n.Value
	}
	return strconv.Quote(n.Value)
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func orTop(name string) string {
	if name == "RuleSet" {
		return "the top level"
	}
	return name
}

func sortedKeys(m map[string]reflect.StructField) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// suggest returns the known field closest to an unknown one: the same name
// in another case, or one at edit distance 2 or less.
func suggest(name string, fields map[string]reflect.StructField) string {
	best, bestDist := "", 3
	for _, f := range sortedKeys(fields) {
		if strings.EqualFold(f, name) {
			return f
		}
		if d := editDistance(strings.ToLower(f), strings.ToLower(name)); d < bestDist {
			best, bestDist = f, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
