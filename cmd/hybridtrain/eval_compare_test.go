package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"hybridtrain/internal/ppo"
	"hybridtrain/internal/report"
)

// evalJSON runs eval with args and --json and returns its document.
func evalJSON(t *testing.T, args ...string) evalReport {
	t.Helper()
	a := realApp(t)
	if code := a.run(append([]string{"eval", "--json"}, args...)...); code != exitOK {
		t.Fatalf("eval %v: exit %d: %s", args, code, a.err.String())
	}
	var rep evalReport
	if err := json.Unmarshal(a.out.Bytes(), &rep); err != nil {
		t.Fatalf("eval %v: %v", args, err)
	}
	return rep
}

// TestEvalCompare: eval --compare backtests another checkpoint on the model's sessions
// under its rules: the comparison's column equals eval of that checkpoint alone, the
// difference is the two net P&Ls', and report.md, the summary and equity.png carry it; a
// --compare that is no checkpoint is exit 4.
func TestEvalCompare(t *testing.T) {
	inTempDir(t)
	writeFile(t, "tiny.yaml", tinyConfig)
	trainByHand(t, "a", "--market", "NQ")
	final, early := filepath.Join("a", ppo.FinalDir), filepath.Join("a", ppo.CheckpointsDir, "ts-000000128")

	both := evalJSON(t, "--model", final, "--compare", early, "--episodes", "4", "--out", "both")
	alone := evalJSON(t, "--model", early, "--episodes", "4", "--out", "alone")
	if len(both.Report.Comparisons) != 1 {
		t.Fatalf("%d comparisons, want 1", len(both.Report.Comparisons))
	}
	c := both.Report.Comparisons[0]
	want := alone.Report.Policy
	if c.Model.Dir != early || c.Model.Timesteps != 128 || !reflect.DeepEqual(c.Result.Metrics, want.Metrics) ||
		!reflect.DeepEqual(c.Result.Verdict, want.Verdict) || c.Result.MaskedActions != want.MaskedActions {
		t.Errorf("comparison %s:\n%+v\nwant eval of it alone:\n%+v", c.Model.Dir, c.Result, want)
	}
	if d := both.Report.Policy.Metrics.NetPnL - want.Metrics.NetPnL; c.Versus.NetPnLDiff != d || c.Versus.Days != both.Report.Data.Sessions ||
		c.Versus.Resamples != 10_000 || c.Versus.Outcome == "" {
		t.Errorf("versus %+v, want a net difference of %g over %d sessions", c.Versus, d, both.Report.Data.Sessions)
	}
	md, err := os.ReadFile(filepath.Join("both", report.MarkdownFile))
	if err != nil || !strings.Contains(string(md), "| policy | "+early+" | flat |") || !strings.Contains(string(md), "## Against other checkpoints") {
		t.Errorf("report.md lacks the comparison (%v)", err)
	}

	a := realApp(t)
	if code := a.run("eval", "--model", final, "--compare", early, "--episodes", "4", "--out", "text"); code != exitOK || !strings.Contains(a.out.String(), "policy ") ||
		!strings.Contains(a.out.String(), early+": ") {
		t.Errorf("eval summary: exit %d\n%s", code, a.out.String())
	}
	a = realApp(t)
	if code := a.run("eval", "--model", final, "--compare", "nothing"); code != exitCheckpoint || !strings.Contains(a.err.String(), "--compare nothing") {
		t.Errorf("--compare nothing: exit %d, want 4: %s", code, a.err.String())
	}
}
