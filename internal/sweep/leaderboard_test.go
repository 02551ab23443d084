package sweep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hybridtrain/internal/ppo"
	"hybridtrain/internal/report"
)

// trialFixture is a trial directory made by hand: what the leaderboard reads of it.
type trialFixture struct {
	final       int64   // final/'s timesteps; 0: no final/
	newest      int64   // a periodic checkpoint's timesteps; 0: none
	evalAt      int64   // the evaluation's timesteps; 0: none
	reward, pnl float64 // the evaluation's mean reward and net P&L
	sharpe      report.Float
	drawdown    float64
	passed      bool
	elapsed     []float64 // time/time_elapsed of the rollout lines
	missing     bool      // no directory at all
}

func writeEvaluation(t *testing.T, dir string, f trialFixture) {
	t.Helper()
	ev := map[string]any{
		"timesteps": f.evalAt, "split": "validation", "sessions": 24, "mean_reward": f.reward, "mean_pnl": 1.0,
		"report": map[string]any{
			"schema": report.Schema,
			"policy": map[string]any{
				"name":    "policy",
				"metrics": map[string]any{"net_pnl": f.pnl, "sharpe": f.sharpe, "max_drawdown": f.drawdown},
				"verdict": map[string]any{"passed": f.passed, "reason": "because"},
			},
		},
	}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	d := EvaluationDir(dir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, EvaluationFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sweepFixture writes a sweep's out directory: sweep.json and the trials' directories.
func sweepFixture(t *testing.T, trials []trialFixture) string {
	t.Helper()
	out := t.TempDir()
	plan := &Plan{Schema: PlanSchema, Name: "nq-lr", File: "nq.yaml", Out: out, Grid: []string{"seed"}}
	for i, f := range trials {
		name := fmt.Sprintf("%03d-s%d", i, i)
		dir := filepath.Join(out, name)
		plan.Trials = append(plan.Trials, PlanTrial{Index: i, Name: name, Dir: dir, Values: map[string]any{"seed": i}, Market: "NQ", Seed: uint64(i), TotalTimesteps: 256})
		if f.missing {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if f.final > 0 {
			fakeCheckpoint(t, filepath.Join(dir, ppo.FinalDir), f.final)
		}
		if f.newest > 0 {
			fakeCheckpoint(t, filepath.Join(dir, ppo.CheckpointsDir, fmt.Sprintf("ts-%09d", f.newest)), f.newest)
		}
		if f.evalAt > 0 {
			writeEvaluation(t, dir, f)
		}
		var lines bytes.Buffer
		for _, e := range f.elapsed {
			fmt.Fprintf(&lines, `{"kind":"rollout","time/total_timesteps":1,"time/time_elapsed":%g}`+"\n", e)
			fmt.Fprintln(&lines, `{"kind":"eval","time/total_timesteps":1}`)
		}
		if err := os.WriteFile(filepath.Join(dir, ppo.MetricsFile), lines.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := plan.Record(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLeaderboardRanks: the finished trials ranked by the metric (either direction,
// undefined values last), then the others in index order, each with its status.
func TestLeaderboardRanks(t *testing.T) {
	nan := report.Undefined
	out := sweepFixture(t, []trialFixture{
		0: {final: 256, evalAt: 256, reward: 1.5, pnl: 100, sharpe: 0.5, drawdown: 900, elapsed: []float64{1, 2}},
		1: {newest: 128, elapsed: []float64{1}},                                       // unfinished
		2: {final: 256, evalAt: 256, reward: 3, pnl: -50, sharpe: nan, drawdown: 300}, // best reward, no Sharpe
		3: {missing: true},                                                            // not started
		4: {final: 256, evalAt: 128, reward: 99},                                      // evaluation of an older final/
		5: {final: 256, evalAt: 256, reward: -2, pnl: 500, sharpe: 2, drawdown: 100, passed: true,
			elapsed: []float64{1, 2, 0.5, 1.5}}, // resumed once: 2 + 1.5 s
		6: {final: 256}, // no evaluation
	})
	cases := []struct {
		metric string
		order  []int // trial indices, in row order
		ranks  []int
	}{
		{"mean_reward", []int{2, 0, 5, 1, 3, 4, 6}, []int{1, 2, 3, 0, 0, 0, 0}},
		{"net_pnl", []int{5, 0, 2, 1, 3, 4, 6}, []int{1, 2, 3, 0, 0, 0, 0}},
		{"sharpe", []int{5, 0, 1, 2, 3, 4, 6}, []int{1, 2, 0, 0, 0, 0, 0}},
		{"max_drawdown", []int{5, 2, 0, 1, 3, 4, 6}, []int{1, 2, 3, 0, 0, 0, 0}},
		{"wall_time", []int{2, 0, 5, 1, 3, 4, 6}, []int{1, 2, 3, 0, 0, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.metric, func(t *testing.T) {
			lb, err := Collect(out, tc.metric)
			if err != nil {
				t.Fatal(err)
			}
			var order, ranks []int
			for _, r := range lb.Rows {
				order, ranks = append(order, r.Index), append(ranks, r.Rank)
			}
			if !slices.Equal(order, tc.order) || !slices.Equal(ranks, tc.ranks) {
				t.Errorf("order %v ranks %v; want %v %v", order, ranks, tc.order, tc.ranks)
			}
		})
	}

	lb, err := Collect(out, "mean_reward")
	if err != nil {
		t.Fatal(err)
	}
	byIndex := map[int]Row{}
	for _, r := range lb.Rows {
		byIndex[r.Index] = r
	}
	status := []string{StatusFinished, StatusUnfinished, StatusFinished, StatusNotStarted, StatusNotEvaluated, StatusFinished, StatusNotEvaluated}
	for i, want := range status {
		if got := byIndex[i].Status; got != want {
			t.Errorf("trial %d: status %q, want %q", i, got, want)
		}
	}
	if r := byIndex[1]; r.Timesteps != 128 || r.MeanReward.Defined() || r.Verdict != "" {
		t.Errorf("unfinished row: %+v", r)
	}
	if r := byIndex[5]; r.Verdict != "PASS" || r.WallTime != 3.5 || float64(r.NetPnL) != 500 {
		t.Errorf("trial 5: %+v", r)
	}
	if r := byIndex[0]; r.Verdict != "FAIL" || r.WallTime != 2 || r.Values["seed"] != float64(0) {
		t.Errorf("trial 0: %+v", r)
	}

	paths, err := lb.WriteFiles(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 {
		t.Fatalf("wrote %v", paths)
	}
	var back Leaderboard
	data, _ := os.ReadFile(filepath.Join(out, ReportJSON))
	if err := json.Unmarshal(data, &back); err != nil || len(back.Rows) != 7 || back.Rows[0].Trial != "002-s2" || back.Rows[0].Sharpe.Defined() {
		t.Errorf("report.json: %v %+v", err, back.Rows)
	}
	md, _ := os.ReadFile(filepath.Join(out, ReportMarkdown))
	for _, w := range []string{"| 1 | 002-s2 | 2 | finished |", "| - | 003-s3 | 3 | not started |", "not evaluated", "005-s5: PASS. because"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("report.md does not contain %q:\n%s", w, md)
		}
	}
	f, err := os.Open(filepath.Join(out, ReportPlot))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != plotWidth || b.Dy() != plotBase+3*plotPerBar {
		t.Errorf("report.png is %v, want %d x %d", b, plotWidth, plotBase+3*plotPerBar)
	}
}

func TestCollectErrors(t *testing.T) {
	if _, err := Collect(t.TempDir(), "mean_reward"); err == nil || !strings.Contains(err.Error(), PlanFile) {
		t.Errorf("no sweep.json: %v", err)
	}
	out := sweepFixture(t, []trialFixture{{final: 256}})
	if _, err := Collect(out, "reward"); err == nil || !strings.Contains(err.Error(), "mean_reward") {
		t.Errorf("unknown metric: %v", err)
	}
	// A torn last line is what a killed run leaves: not an error; a bad line before it is.
	path := filepath.Join(out, "000-s0", ppo.MetricsFile)
	os.WriteFile(path, []byte(`{"kind":"rollout","time/time_elapsed":4}`+"\n"+`{"kind":"rol`), 0o644)
	if w, err := wallTime(path); err != nil || w != 4 {
		t.Errorf("torn last line: %v, %v", w, err)
	}
	os.WriteFile(path, []byte("not json\n"+`{"kind":"rollout","time/time_elapsed":4}`+"\n"), 0o644)
	if _, err := wallTime(path); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Errorf("bad line: %v", err)
	}
}

// TestPlanRecord: a sweep.json of other trials is refused, the same trials replaced.
func TestPlanRecord(t *testing.T) {
	f, err := Parse("nq.yaml", []byte(exampleFile))
	if err != nil {
		t.Fatal(err)
	}
	f.Out = t.TempDir()
	same := func(Trial) (string, uint64, int64) { return "NQ", 1, 100 }
	p := NewPlan(f, f.Trials(), same)
	if p.TotalTimesteps != 1200 || len(p.Trials) != 12 || p.Trials[3].Values["seed"] != 2 {
		t.Fatalf("plan: %+v", p)
	}
	if err := p.Record(); err != nil {
		t.Fatal(err)
	}
	if err := NewPlan(f, f.Trials(), func(Trial) (string, uint64, int64) { return "NQ", 1, 200 }).Record(); err != nil {
		t.Errorf("same trials, other timesteps: %v", err)
	}
	f.Grid = f.Grid[:2]
	if err := NewPlan(f, f.Trials(), same).Record(); err == nil || !strings.Contains(err.Error(), "another sweep") {
		t.Errorf("other trials: %v", err)
	}
	back, err := ReadPlan(f.Out)
	if err != nil || back.TotalTimesteps != 2400 || back.Trials[11].Name != "011-ES-s3-lr0.0001" {
		t.Errorf("read back: %v %+v", err, back)
	}
}
