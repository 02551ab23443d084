package main

import (
	"os"
	"path/filepath"
	"testing"

	"hybridtrain/internal/ppo"
)

// TestDefaultReportDir: a checkpoint of a run directory (one with config.yaml) reports into
// <run>/reports/, anything else into ./reports/, named after the checkpoint directory, the
// data file when given and the split.
func TestDefaultReportDir(t *testing.T) {
	dir := inTempDir(t)
	run := filepath.Join("runs", "phase3-NQ-20250101T000000Z")
	for _, d := range []string{filepath.Join(run, "best"), filepath.Join(run, "checkpoints", "ts-000100000"), "models/p2"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(run, ppo.ConfigFile), "market: NQ\n")
	reports := filepath.Join(run, "reports")
	for _, tc := range []struct {
		model, stem, split, want string
	}{
		{filepath.Join(run, "best"), "", "validation", filepath.Join(reports, "best-validation")},
		{filepath.Join(run, "best") + "/", "", "all", filepath.Join(reports, "best-all")},
		{filepath.Join(run, "final"), "NQ_2025", "all", filepath.Join(reports, "final-NQ_2025-all")},
		{filepath.Join(run, "checkpoints", "ts-000100000"), "", "train", filepath.Join(reports, "ts-000100000-train")},
		{filepath.Join(dir, run, "best"), "", "validation", filepath.Join(dir, reports, "best-validation")},
		// Not in a run directory: the working directory's reports/.
		{"models/p2", "", "validation", filepath.Join("reports", "p2-validation")},
		{"p2", "", "validation", filepath.Join("reports", "p2-validation")},
	} {
		if got := defaultReportDir(tc.model, tc.stem, tc.split); got != tc.want {
			t.Errorf("defaultReportDir(%q, %q, %q) = %q, want %q", tc.model, tc.stem, tc.split, got, tc.want)
		}
	}

	// The checkpoint as the working directory: its name comes from the absolute path.
	t.Chdir(filepath.Join(run, "best"))
	if got, want := defaultReportDir(".", "", "validation"), filepath.Join(dir, reports, "best-validation"); got != want {
		t.Errorf(`defaultReportDir(".") in best/ = %q, want %q`, got, want)
	}
}

// TestEvalReportSurvivesTraining: eval's default report of a periodic checkpoint lands in
// <run>/reports/, not in the checkpoint, and is still there after resumed training pruned
// that checkpoint; --out overrides the default.
func TestEvalReportSurvivesTraining(t *testing.T) {
	inTempDir(t)
	writeFile(t, "tiny.yaml", tinyConfig+"keep_checkpoints: 1\n")
	a := realApp(t)
	if code := a.run("train", "--market", "NQ", "--config", "tiny.yaml", "--out", "run", "--non-interactive", "--quiet"); code != exitOK {
		t.Fatalf("train: exit %d\n%s", code, a.err.String())
	}
	ckpt := filepath.Join("run", ppo.CheckpointsDir, "ts-000000256")
	a = realApp(t)
	if code := a.run("eval", "--model", ckpt, "--episodes", "1"); code != exitOK {
		t.Fatalf("eval: exit %d\n%s", code, a.err.String())
	}
	report := filepath.Join("run", ppo.ReportsDir, "ts-000000256-validation", "report.json")
	if _, err := os.Stat(report); err != nil {
		t.Fatalf("no report in the run's reports/: %v\n%s", err, a.err.String())
	}
	entries, _ := os.ReadDir(ckpt)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("the checkpoint holds the directory %s; the report belongs in reports/", e.Name())
		}
	}

	a = realApp(t)
	if code := a.run("train", "--resume", filepath.Join("run", "final"), "--timesteps", "512", "--non-interactive", "--quiet"); code != exitOK {
		t.Fatalf("resume: exit %d\n%s", code, a.err.String())
	}
	if _, err := os.Stat(ckpt); err == nil {
		t.Fatalf("%s was not pruned (keep_checkpoints 1): the test proves nothing", ckpt)
	}
	if _, err := os.Stat(report); err != nil {
		t.Errorf("training deleted eval's report: %v", err)
	}

	a = realApp(t)
	if code := a.run("eval", "--model", filepath.Join("run", "final"), "--episodes", "1", "--out", "elsewhere"); code != exitOK {
		t.Fatalf("eval --out: exit %d\n%s", code, a.err.String())
	}
	if _, err := os.Stat(filepath.Join("elsewhere", "report.json")); err != nil {
		t.Errorf("--out: %v", err)
	}
	if _, err := os.Stat(filepath.Join("run", ppo.ReportsDir, "final-validation")); err == nil {
		t.Error("--out given, yet the default directory was written")
	}
}
