package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxConfigSize bounds the configuration file.
const maxConfigSize = 1 << 20

// loadConfig reads the YAML file at path: it expands ${VAR} references in
// string values, refuses unknown fields, decodes the file and validates it for
// the subcommand described by need. lookup reads the environment (os.LookupEnv
// outside tests). Every error names the field it is about.
func loadConfig(path string, need int, lookup func(string) (string, bool)) (*config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: reading %s: %w", path, err)
	}
	if len(b) > maxConfigSize {
		return nil, fmt.Errorf("config: %s is larger than %d bytes", path, maxConfigSize)
	}
	c, err := parseConfig(b, lookup)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.validate(need, lookup); err != nil {
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	}
	return c, nil
}

// parseConfig decodes a configuration document.
func parseConfig(b []byte, lookup func(string) (string, bool)) (*config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the document is not a mapping of fields")
	}
	w := walker{lookup: lookup, expanded: map[*yaml.Node]bool{}}
	w.walk(doc.Content[0], reflect.TypeFor[config](), "")
	if err := w.errs.err(); err != nil {
		return nil, err
	}
	var c config
	if err := doc.Content[0].Decode(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// walker expands environment references and finds unknown fields, naming
// each problem by its field path and line.
type walker struct {
	lookup   func(string) (string, bool)
	expanded map[*yaml.Node]bool // aliases share nodes: expand each once
	errs     fieldErrors
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (w *walker) walk(n *yaml.Node, t reflect.Type, at string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode {
		if w.expand(n, at) {
			w.checkScalar(n, t, at)
		}
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			if key.Tag == "!!merge" {
				// <<: *anchor or <<: [*a, *b] merges mappings in.
				if val.Kind == yaml.SequenceNode {
					for _, c := range val.Content {
						w.walk(c, t, at)
					}
				} else {
					w.walk(val, t, at)
				}
				continue
			}
			ft, ok := fields[key.Value]
			if !ok {
				w.errs.add(join(at, key.Value), "unknown field (line %d)%s", key.Line, suggest(key.Value, fields))
				continue
			}
			w.walk(val, ft, join(at, key.Value))
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			w.walk(c, t.Elem(), at+"["+strconv.Itoa(i)+"]")
		}
	}
	// Anything else is a type mismatch that Decode reports.
}

// checkScalar reports a scalar that does not fit its field's type, naming
// the field (yaml's own errors name only the line).
func (w *walker) checkScalar(n *yaml.Node, t reflect.Type, at string) {
	switch {
	case t == reflect.TypeFor[duration]():
		var d duration
		if err := d.UnmarshalYAML(n); err != nil {
			w.errs.add(at, "%v", err)
		}
	case t.Kind() == reflect.Int:
		if _, err := strconv.Atoi(n.Value); err != nil || n.Tag != "!!int" {
			w.errs.add(at, "%q is not an integer (line %d)", n.Value, n.Line)
		}
	case t.Kind() == reflect.Bool:
		if n.Tag != "!!bool" {
			w.errs.add(at, "%q is not true or false (line %d)", n.Value, n.Line)
		}
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Slice:
		if n.Tag != "!!null" {
			w.errs.add(at, "expected a %s, not %q (line %d)", map[reflect.Kind]string{reflect.Struct: "mapping", reflect.Slice: "list"}[t.Kind()], n.Value, n.Line)
		}
	}
}

// yamlFields maps the YAML names of t's fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		m[name] = f.Type
	}
	return m
}

// suggest names a known field that differs from name only in case or in
// '_' against '-', the usual slips.
func suggest(name string, fields map[string]reflect.Type) string {
	k := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	for f := range fields {
		if f == k {
			return fmt.Sprintf(": did you mean %q?", f)
		}
	}
	return ""
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// expand replaces ${NAME} and ${NAME:-default} in a scalar's value with the
// environment variable's value (or the default when it is unset or empty);
// $${ stands for a literal ${. A reference to an unset variable without a
// default is an error. The value keeps its YAML type: expansion yields
// strings, so use it in string fields (URLs, names, durations).
// It reports whether the value is usable.
func (w *walker) expand(n *yaml.Node, at string) bool {
	if w.expanded[n] || !strings.Contains(n.Value, "${") {
		return true
	}
	w.expanded[n] = true
	v, err := expandEnv(n.Value, w.lookup)
	if err != nil {
		w.errs.add(at, "%v (line %d)", err, n.Line)
		return false
	}
	n.Value = v
	return true
}

func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			// $${ is a literal ${.
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := closingBrace(s[i+2:])
		if end < 0 {
			return "", errors.New("unterminated ${ (write $${ for a literal ${)")
		}
		ref := s[i+2 : i+2+end]
		s = s[i+2+end+1:]
		name, deflt, hasDefault := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("${%s}: %q is not an environment variable name", ref, name)
		}
		v, ok := lookup(name)
		switch {
		case ok && v != "":
			b.WriteString(v)
		case hasDefault:
			// The default may itself refer to variables.
			d, err := expandEnv(deflt, lookup)
			if err != nil {
				return "", err
			}
			b.WriteString(d)
		default:
			return "", fmt.Errorf("environment variable %s is not set (write ${%s:-default} for a default)", name, name)
		}
	}
}

// closingBrace returns the index in s of the } that closes a ${ just before
// s, counting nested ${...}, or -1.
func closingBrace(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
