package walkforward

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"hybridtrain/internal/env"
	"hybridtrain/internal/report"
)

// buyer is a stand-in policy: BUY whenever the mask allows it, else HOLD.
type buyer struct{}

func (buyer) ObsDim() int { return env.ObsDim }

func (buyer) Act(_ []float32, masks []bool, rows int, out []int32) error {
	for i := range rows {
		out[i] = int32(env.Hold)
		if masks[i*env.NumActions+int(env.Buy)] {
			out[i] = int32(env.Buy)
		}
	}
	return nil
}

// fakeRunner "trains" by recording the fold and tests the buyer on the fold's test block;
// it can stop the walk-forward in a fold's training, as Ctrl-C does.
type fakeRunner struct {
	ds       *env.Dataset
	trained  []string // fold directories, in call order
	tested   [][]int  // the sessions each test ran on
	stopAt   string   // a fold's name: Train returns context.Canceled there
	testHook func(Fold)
}

func (r *fakeRunner) Train(_ context.Context, f Fold, dir string) (string, error) {
	r.trained = append(r.trained, dir)
	if f.Name == r.stopAt {
		return "", context.Canceled
	}
	return filepath.Join(dir, "final"), nil
}

func (r *fakeRunner) Test(ctx context.Context, f Fold, final string) (*report.Report, error) {
	r.tested = append(r.tested, f.Test.Indices())
	cfg := report.DefaultConfig()
	cfg.Baselines = false
	return report.Build(ctx, report.Input{
		Dataset: r.ds, Sessions: f.Test.Indices(), Env: env.DefaultConfig(), Actor: buyer{}, Split: "test",
		Model: report.ModelInfo{Dir: final, Phase: 3, Market: "NQ", Timesteps: 100},
	}, cfg)
}

// TestRun: Run trains every fold in its directory and tests it on its test block, writes
// each test report and the summary; the out-of-sample account is the test accounts
// stitched (net P&L their sum, equity.csv's last equity the start plus that sum, one line
// per test bar). Stopped in a fold, it writes no summary; run again, it goes through every
// fold again (the runner skips what is done); planned otherwise, the directory is refused.
func TestRun(t *testing.T) {
	ds := synthDataset(t, 9)
	p, err := NewPlan(ds, ds.SessionRange("", ""), 2, 0) // blocks of 3
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "wf")

	r := &fakeRunner{ds: ds, stopAt: "fold-01"}
	if _, err := Run(context.Background(), p, dir, r, nil); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "fold-01") {
		t.Fatalf("stopped in fold-01: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, JSONFile)); err == nil {
		t.Error("a stopped walk-forward wrote its summary")
	}
	if _, err := os.Stat(filepath.Join(TestReportDir(filepath.Join(dir, "fold-00")), report.JSONFile)); err != nil {
		t.Errorf("fold-00's test report: %v", err)
	}

	r = &fakeRunner{ds: ds}
	var done []string
	s, err := Run(context.Background(), p, dir, r, func(fr FoldResult) { done = append(done, fr.Name) })
	if err != nil {
		t.Fatal(err)
	}
	wantDirs := []string{filepath.Join(dir, "fold-00"), filepath.Join(dir, "fold-01")}
	if !slices.Equal(r.trained, wantDirs) || !slices.Equal(done, []string{"fold-00", "fold-01"}) {
		t.Errorf("trained %v, reported %v", r.trained, done)
	}
	if !slices.Equal(r.tested[0], []int{3, 4, 5}) || !slices.Equal(r.tested[1], []int{6, 7, 8}) {
		t.Errorf("tested on %v, want blocks 1 and 2", r.tested)
	}

	var sum float64
	var trades int
	for _, f := range s.Folds {
		sum += f.Metrics.NetPnL
		trades += f.Metrics.Trades
	}
	o := s.OutOfSample
	if o.Metrics.NetPnL != sum || o.Metrics.Trades != trades || o.Sessions != 6 || o.First != ds.Sessions[3].Date || o.Last != ds.Sessions[8].Date {
		t.Errorf("out of sample: net %g over %d sessions (%s..%s), %d trades; want %g over 6 (%s..%s), %d",
			o.Metrics.NetPnL, o.Sessions, o.First, o.Last, o.Metrics.Trades, sum, ds.Sessions[3].Date, ds.Sessions[8].Date, trades)
	}
	if trades == 0 {
		t.Error("the stand-in policy never traded: the stitching is untested")
	}

	f, err := os.Open(filepath.Join(dir, EquityFile))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	bars := s.Folds[0].Metrics.Bars + s.Folds[1].Metrics.Bars
	last := rows[len(rows)-1]
	end, _ := strconv.ParseFloat(last[2], 64)
	if len(rows) != bars+1 || last[1] != "fold-01" || report.Float(end) != report.Float(50_000+sum) {
		t.Errorf("equity.csv: %d lines ending %v; want header + %d bars, ending at %.2f in fold-01", len(rows), last, bars, 50_000+sum)
	}
	// The first bar of fold-01 continues from fold-00's end: its own account restarted.
	first1 := rows[1+s.Folds[0].Metrics.Bars]
	e, _ := strconv.ParseFloat(first1[2], 64)
	fe, _ := strconv.ParseFloat(first1[3], 64)
	if first1[1] != "fold-01" || money(e-fe) != money(s.Folds[0].Metrics.NetPnL) {
		t.Errorf("fold-01's first line %v: stitched minus own equity should be fold-00's net %.2f", first1, s.Folds[0].Metrics.NetPnL)
	}

	var doc Summary
	data, _ := os.ReadFile(filepath.Join(dir, JSONFile))
	if err := json.Unmarshal(data, &doc); err != nil || doc.Schema != Schema || len(doc.Folds) != 2 || doc.Folds[1].Test.First != ds.Sessions[6].Date {
		t.Errorf("report.json: %v\n%s", err, data)
	}
	md, _ := os.ReadFile(filepath.Join(dir, MarkdownFile))
	var table bytes.Buffer
	if err := s.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"fold-00", "out of sample", "0 of 2 passed"} {
		if !strings.Contains(string(md), w) || !strings.Contains(table.String(), w) {
			t.Errorf("report.md or the table lacks %q:\n%s", w, table.String())
		}
	}
	img, err := os.Open(filepath.Join(dir, PlotFile))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if c, err := png.DecodeConfig(img); err != nil || c.Width != 1200 || c.Height != 800 {
		t.Errorf("equity.png: %+v, %v", c, err)
	}

	other, _ := NewPlan(ds, ds.SessionRange("", ""), 2, 1)
	if _, err := Run(context.Background(), other, dir, &fakeRunner{ds: ds}, nil); !errors.Is(err, ErrOtherPlan) {
		t.Errorf("another plan in the same directory: err = %v, want ErrOtherPlan", err)
	}
}
