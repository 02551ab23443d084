package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"hybridtrain/internal/env"
	"hybridtrain/internal/ppo"
	"hybridtrain/internal/report"
	"hybridtrain/internal/walkforward"
)

// TestWalkforward runs a tiny walk-forward of 2 folds over the first 15 of the synthetic
// sessions (last_session; blocks of 5, so that the tests' backtests stay short): Ctrl-C in fold-01 saves its interrupted/ and stops before the summary;
// running again resumes fold-01 (which then equals the same run trained straight with
// train) and skips fold-00. Each fold trained on its blocks and was tested on the next one
// (no session in both), the summary stitches the test blocks, a third run trains nothing,
// and other folds in the same directory are refused.
func TestWalkforward(t *testing.T) {
	inTempDir(t)
	writeFile(t, "tiny.yaml", tinyConfig)
	inst, _ := env.BuiltinInstrument("NQ")
	bars, err := env.Synthesize(inst, synthSessions, synthSeed) // the bars the command uses
	if err != nil {
		t.Fatal(err)
	}
	last := bars.Sessions[14].Date
	args := []string{"walkforward", "--config", "tiny.yaml", "--market", "NQ", "--last-session", last, "--folds", "2", "--out", "wf", "--quiet"}
	f0, f1 := filepath.Join("wf", "fold-00"), filepath.Join("wf", "fold-01")

	a := realApp(t)
	a.train = interruptTrial("fold-01")
	if code := a.run(args...); code != exitInterrupted {
		t.Fatalf("interrupted walk-forward: exit %d, want 130: %s", code, a.err.String())
	}
	if !strings.Contains(a.out.String(), "fold-00: trained on 2024-01-02..") || !strings.Contains(a.out.String(), "fold-01: interrupted at 128 timesteps") {
		t.Errorf("stdout: %s", a.out.String())
	}
	if _, err := os.Stat(filepath.Join(f1, ppo.InterruptedDir)); err != nil {
		t.Fatalf("fold-01 saved no interrupted/: %v", err)
	}
	if _, err := os.Stat(filepath.Join("wf", walkforward.JSONFile)); err == nil {
		t.Error("the interrupted walk-forward wrote its summary")
	}

	a = realApp(t)
	if code := a.run(args...); code != exitOK {
		t.Fatalf("second run: exit %d: %s", code, a.err.String())
	}
	for _, w := range []string{"fold-00: trained on", "(final/ already had 256 timesteps)", "fold-01: trains on", "resumed from " + filepath.Join(f1, ppo.InterruptedDir)} {
		if !strings.Contains(a.err.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, a.err.String())
		}
	}
	if !strings.Contains(a.out.String(), "out of sample") {
		t.Errorf("no table on stdout:\n%s", a.out.String())
	}

	var sum walkforward.Summary
	data, err := os.ReadFile(filepath.Join("wf", walkforward.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Blocks) != 3 || len(sum.Folds) != 2 || sum.Blocks[2].Last != last || sum.Blocks[0].Sessions != 5 {
		t.Fatalf("%d blocks (%+v) and %d folds, want 3 blocks of 5 sessions up to %s and 2 folds", len(sum.Blocks), sum.Blocks, len(sum.Folds), last)
	}
	var net float64
	for i, f := range sum.Folds {
		dir := []string{f0, f1}[i]
		// The fold's run trained on its blocks: its configuration says so, and the
		// trainer confines it to them (internal/ppo's TestTradingEnvsSessionRange).
		var cfg map[string]any
		raw, _ := os.ReadFile(filepath.Join(dir, ppo.ConfigFile))
		if err := yaml.Unmarshal(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg["first_session"] != sum.Blocks[0].First || cfg["last_session"] != sum.Blocks[i].Last {
			t.Errorf("%s trained on %v..%v, want blocks 0..%d: %s..%s", f.Name, cfg["first_session"], cfg["last_session"], i, sum.Blocks[0].First, sum.Blocks[i].Last)
		}
		// Its test report covers the next block, all of it after the training sessions.
		var rep report.Report
		raw, _ = os.ReadFile(filepath.Join(walkforward.TestReportDir(dir), report.JSONFile))
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatal(err)
		}
		test := sum.Blocks[i+1]
		if rep.Data.First != test.First || rep.Data.Last != test.Last || rep.Data.Sessions != test.Sessions || !(rep.Data.First > sum.Blocks[i].Last) {
			t.Errorf("%s tested on %s..%s (%d sessions), want block %d %s..%s (%d), after its training", f.Name,
				rep.Data.First, rep.Data.Last, rep.Data.Sessions, i+1, test.First, test.Last, test.Sessions)
		}
		if rep.Policy.Metrics.NetPnL != f.Metrics.NetPnL || rep.Model.Timesteps != 256 {
			t.Errorf("%s: table net %g, report net %g at %d timesteps", f.Name, f.Metrics.NetPnL, rep.Policy.Metrics.NetPnL, rep.Model.Timesteps)
		}
		net += f.Metrics.NetPnL
	}
	if sum.OutOfSample.Metrics.NetPnL != net || sum.OutOfSample.Sessions != 10 {
		t.Errorf("out of sample: net %g over %d sessions, want %g over 10", sum.OutOfSample.Metrics.NetPnL, sum.OutOfSample.Sessions, net)
	}
	for _, f := range []string{walkforward.MarkdownFile, walkforward.EquityFile, walkforward.PlotFile, walkforward.PlanFile} {
		if _, err := os.Stat(filepath.Join("wf", f)); err != nil {
			t.Error(err)
		}
	}

	// The resumed fold equals its run trained straight through, as train runs it.
	trainByHand(t, "ref", "--market", "NQ", "--first-session", sum.Blocks[0].First, "--last-session", sum.Blocks[1].Last)
	sameMetrics(t, filepath.Join(f1, ppo.MetricsFile), filepath.Join("ref", ppo.MetricsFile))

	a = realApp(t) // its trainer fails the test when called
	if code := a.run(args...); code != exitOK || strings.Count(a.err.String(), "final/ already had 256 timesteps") != 2 {
		t.Errorf("third run: exit %d\n%s", code, a.err.String())
	}
	a = newTestApp(t)
	if code := a.run("walkforward", "--config", "tiny.yaml", "--market", "NQ", "--last-session", last, "--folds", "3", "--out", "wf"); code != exitUsage ||
		!strings.Contains(a.err.String(), "holds another walk-forward") {
		t.Errorf("other folds: exit %d: %s", code, a.err.String())
	}
	for _, bad := range [][]string{{"--folds", "0"}, {"--folds", "2", "--window", "3"}, {"--folds", "200"}, {"--folds", "2", "--resume", f0}} {
		a = newTestApp(t)
		if code := a.run(append([]string{"walkforward", "--config", "tiny.yaml", "--market", "NQ", "--out", "other"}, bad...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2: %s", bad, code, a.err.String())
		}
	}
}
