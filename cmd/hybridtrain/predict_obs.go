package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// predict --obs: rows of raw observations from a file, through the checkpoint's
// normaliser and policy.

// maxRowBytes bounds one line of --obs or --masks (a 261-feature row is a few KB).
const maxRowBytes = 1 << 20

// predictRow is one row of predict --obs's output.
type predictRow struct {
	Logits []jsonFloat32 `json:"logits"`
	Probs  []jsonFloat32 `json:"probs"`
	Value  jsonFloat32   `json:"value"`
	Action int           `json:"action"`
}

// jsonFloat32 encodes a float32 as its shortest decimal (0.1, not 0.10000000149011612).
type jsonFloat32 float32

func (f jsonFloat32) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(f), 'g', -1, 32), nil
}

func runPredictObs(a *app, opts *predictOptions) error {
	model, err := ppo.LoadModel(opts.model)
	if err != nil {
		return err
	}
	d, nA := model.ObsDim(), model.Policy.Config().NumActions
	var obs []float32
	rows, err := readRows(opts.obs, "--obs", d, func(field string) error {
		x, err := parseObservation(field)
		obs = append(obs, x)
		return err
	})
	if err != nil {
		return err
	}
	var masks []bool
	if opts.masks != "" {
		mrows, err := readRows(opts.masks, "--masks", nA, func(field string) error {
			m, err := parseMask(field)
			masks = append(masks, m)
			return err
		})
		if err != nil {
			return err
		}
		if mrows != rows {
			return dataErrorf("predict: --masks %s has %d rows, --obs %s has %d", opts.masks, mrows, opts.obs, rows)
		}
		for r := range rows {
			if !slices.Contains(masks[r*nA:(r+1)*nA], true) {
				return dataErrorf("predict: --masks %s: line %d: no legal action (every mask is 0)", opts.masks, r+1)
			}
		}
	}
	out := []predictRow{}
	if rows > 0 {
		var res policy.ForwardResult
		if err := model.Forward(obs, masks, rows, &res); err != nil {
			return fmt.Errorf("predict: %w", err)
		}
		for r := range rows {
			row := predictRow{Value: jsonFloat32(res.Values[r]), Action: int(res.Actions[r])}
			for j := range nA {
				row.Logits = append(row.Logits, jsonFloat32(res.Logits[r*nA+j]))
				row.Probs = append(row.Probs, jsonFloat32(res.Probs[r*nA+j]))
			}
			out = append(out, row)
		}
	}
	if opts.asJSON {
		return writeJSON(a.stdout, struct {
			Rows []predictRow `json:"rows"`
		}{out})
	}
	printPredictRows(a.stdout, out, nA)
	return nil
}

// printPredictRows writes one line per row: the action, the value, the probabilities and
// the logits under the actions' names.
func printPredictRows(w io.Writer, rows []predictRow, nA int) {
	t := newTable(w)
	head := []string{"row", "action", "value"}
	for j := range nA {
		head = append(head, "p "+actionName(j, nA))
	}
	for j := range nA {
		head = append(head, "logit "+actionName(j, nA))
	}
	t.row(head...)
	for i, r := range rows {
		cells := []string{strconv.Itoa(i + 1), actionName(r.Action, nA), fmt.Sprintf("%.6g", r.Value)}
		for _, p := range r.Probs {
			cells = append(cells, fmt.Sprintf("%.4f", p))
		}
		for _, l := range r.Logits {
			cells = append(cells, fmt.Sprintf("%.6g", l))
		}
		t.row(cells...)
	}
	t.flush()
}

// parseObservation reads one feature: a finite number within float32's range.
func parseObservation(s string) (float32, error) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if f := float32(x); math.IsNaN(x) || math.IsInf(float64(f), 0) {
		return 0, fmt.Errorf("%q is not a finite float32", s)
	}
	return float32(x), nil
}

// parseMask reads one mask value: 0 or 1.
func parseMask(s string) (bool, error) {
	switch s {
	case "1":
		return true, nil
	case "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not 0 or 1", s)
}

// readRows reads a file of rows of width comma-separated fields and passes each field,
// trimmed, to value in order. A blank line, a row of another width or a field value
// refuses is a data error (exit 3) naming the file, the line and the column (the 1-based
// field). It returns the number of rows.
func readRows(path, flag string, width int, value func(field string) error) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, dataErrorf("predict: %s %s: no such file", flag, path)
		}
		return 0, dataErrorf("predict: %s %s: %v", flag, path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxRowBytes)
	rows := 0
	for sc.Scan() {
		line := rows + 1
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			return 0, dataErrorf("predict: %s %s: line %d: empty line (one row per line, no blank lines)", flag, path, line)
		}
		fields := strings.Split(text, ",")
		if len(fields) != width {
			col := min(len(fields), width) + 1
			return 0, dataErrorf("predict: %s %s: line %d, column %d: %d values, want %d", flag, path, line, col, len(fields), width)
		}
		for j, field := range fields {
			if err := value(strings.TrimSpace(field)); err != nil {
				return 0, dataErrorf("predict: %s %s: line %d, column %d: %v", flag, path, line, j+1, err)
			}
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		return 0, dataErrorf("predict: %s %s: line %d: %v", flag, path, rows+1, err)
	}
	return rows, nil
}
