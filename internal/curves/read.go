package curves

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"hybridtrain/internal/ppo"
)

// stepKey is the x of every value of a metrics line.
const stepKey = "time/total_timesteps"

// maxLine bounds a metrics line; a real one is under a kilobyte.
const maxLine = 1 << 20

// Point is one value of a metric: at Step timesteps.
type Point struct {
	Step  int64
	Value float64
}

// Run is the metrics of one run.
type Run struct {
	// Name labels the run in legends: its directory's name.
	Name string
	// File is the metrics.jsonl read.
	File string
	// Series holds every numeric metric (booleans are left out) by key, in file order.
	Series map[string][]Point
	// Skipped names what was left out, by file and line: whole lines that are not metrics
	// lines, and single values that are not numbers.
	Skipped []*LineError
}

// LineError is a metrics line that could not be used.
type LineError struct {
	File string
	Line int // 1-based
	Msg  string
}

// Error returns "FILE:LINE: MSG".
func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// ErrNoMetrics is wrapped by Read's error for a file without a single usable line.
var ErrNoMetrics = errors.New("no metrics")

// Read reads a run's metrics.jsonl; path is the run directory or the file itself. Lines
// that are not a JSON object with a numeric time/total_timesteps (a line torn by a crash,
// an empty or hand-edited one) are skipped and listed in Skipped, as are values of a
// metric that are not numbers. A file that cannot be read, or has no usable line, is an
// error naming it (wrapping ErrNoMetrics in the second case).
func Read(path string) (*Run, error) {
	file := path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		file = filepath.Join(path, ppo.MetricsFile)
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("curves: %s: %w (no such file)", file, ErrNoMetrics)
	}
	if err != nil {
		return nil, fmt.Errorf("curves: %w", err)
	}
	r := &Run{Name: filepath.Base(filepath.Dir(filepath.Clean(file))), File: file, Series: map[string][]Point{}}
	if file == path && filepath.Base(file) != ppo.MetricsFile {
		r.Name = filepath.Base(file) // a renamed copy: its own name says more than its folder
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	lines, used := 0, 0
	for sc.Scan() {
		lines++
		if r.addLine(sc.Bytes(), lines) {
			used++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("curves: %s:%d: %w", file, lines+1, err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' && len(r.Skipped) > 0 && r.Skipped[len(r.Skipped)-1].Line == lines {
		r.Skipped[len(r.Skipped)-1].Msg += " (the last line, cut short: a crash while it was written?)"
	}
	if used == 0 {
		return r, fmt.Errorf("curves: %s: %w (%d lines, none usable)", file, ErrNoMetrics, lines)
	}
	return r, nil
}

// addLine adds the values of line n and reports whether it was usable.
func (r *Run) addLine(line []byte, n int) bool {
	skip := func(format string, args ...any) bool {
		r.Skipped = append(r.Skipped, &LineError{File: r.File, Line: n, Msg: fmt.Sprintf(format, args...)})
		return false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return skip("not a JSON object (%v): line skipped", err)
	}
	var step float64
	if raw, ok := obj[stepKey]; !ok {
		return skip("no %s: line skipped", stepKey)
	} else if err := json.Unmarshal(raw, &step); err != nil || bytes.Equal(raw, []byte("null")) {
		return skip("%s is %s, not a number: line skipped", stepKey, raw)
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		raw := obj[k]
		switch {
		case k == stepKey:
			continue
		case raw[0] == '"' || bytes.Equal(raw, []byte("true")) || bytes.Equal(raw, []byte("false")):
			continue // "kind" and the booleans are not curves
		case raw[0] != '-' && (raw[0] < '0' || raw[0] > '9'):
			skip("%s is %s, not a number: value left out", k, raw)
			continue
		}
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil {
			skip("%s is %s, not a number: value left out", k, raw)
			continue
		}
		r.Series[k] = append(r.Series[k], Point{Step: int64(step), Value: v})
	}
	return true
}
