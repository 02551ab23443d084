package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"hybridtrain/internal/atomicfile"
)

// PlanSchema names the layout of a Plan's JSON form (sweep.json, `sweep plan --json`).
const PlanSchema = "hybridtrain.sweep/1"

// PlanFile is the plan's name in the sweep's out directory: `sweep run` writes it before
// any trial starts, and `sweep report` reads the trials and their grid values from it.
const PlanFile = "sweep.json"

// Plan is a sweep's trials with the values that make each one, as run and as reported.
type Plan struct {
	Schema string   `json:"schema"`
	Name   string   `json:"name"`
	File   string   `json:"file"` // the sweep file, as given
	Out    string   `json:"out"`
	Grid   []string `json:"grid"` // the grid's keys, in order

	// TotalTimesteps adds up the trials' total_timesteps.
	TotalTimesteps int64 `json:"total_timesteps"`
	// Trials come last, so that a long list does not bury the fields above.
	Trials []PlanTrial `json:"trials"`
}

// PlanTrial is one trial of a Plan.
type PlanTrial struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	Dir   string `json:"dir"`
	// Values are the grid's values for this trial, by key.
	Values         map[string]any `json:"values"`
	Market         string         `json:"market"`
	Seed           uint64         `json:"seed"`
	TotalTimesteps int64          `json:"total_timesteps"`
}

// NewPlan describes f's trials; the caller gives each trial's resolved market, seed and
// total_timesteps (the configuration is its to resolve).
func NewPlan(f *File, trials []Trial, resolved func(Trial) (market string, seed uint64, timesteps int64)) *Plan {
	p := &Plan{Schema: PlanSchema, Name: f.Name, File: f.Path, Out: f.Out, Grid: f.Keys()}
	if p.Grid == nil {
		p.Grid = []string{}
	}
	for _, t := range trials {
		pt := PlanTrial{Index: t.Index, Name: t.Name, Dir: f.Dir(t), Values: map[string]any{}}
		for _, s := range t.Values {
			pt.Values[s.Key] = s.Raw
		}
		pt.Market, pt.Seed, pt.TotalTimesteps = resolved(t)
		p.TotalTimesteps += pt.TotalTimesteps
		p.Trials = append(p.Trials, pt)
	}
	return p
}

// ErrOtherSweep is returned by Record when the out directory holds another sweep's plan.
var ErrOtherSweep = errors.New("the directory holds another sweep's trials")

// Record writes p as sweep.json in its out directory (created when missing). A sweep.json
// already there must list the same trials (names, in order), so that a changed grid never
// continues in directories whose numbers now mean other values; anything else in it (the
// settings' timesteps) is replaced.
func (p *Plan) Record() error {
	if err := os.MkdirAll(p.Out, 0o755); err != nil {
		return fmt.Errorf("sweep: out: %w", err)
	}
	path := filepath.Join(p.Out, PlanFile)
	old, err := ReadPlan(p.Out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case !slices.Equal(old.names(), p.names()):
		return fmt.Errorf("sweep: %s: %w (%d trials, from %s): give this sweep another out", path, ErrOtherSweep, len(old.Trials), old.File)
	}
	var b bytes.Buffer
	if err := writeJSON(&b, p); err != nil {
		return err
	}
	if err := atomicfile.Write(path, b.Bytes(), atomicfile.Perm); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}

func (p *Plan) names() []string {
	out := make([]string, len(p.Trials))
	for i, t := range p.Trials {
		out[i] = t.Name
	}
	return out
}

// ReadPlan reads dir's sweep.json; an error wrapping fs.ErrNotExist when there is none.
func ReadPlan(dir string) (*Plan, error) {
	path := filepath.Join(dir, PlanFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("sweep: %s: %w", path, err)
	}
	if p.Schema != PlanSchema {
		return nil, fmt.Errorf("sweep: %s: schema %q, want %q", path, p.Schema, PlanSchema)
	}
	return &p, nil
}
