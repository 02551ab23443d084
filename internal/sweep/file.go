package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// File is a parsed sweep file. Parse checks its layout; the configuration keys under
// settings and grid are the caller's to check (with the line each value carries).
type File struct {
	Path   string // as given: every message names it
	Source []byte // the file as read (the cluster's ConfigMap carries it verbatim)

	Name     string
	NameLine int
	Out      string // the directory the trials' run directories go under
	OutLine  int

	// Settings is the settings mapping, as written: configuration keys every trial shares.
	// Nil when the file has none.
	Settings *yaml.Node
	// Grid holds the keys that vary, in the order written.
	Grid []Axis
}

// Axis is one key of the grid and the values it takes, in the order written.
type Axis struct {
	Key    string
	Line   int // the key's line
	Values []Value
}

// Value is one value of a grid key.
type Value struct {
	Raw  any // as YAML decodes it: int, float64, bool, string, or []any for a list key
	Line int
}

// Error is a mistake in a sweep file: the file, the line (0 when the whole file is at
// fault) and the key (dotted: grid.seed), and what is wrong.
type Error struct {
	File string
	Line int
	Key  string
	Err  error
}

// Error returns "sweep: FILE:LINE: KEY: what".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sweep: ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(file string, line int, key, format string, a ...any) *Error {
	return &Error{File: file, Line: line, Key: key, Err: fmt.Errorf(format, a...)}
}

// Top-level keys of a sweep file.
const (
	keyName     = "name"
	keyOut      = "out"
	keySettings = "settings"
	keyGrid     = "grid"
)

// MaxTrials bounds a grid's product: beyond it a typo (a long list pasted into the wrong
// key) is likelier than a sweep, and an Indexed Job takes at most 100,000 completions.
const MaxTrials = 10000

// maxNameLen bounds the sweep's name: it names the Job, whose pods are named
// <name>-<index>-<suffix>, and a pod's hostname <name>-<index> must stay a DNS label (63).
const maxNameLen = 40

// Parse reads a sweep file. path is only for messages. Every error is an *Error naming
// the file, the line and the key.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path, Source: data}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errorf(path, 0, "", "empty file: want name, out, settings and grid")
		}
		return nil, &Error{File: path, Err: errors.New(strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, errorf(path, root.Line, "", "want a mapping with name, out, settings and grid")
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if prev, ok := seen[k.Value]; ok {
			return nil, errorf(path, k.Line, k.Value, "given twice (first on line %d)", prev)
		}
		seen[k.Value] = k.Line
		var err error
		switch k.Value {
		case keyName:
			f.Name, f.NameLine, err = f.name(v)
		case keyOut:
			f.Out, f.OutLine, err = f.out(v)
		case keySettings:
			f.Settings, err = f.settings(v)
		case keyGrid:
			f.Grid, err = f.grid(v)
		default:
			err = errorf(path, k.Line, k.Value, "unknown key: a sweep file has name, out, settings and grid (configuration keys go under settings)")
		}
		if err != nil {
			return nil, err
		}
	}
	for _, k := range []string{keyName, keyOut} {
		if _, ok := seen[k]; !ok {
			return nil, errorf(path, 0, k, "missing: a sweep file names the sweep (name) and the directory its trials go under (out)")
		}
	}
	if n, ok := f.count(); !ok {
		return nil, errorf(path, 0, keyGrid, "%s trials: at most %d", n, MaxTrials)
	}
	return f, nil
}

// name reads the sweep's name: a DNS label, since it names the Job on a cluster.
func (f *File) name(v *yaml.Node) (string, int, error) {
	s, err := f.scalarString(keyName, v)
	if err != nil {
		return "", 0, err
	}
	if msgs := validation.IsDNS1123Label(s); len(msgs) > 0 || len(s) > maxNameLen {
		why := fmt.Sprintf("at most %d characters", maxNameLen)
		if len(msgs) > 0 {
			why = strings.Join(msgs, "; ")
		}
		return "", 0, errorf(f.Path, v.Line, keyName, "%q: want lower-case letters, digits and '-', starting and ending with a letter or digit (it names the Kubernetes Job): %s", s, why)
	}
	return s, v.Line, nil
}

func (f *File) out(v *yaml.Node) (string, int, error) {
	s, err := f.scalarString(keyOut, v)
	if err != nil {
		return "", 0, err
	}
	if strings.TrimSpace(s) == "" {
		return "", 0, errorf(f.Path, v.Line, keyOut, "empty: want the directory the trials' run directories go under")
	}
	return s, v.Line, nil
}

func (f *File) scalarString(key string, v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return "", errorf(f.Path, v.Line, key, "want a string")
	}
	return v.Value, nil
}

func (f *File) settings(v *yaml.Node) (*yaml.Node, error) {
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return nil, nil
	case v.Kind != yaml.MappingNode:
		return nil, errorf(f.Path, v.Line, keySettings, "want a mapping of configuration keys, as in a config file")
	}
	return v, nil
}

// grid reads the grid: a mapping of key -> non-empty list of distinct values.
func (f *File) grid(v *yaml.Node) ([]Axis, error) {
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return nil, nil
	case v.Kind != yaml.MappingNode:
		return nil, errorf(f.Path, v.Line, keyGrid, "want a mapping of configuration keys to lists of values, such as seed: [1, 2, 3]")
	}
	var axes []Axis
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, list := v.Content[i], v.Content[i+1]
		key := keyGrid + "." + k.Value
		for _, a := range axes {
			if a.Key == k.Value {
				return nil, errorf(f.Path, k.Line, key, "given twice (first on line %d)", a.Line)
			}
		}
		if list.Kind != yaml.SequenceNode {
			return nil, errorf(f.Path, list.Line, key, "want a list of values, such as [1, 2, 3] (a value every trial shares goes under settings)")
		}
		if len(list.Content) == 0 {
			return nil, errorf(f.Path, list.Line, key, "empty list: give at least one value")
		}
		a := Axis{Key: k.Value, Line: k.Line}
		for _, item := range list.Content {
			if item.Kind == yaml.ScalarNode && item.Tag == "!!null" {
				return nil, errorf(f.Path, item.Line, key, "no value")
			}
			var raw any
			if err := item.Decode(&raw); err != nil {
				return nil, errorf(f.Path, item.Line, key, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
			}
			for _, prev := range a.Values {
				if reflect.DeepEqual(prev.Raw, raw) {
					return nil, errorf(f.Path, item.Line, key, "%s is listed twice (first on line %d): the trials would be the same", formatValue(raw), prev.Line)
				}
			}
			a.Values = append(a.Values, Value{Raw: raw, Line: item.Line})
		}
		axes = append(axes, a)
	}
	return axes, nil
}

// count returns the number of trials, and false with it spelled out when it exceeds
// MaxTrials.
func (f *File) count() (string, bool) {
	n := 1
	var parts []string
	for _, a := range f.Grid {
		parts = append(parts, fmt.Sprint(len(a.Values)))
		n *= len(a.Values)
		if n > MaxTrials {
			return strings.Join(parts, " x ") + " x ...", false
		}
	}
	return fmt.Sprint(n), true
}

// Keys returns the grid's keys in order.
func (f *File) Keys() []string {
	keys := make([]string, len(f.Grid))
	for i, a := range f.Grid {
		keys[i] = a.Key
	}
	return keys
}
