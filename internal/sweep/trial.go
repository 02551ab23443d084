package sweep

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Trial is one point of the grid.
type Trial struct {
	Index  int
	Name   string    // the run directory's name under the sweep's out: 003-ES-s1-lr0.0003
	Values []Setting // one per grid key, in the grid's order
}

// Setting is a grid key's value in one trial, with the line the value is written on.
type Setting struct {
	Key  string
	Raw  any
	Line int
}

// Dir is the trial's run directory.
func (f *File) Dir(t Trial) string { return filepath.Join(f.Out, t.Name) }

// Trials expands the grid: the cartesian product of its keys' values, numbered from 0 in
// the order nested loops would visit them, the first key outermost, each key's values in
// the order written. With no grid there is one trial, the settings alone.
func (f *File) Trials() []Trial {
	n := 1
	for _, a := range f.Grid {
		n *= len(a.Values)
	}
	labels := labels(f.Keys())
	width := len(strconv.Itoa(max(n-1, 0)))
	width = max(width, 3)
	trials := make([]Trial, n)
	for i := range trials {
		t := Trial{Index: i, Values: make([]Setting, len(f.Grid))}
		// Mixed radix, the last key fastest.
		rest := i
		for j := len(f.Grid) - 1; j >= 0; j-- {
			a := f.Grid[j]
			v := a.Values[rest%len(a.Values)]
			rest /= len(a.Values)
			t.Values[j] = Setting{Key: a.Key, Raw: v.Raw, Line: v.Line}
		}
		parts := []string{fmt.Sprintf("%0*d", width, i)}
		for j, s := range t.Values {
			parts = append(parts, labels[j]+namePart(s.Raw))
		}
		t.Name = strings.Join(parts, "-")
		trials[i] = t
	}
	return trials
}

// maxPart bounds one value's share of a trial's name; the index keeps names unique.
const maxPart = 40

// labels gives each grid key the prefix its values carry in trial names: none for market
// (ES), s for seed (s1), else the initials of the key's words (learning_rate: lr0.0003).
// Keys whose initials clash (n_envs and n_epochs) keep their full names instead.
func labels(keys []string) []string {
	out := make([]string, len(keys))
	count := map[string]int{}
	for i, k := range keys {
		switch k {
		case "market":
			out[i] = ""
		case "seed":
			out[i] = "s"
		default:
			var b strings.Builder
			for _, w := range strings.Split(k, "_") {
				if w != "" {
					b.WriteByte(w[0])
				}
			}
			out[i] = b.String()
		}
		count[out[i]]++
	}
	for i, k := range keys {
		if count[out[i]] > 1 {
			out[i] = k + "_"
		}
	}
	return out
}

// namePart writes a value for a directory name: numbers as strconv writes them (0.0003,
// 1e-05), lists joined with x (64x64), and any character other than letters, digits, '.',
// '+' and '-' as '_'.
func namePart(raw any) string {
	s := formatValue(raw)
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '+' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) > maxPart {
		b = b[:maxPart]
	}
	return string(b)
}

// formatValue writes a grid value as the trial's name and messages show it.
func formatValue(raw any) string {
	switch v := raw.(type) {
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = formatValue(x)
		}
		return strings.Join(parts, "x")
	}
	return fmt.Sprint(raw)
}
