package walkforward

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hybridtrain/internal/env"
)

// synthDataset is n synthetic NQ sessions (dated from 2024-01-02, business days).
func synthDataset(t testing.TB, n int) *env.Dataset {
	t.Helper()
	inst, _ := env.BuiltinInstrument("NQ")
	ds, err := env.Synthesize(inst, n, 3)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestPlanFolds: the blocks split the sessions consecutively, as equally as possible (the
// earlier blocks a session longer); fold i trains on blocks 0..i, or the last window of
// them, and tests on block i+1; no fold's test session is one it trained on, and the test
// blocks cover the sessions after block 0 exactly once.
func TestPlanFolds(t *testing.T) {
	ds := synthDataset(t, 12)
	all := ds.SessionRange("", "")
	for _, tc := range []struct {
		name          string
		sessions      []int
		folds, window int
		sizes         []int    // block sizes
		train         [][2]int // each fold's training blocks, first and last
	}{
		{"expanding", all, 3, 0, []int{3, 3, 3, 3}, [][2]int{{0, 0}, {0, 1}, {0, 2}}},
		{"uneven", all, 4, 0, []int{3, 3, 2, 2, 2}, [][2]int{{0, 0}, {0, 1}, {0, 2}, {0, 3}}},
		{"rolling window", all, 4, 2, []int{3, 3, 2, 2, 2}, [][2]int{{0, 0}, {0, 1}, {1, 2}, {2, 3}}},
		{"one fold", all[2:9], 1, 1, []int{4, 3}, [][2]int{{0, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(ds, tc.sessions, tc.folds, tc.window)
			if err != nil {
				t.Fatal(err)
			}
			var sizes, covered []int
			next := tc.sessions[0]
			for i, b := range p.Blocks {
				sizes = append(sizes, b.Sessions)
				idx := b.Indices()
				if idx[0] != next || b.First != ds.Sessions[idx[0]].Date || b.Last != ds.Sessions[idx[len(idx)-1]].Date {
					t.Errorf("block %d: sessions %v, dates %s..%s; want them from session %d on", i, idx, b.First, b.Last, next)
				}
				next = idx[len(idx)-1] + 1
			}
			if !slices.Equal(sizes, tc.sizes) || next != tc.sessions[len(tc.sessions)-1]+1 {
				t.Errorf("block sizes %v ending before session %d, want %v covering every session", sizes, next, tc.sizes)
			}
			if len(p.FoldList) != tc.folds {
				t.Fatalf("%d folds, want %d", len(p.FoldList), tc.folds)
			}
			for i, f := range p.FoldList {
				if f.Name != FoldName(i, tc.folds) || f.Test.FirstBlock != i+1 || f.Test.LastBlock != i+1 ||
					[2]int{f.Train.FirstBlock, f.Train.LastBlock} != tc.train[i] {
					t.Errorf("fold %d: %s trains on blocks %d..%d, tests on %d..%d; want %v and %d",
						i, f.Name, f.Train.FirstBlock, f.Train.LastBlock, f.Test.FirstBlock, f.Test.LastBlock, tc.train[i], i+1)
				}
				train, test := f.Train.Indices(), f.Test.Indices()
				for _, s := range test {
					if slices.Contains(train, s) {
						t.Errorf("%s trains and tests on session %d", f.Name, s)
					}
				}
				if !(f.Train.Last < f.Test.First) || train[len(train)-1]+1 != test[0] {
					t.Errorf("%s: training ends %s (session %d), test starts %s (session %d): want the test block right after",
						f.Name, f.Train.Last, train[len(train)-1], f.Test.First, test[0])
				}
				covered = append(covered, test...)
			}
			if want := tc.sessions[tc.sizes[0]:]; !slices.Equal(covered, want) {
				t.Errorf("test blocks cover %v, want %v", covered, want)
			}
		})
	}
}

// TestPlanRefusals: what cannot be planned is an error saying what to change.
func TestPlanRefusals(t *testing.T) {
	ds := synthDataset(t, 4)
	all := ds.SessionRange("", "")
	for _, tc := range []struct {
		folds, window int
		sessions      []int
		want          string
	}{
		{0, 0, all, "folds must be >= 1"},
		{4, 0, all, "4 folds need 5 blocks"},
		{2, 3, all, "window must be in [1, folds = 2]"},
		{2, -1, all, "window must be in"},
		{1, 0, []int{0, 2}, "sessions must be consecutive"},
	} {
		if _, err := NewPlan(ds, tc.sessions, tc.folds, tc.window); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("folds %d window %d: err = %v, want %q", tc.folds, tc.window, err, tc.want)
		}
	}
}

// TestFoldName pads to the folds' width, at least two digits.
func TestFoldName(t *testing.T) {
	for _, tc := range []struct {
		i, folds int
		want     string
	}{{0, 3, "fold-00"}, {9, 10, "fold-09"}, {99, 100, "fold-99"}, {7, 101, "fold-007"}} {
		if got := FoldName(tc.i, tc.folds); got != tc.want {
			t.Errorf("FoldName(%d, %d) = %q, want %q", tc.i, tc.folds, got, tc.want)
		}
	}
}

// TestRecord: a directory keeps its plan; the same plan may run again (from a copy that
// names the data otherwise too), another one is refused, and so is a directory of other
// files.
func TestRecord(t *testing.T) {
	ds := synthDataset(t, 9)
	all := ds.SessionRange("", "")
	p, err := NewPlan(ds, all, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "wf")
	if err := p.Record(dir); err != nil {
		t.Fatal(err)
	}
	again := *p
	again.Data = "copied/elsewhere.csv"
	if err := again.Record(dir); err != nil {
		t.Errorf("the same plan again: %v", err)
	}
	other, _ := NewPlan(ds, all, 2, 1)
	if err := other.Record(dir); !errors.Is(err, ErrOtherPlan) {
		t.Errorf("another window: err = %v, want ErrOtherPlan", err)
	}
	shorter, _ := NewPlan(ds, all[:8], 2, 0)
	if err := shorter.Record(dir); !errors.Is(err, ErrOtherPlan) || !strings.Contains(err.Error(), "2 folds (every earlier block)") {
		t.Errorf("other blocks: err = %v, want ErrOtherPlan describing both", err)
	}
	busy := t.TempDir()
	if err := os.WriteFile(filepath.Join(busy, "notes.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Record(busy); !errors.Is(err, ErrOtherPlan) {
		t.Errorf("a directory of other files: err = %v, want ErrOtherPlan", err)
	}
	got, err := ReadPlan(dir)
	if err != nil || got.Folds != 2 || len(got.FoldList) != 2 || got.FoldList[1].Test.Last != ds.Sessions[8].Date {
		t.Errorf("ReadPlan: %+v, %v", got, err)
	}
}
