package walkforward

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"

	"hybridtrain/internal/atomicfile"
	"hybridtrain/internal/env"
)

// PlanSchema names the layout of a Plan's JSON form (walkforward.json).
const PlanSchema = "hybridtrain.walkforward-plan/1"

// PlanFile is the plan's name in a walk-forward's directory: Run writes it before the first
// fold and checks it when run again.
const PlanFile = "walkforward.json"

// Span is a run of consecutive sessions: one block or several adjacent ones.
type Span struct {
	FirstBlock int    `json:"first_block"`
	LastBlock  int    `json:"last_block"`
	First      string `json:"first"` // date of its first session
	Last       string `json:"last"`  // date of its last session
	Sessions   int    `json:"sessions"`

	// start and end are the span's sessions as indices [start, end) into the dataset's
	// Sessions: Run hands the test block's to the Runner.
	start, end int
}

// Indices returns the span's sessions as indices into the dataset's Sessions, in order.
func (s Span) Indices() []int {
	out := make([]int, 0, s.end-s.start)
	for i := s.start; i < s.end; i++ {
		out = append(out, i)
	}
	return out
}

// String writes the span as its dates and size: 2024-01-02..2024-03-28 (60 sessions).
func (s Span) String() string {
	return fmt.Sprintf("%s..%s (%d sessions)", s.First, s.Last, s.Sessions)
}

// Fold is one training run and the block it is tested on.
type Fold struct {
	Index int    `json:"index"`
	Name  string `json:"name"` // fold-00, fold-01, ...: its directory under the walk-forward's
	Train Span   `json:"train"`
	Test  Span   `json:"test"`
}

// Plan is a walk-forward: the sessions cut into Folds+1 consecutive blocks, and the folds,
// fold i training on blocks 0..i (or the last Window of them) and tested on block i+1.
type Plan struct {
	Schema string `json:"schema"`
	Data   string `json:"data"`   // the dataset's source
	Folds  int    `json:"folds"`  // K
	Window int    `json:"window"` // blocks a fold trains on; 0: every earlier block
	// Blocks are the K+1 blocks, in time order; a Span each of one block.
	Blocks []Span `json:"blocks"`
	// FoldList holds the folds, in order (after the blocks, so that the fields above read
	// first).
	FoldList []Fold `json:"fold_list"`
}

// NewPlan cuts sessions (indices into ds.Sessions, consecutive and in order: a
// SessionRange) into folds+1 consecutive blocks and plans the folds. The blocks are as
// equal as the count allows, the earlier ones a session longer when it does not divide:
// the first folds, which train on the least data, get the extra sessions. window 0 trains
// each fold on every block before its test block (an expanding window); window N on the
// last N of them (a rolling window, the first folds on fewer). Errors say what to change.
func NewPlan(ds *env.Dataset, sessions []int, folds, window int) (*Plan, error) {
	switch {
	case folds < 1:
		return nil, fmt.Errorf("walkforward: folds must be >= 1, got %d", folds)
	case window < 0 || window > folds:
		return nil, fmt.Errorf("walkforward: window must be in [1, folds = %d] blocks, or 0 for every earlier block, got %d", folds, window)
	case len(sessions) < folds+1:
		return nil, fmt.Errorf("walkforward: %d folds need %d blocks of at least one session; %s has %d sessions", folds, folds+1, ds.Source, len(sessions))
	}
	for i := 1; i < len(sessions); i++ {
		if sessions[i] != sessions[i-1]+1 {
			return nil, fmt.Errorf("walkforward: sessions must be consecutive, %d follows %d", sessions[i], sessions[i-1])
		}
	}
	p := &Plan{Schema: PlanSchema, Data: ds.Source, Folds: folds, Window: window}
	n, k := len(sessions), folds+1
	start := sessions[0]
	for b := range k {
		size := n / k
		if b < n%k {
			size++
		}
		p.Blocks = append(p.Blocks, span(ds, b, b, start, start+size))
		start += size
	}
	for i := range folds {
		lo := 0
		if window > 0 {
			lo = max(0, i-window+1)
		}
		p.FoldList = append(p.FoldList, Fold{
			Index: i, Name: FoldName(i, folds),
			Train: span(ds, lo, i, p.Blocks[lo].start, p.Blocks[i].end),
			Test:  p.Blocks[i+1],
		})
	}
	return p, nil
}

// span describes sessions [start, end) of ds as blocks first..last.
func span(ds *env.Dataset, first, last, start, end int) Span {
	return Span{FirstBlock: first, LastBlock: last, First: ds.Sessions[start].Date, Last: ds.Sessions[end-1].Date,
		Sessions: end - start, start: start, end: end}
}

// FoldName is fold i's name among folds: fold-00 ... fold-99, three digits past 100 folds.
func FoldName(i, folds int) string {
	width := max(2, len(fmt.Sprint(folds-1)))
	return fmt.Sprintf("fold-%0*d", width, i)
}

// Dir is fold f's run directory under the walk-forward's directory dir.
func (f Fold) Dir(dir string) string { return filepath.Join(dir, f.Name) }

// ErrOtherPlan is returned by Record when the directory holds another walk-forward.
var ErrOtherPlan = errors.New("the directory holds another walk-forward")

// Record writes p as walkforward.json into dir (created when missing). One already there
// must plan the same folds over the same blocks: a walk-forward whose data, folds, window
// or session range changed would continue in fold directories trained on other sessions.
// A directory that holds anything else but no walkforward.json is refused too.
func (p *Plan) Record(dir string) error {
	old, err := ReadPlan(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return fmt.Errorf("walkforward: %s holds files but no %s: %w; give a new or empty directory", dir, PlanFile, ErrOtherPlan)
		}
	case err != nil:
		return err
	case !reflect.DeepEqual(old.comparable(), p.comparable()):
		return fmt.Errorf("walkforward: %s: %w: it plans %s, this run %s; give this one another directory",
			filepath.Join(dir, PlanFile), ErrOtherPlan, old.describe(), p.describe())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("walkforward: %w", err)
	}
	var b bytes.Buffer
	if err := writeJSON(&b, p); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, PlanFile), b.Bytes(), atomicfile.Perm); err != nil {
		return fmt.Errorf("walkforward: %w", err)
	}
	return nil
}

// comparable is what two plans of one directory must share: the folds, the window and the
// blocks' dates and sizes; not where the data came from (a copied directory may name it by
// another path), nor the blocks' indices into a dataset (a plan read back has none).
func (p *Plan) comparable() any {
	blocks := make([]Span, len(p.Blocks))
	for i, b := range p.Blocks {
		b.start, b.end = 0, 0
		blocks[i] = b
	}
	return struct {
		Folds, Window int
		Blocks        []Span
	}{p.Folds, p.Window, blocks}
}

// describe sums the plan up for a message.
func (p *Plan) describe() string {
	w := "every earlier block"
	if p.Window > 0 {
		w = fmt.Sprintf("a window of %d", p.Window)
	}
	first, last := p.Blocks[0], p.Blocks[len(p.Blocks)-1]
	return fmt.Sprintf("%d folds (%s) over %s..%s, blocks of %d to %d sessions", p.Folds, w, first.First, last.Last, last.Sessions, first.Sessions)
}

// ReadPlan reads dir's walkforward.json; an error wrapping fs.ErrNotExist when there is
// none. The spans' session indices are not recorded: a plan read back describes, it does
// not index a dataset.
func ReadPlan(dir string) (*Plan, error) {
	path := filepath.Join(dir, PlanFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("walkforward: %w", err)
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("walkforward: %s: %w", path, err)
	}
	if p.Schema != PlanSchema {
		return nil, fmt.Errorf("walkforward: %s: schema %q, want %q", path, p.Schema, PlanSchema)
	}
	if len(p.Blocks) == 0 {
		return nil, fmt.Errorf("walkforward: %s: no blocks", path)
	}
	return &p, nil
}

// writeJSON writes v indented by two spaces, with a final newline.
func writeJSON(w *bytes.Buffer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("walkforward: json: %w", err)
	}
	w.Write(append(b, '\n'))
	return nil
}
