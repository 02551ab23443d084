package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	k8syaml "sigs.k8s.io/yaml"

	"hybridtrain/internal/ppo"
	"hybridtrain/internal/sweep"
)

// tinySweep is a sweep of tiny trials (tinyConfig under settings): 2 markets x 2 seeds.
func tinySweep(grid string) string {
	var b strings.Builder
	b.WriteString("name: tiny\nout: sw\nsettings:\n")
	for _, l := range strings.Split(strings.TrimSpace(tinyConfig), "\n") {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("grid:\n" + grid)
	return b.String()
}

// metricsWithoutClock reads a metrics.jsonl without its wall-clock values.
func metricsWithoutClock(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, k := range ppo.WallClockKeys {
			delete(m, k)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return out
}

func sameMetrics(t *testing.T, got, want string) {
	t.Helper()
	g, w := metricsWithoutClock(t, got), metricsWithoutClock(t, want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s differs from %s (wall clock aside):\n got %v\nwant %v", got, want, g, w)
	}
}

// trainByHand trains the run a trial stands for, with train and the same values.
func trainByHand(t *testing.T, out string, args ...string) {
	t.Helper()
	a := realApp(t)
	args = append([]string{"train", "--config", "tiny.yaml", "--out", out, "--quiet"}, args...)
	if code := a.run(args...); code != exitOK {
		t.Fatalf("%v: exit %d: %s", args, code, a.err.String())
	}
}

// TestSweepPlan: the trials in their documented order with their names, directories and
// resolved values.
func TestSweepPlan(t *testing.T) {
	inTempDir(t)
	writeFile(t, "s.yaml", tinySweep("  market: [NQ, ES]\n  seed: [1, 2]\n  learning_rate: [0.0003, 1e-4]\n"))
	a := newTestApp(t)
	if code := a.run("sweep", "plan", "s.yaml", "--json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, a.err.String())
	}
	var p sweep.Plan
	if err := json.Unmarshal(a.out.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	want := []string{"000-NQ-s1-lr0.0003", "001-NQ-s1-lr0.0001", "002-NQ-s2-lr0.0003", "003-NQ-s2-lr0.0001",
		"004-ES-s1-lr0.0003", "005-ES-s1-lr0.0001", "006-ES-s2-lr0.0003", "007-ES-s2-lr0.0001"}
	if len(p.Trials) != len(want) || p.TotalTimesteps != 8*256 || p.Name != "tiny" || !reflect.DeepEqual(p.Grid, []string{"market", "seed", "learning_rate"}) {
		t.Fatalf("plan: %+v", p)
	}
	for i, tr := range p.Trials {
		if tr.Index != i || tr.Name != want[i] || tr.Dir != filepath.Join("sw", want[i]) || tr.TotalTimesteps != 256 {
			t.Errorf("trial %d: %+v, want %s", i, tr, want[i])
		}
	}
	if tr := p.Trials[5]; tr.Market != "ES" || tr.Seed != 1 || tr.Values["learning_rate"] != 1e-4 {
		t.Errorf("trial 5: %+v", tr)
	}
	a = newTestApp(t)
	if code := a.run("sweep", "plan", "s.yaml"); code != exitOK || !strings.Contains(a.out.String(), "8 trials, 2048 timesteps in all") ||
		!strings.Contains(a.out.String(), "005-ES-s1-lr0.0001") {
		t.Errorf("table: exit %d\n%s", code, a.out.String())
	}
}

// TestSweepBadFiles: a mistake in a sweep file is a usage error naming the file, the line
// and the key, before anything runs; so is a HYBRIDTRAIN_<KEY> variable.
func TestSweepBadFiles(t *testing.T) {
	head := "name: x\nout: sw\n"
	cases := []struct {
		name string
		file string
		env  string // NAME=VALUE
		want []string
	}{
		{"unknown settings key", head + "settings:\n  learnin_rate: 0.1\ngrid:\n  market: [NQ]\n",
			"", []string{"s.yaml:4", `"learnin_rate"`, `"learning_rate"`}},
		{"bad settings value", head + "settings:\n  market: NQ\n  gamma: 1.5\n", "", []string{"gamma", "s.yaml:5", "1.5"}},
		{"bad grid value", head + "settings:\n  market: NQ\ngrid:\n  learning_rate:\n    - 0.001\n    - -1\n", "", []string{"learning_rate", "s.yaml:8", "-1"}},
		{"grid value of the wrong type", head + "grid:\n  market: [NQ]\n  n_envs: [2, two]\n", "", []string{"n_envs", "s.yaml:5", `"two"`}},
		{"unknown grid key", head + "grid:\n  market: [NQ]\n  lr: [0.1]\n", "", []string{"s.yaml:5", `"lr"`}},
		{"unknown market", head + "grid:\n  market: [NQ, ZZ]\n", "", []string{`"ZZ"`, "s.yaml:4", "market"}},
		{"grid key also in settings", head + "settings:\n  seed: 1\ngrid:\n  market: [NQ]\n  seed: [2]\n", "", []string{"s.yaml:7", "grid.seed", "line 4"}},
		{"out under settings", head + "settings:\n  market: NQ\n  out: elsewhere\n", "", []string{"s.yaml:5", "settings.out"}},
		{"resume in the grid", head + "grid:\n  market: [NQ]\n  resume: [a]\n", "", []string{"s.yaml:5", "grid.resume"}},
		{"instruments in the grid", head + "grid:\n  market: [NQ]\n  instruments: [{}]\n", "", []string{"s.yaml:5", "grid.instruments"}},
		{"bad instrument field", head + "settings:\n  market: NQ\n  instruments:\n    nq:\n      commission_per_side: 1\n      tick_size: -1\n",
			"", []string{"instruments.NQ.tick_size", "s.yaml:8"}},
		{"no market", head + "grid:\n  seed: [1]\n", "", []string{"s.yaml", "market"}},
		{"batch larger than a rollout", head + "settings:\n  market: NQ\n  n_steps: 4\ngrid:\n  batch_size: [8, 64]\n", "", []string{"batch_size", "s.yaml:7", "n_steps from s.yaml:5"}},
		{"layout", head + "grid: [1]\n", "", []string{"s.yaml:3", "grid"}},
		{"environment", head + "settings:\n  market: NQ\n", "HYBRIDTRAIN_N_ENVS=3", []string{"HYBRIDTRAIN_N_ENVS", "n_envs"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inTempDir(t)
			if name, val, ok := strings.Cut(tc.env, "="); ok {
				t.Setenv(name, val)
			}
			writeFile(t, "s.yaml", tc.file)
			for _, cmd := range [][]string{{"sweep", "plan", "s.yaml"}, {"sweep", "run", "s.yaml"}, {"sweep", "k8s", "s.yaml", "--image", "x:1"}} {
				a := newTestApp(t) // its trainer fails the test if called
				if code := a.run(cmd...); code != exitUsage {
					t.Errorf("%v: exit %d, want 2; stderr %q", cmd, code, a.err.String())
				}
				for _, w := range tc.want {
					if !strings.Contains(a.err.String(), w) {
						t.Errorf("%v: stderr %q does not contain %q", cmd, a.err.String(), w)
					}
				}
			}
			if _, err := os.Stat("sw"); err == nil {
				t.Error("a bad sweep created its out directory")
			}
		})
	}
}

// TestSweepRunFlags: the trial index and --parallel are checked.
func TestSweepRunFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"index out of range", []string{"--index", "4"}, "", "--index 4"},
		{"negative index", []string{"--index", "-2"}, "", "--index"},
		{"bad job index", nil, "x", "$JOB_COMPLETION_INDEX"},
		{"job index out of range", nil, "9", "$JOB_COMPLETION_INDEX 9"},
		{"index and parallel", []string{"--index", "1", "--parallel", "2"}, "", "--parallel"},
		{"parallel 0", []string{"--parallel", "0"}, "", "--parallel"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inTempDir(t)
			writeFile(t, "s.yaml", tinySweep("  market: [NQ, ES]\n  seed: [1, 2]\n"))
			a := newTestApp(t)
			a.getenv = func(k string) string {
				if k == jobIndexEnv {
					return tc.env
				}
				return ""
			}
			if code := a.run(append([]string{"sweep", "run", "s.yaml"}, tc.args...)...); code != exitUsage || !strings.Contains(a.err.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 naming %s", code, a.err.String(), tc.want)
			}
		})
	}
}

// TestSweepRunPreflight: what a trial needs from this machine (its bar file, device and
// base) is checked for every trial before the first one starts.
func TestSweepRunPreflight(t *testing.T) {
	cases := []struct {
		name string
		grid string
		code int
		want string
	}{
		{"missing bar file", "  data: [a.csv, nope.csv]\n", exitData, "nope.csv"},
		{"no cuda", "  device: [cpu, cuda]\n", exitUsage, "CUDA"},
		{"missing base", "  base: [nope]\n", exitCheckpoint, "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inTempDir(t)
			writeFile(t, "a.csv", "")
			writeFile(t, "s.yaml", tinySweep("  market: [NQ]\n"+tc.grid))
			a := newTestApp(t) // its trainer fails the test if called
			if code := a.run("sweep", "run", "s.yaml"); code != tc.code || !strings.Contains(a.err.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d naming %s", code, a.err.String(), tc.code, tc.want)
			}
			if entries, _ := os.ReadDir("sw"); len(entries) != 1 || entries[0].Name() != sweep.PlanFile {
				t.Errorf("sw holds %v, want sweep.json alone", entries)
			}
		})
	}
}

// TestSweepTrialEqualsTrain: a trial run by index (here from JOB_COMPLETION_INDEX, as in a
// pod) is the run train makes with the same values: the same config.yaml and the same
// metrics.jsonl apart from the wall clock; and it is followed by its final evaluation.
func TestSweepTrialEqualsTrain(t *testing.T) {
	inTempDir(t)
	writeFile(t, "tiny.yaml", tinyConfig)
	writeFile(t, "s.yaml", tinySweep("  market: [NQ, ES]\n  seed: [1, 2]\n"))
	a := realApp(t)
	a.getenv = func(k string) string {
		if k == jobIndexEnv {
			return "2"
		}
		return ""
	}
	if code := a.run("sweep", "run", "s.yaml"); code != exitOK {
		t.Fatalf("exit %d: %s", code, a.err.String())
	}
	trial := filepath.Join("sw", "002-ES-s1")
	if !strings.HasPrefix(a.out.String(), "trial 002-ES-s1: finished at 256 timesteps (from scratch); validation: mean reward") {
		t.Errorf("stdout: %q", a.out.String())
	}
	for _, other := range []string{"000-NQ-s1", "001-NQ-s2", "003-ES-s2"} {
		if _, err := os.Stat(filepath.Join("sw", other)); err == nil {
			t.Errorf("trial %s ran too", other)
		}
	}
	trainByHand(t, "byhand", "--market", "ES", "--seed", "1")
	sameMetrics(t, filepath.Join(trial, ppo.MetricsFile), filepath.Join("byhand", ppo.MetricsFile))
	got, _ := os.ReadFile(filepath.Join(trial, ppo.ConfigFile))
	want, _ := os.ReadFile(filepath.Join("byhand", ppo.ConfigFile))
	if len(got) == 0 || !bytes.Equal(got, want) {
		t.Errorf("config.yaml differs:\n%s\n--- by hand:\n%s", got, want)
	}
	ev, err := sweep.ReadEvaluation(trial)
	if err != nil {
		t.Fatal(err)
	}
	// 120 synthetic sessions, train_fraction 0.8: 24 validation sessions.
	if ev.Timesteps != 256 || ev.Sessions != 24 || ev.Split != "validation" || ev.Report == nil || ev.Report.Model.Market != "ES" {
		t.Errorf("evaluation: %+v", ev)
	}
	if _, err := os.Stat(filepath.Join(sweep.EvaluationDir(trial), "equity.png")); err != nil {
		t.Errorf("the evaluation report: %v", err)
	}
	if _, err := sweep.ReadPlan("sw"); err != nil {
		t.Errorf("sweep.json: %v", err)
	}
}

// cancelAfter cancels the run after n rollouts: what Ctrl-C does.
type cancelAfter struct {
	ppo.Recorder
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Rollout(m ppo.RolloutMetrics) {
	c.Recorder.Rollout(m)
	if c.n--; c.n == 0 {
		c.cancel()
	}
}

// interruptTrial is a trainer that interrupts the run of the trial named trial after one
// rollout and trains every other run as it is.
func interruptTrial(trial string) func(context.Context, ppo.Setup, ppo.Recorder) (*ppo.Result, error) {
	return func(ctx context.Context, s ppo.Setup, rec ppo.Recorder) (*ppo.Result, error) {
		if filepath.Base(s.RunDir) != trial {
			return ppo.Train(ctx, s, rec)
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		return ppo.Train(ctx, s, &cancelAfter{Recorder: rec, n: 1, cancel: cancel})
	}
}

// TestSweepRunContinues: Ctrl-C saves the running trial's interrupted/ and stops the sweep;
// running again resumes it and starts the rest; a trial killed without interrupted/
// resumes from its newest periodic checkpoint, one killed before any checkpoint starts
// again; a finished sweep run again trains nothing. Each continued trial equals the
// straight run, and the report lists unfinished trials as such.
func TestSweepRunContinues(t *testing.T) {
	inTempDir(t)
	writeFile(t, "tiny.yaml", tinyConfig)
	writeFile(t, "s.yaml", tinySweep("  market: [NQ]\n  seed: [1, 2]\n"))
	t0, t1 := filepath.Join("sw", "000-NQ-s1"), filepath.Join("sw", "001-NQ-s2")

	a := realApp(t)
	a.train = interruptTrial("000-NQ-s1")
	if code := a.run("sweep", "run", "s.yaml"); code != exitInterrupted {
		t.Fatalf("interrupted sweep: exit %d, want 130: %s", code, a.err.String())
	}
	if !strings.Contains(a.out.String(), "trial 000-NQ-s1: interrupted at 128 timesteps") {
		t.Errorf("stdout: %q", a.out.String())
	}
	if _, err := os.Stat(filepath.Join(t0, ppo.InterruptedDir)); err != nil {
		t.Fatalf("no interrupted/: %v", err)
	}
	if _, err := os.Stat(t1); err == nil {
		t.Error("the sweep went on after Ctrl-C")
	}
	a = realApp(t)
	if code := a.run("sweep", "report", "sw", "--json"); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, a.err.String())
	}
	var lb sweep.Leaderboard
	if err := json.Unmarshal(a.out.Bytes(), &lb); err != nil {
		t.Fatal(err)
	}
	if len(lb.Rows) != 2 || lb.Rows[0].Status != sweep.StatusUnfinished || lb.Rows[0].Timesteps != 128 || lb.Rows[0].Rank != 0 ||
		lb.Rows[1].Status != sweep.StatusNotStarted {
		t.Errorf("report of the interrupted sweep: %+v", lb.Rows)
	}

	a = realApp(t)
	if code := a.run("sweep", "run", "s.yaml"); code != exitOK {
		t.Fatalf("second run: exit %d: %s", code, a.err.String())
	}
	for _, w := range []string{"trial 000-NQ-s1: finished at 256 timesteps (resumed from sw/000-NQ-s1/interrupted)",
		"trial 001-NQ-s2: finished at 256 timesteps (from scratch)"} {
		if !strings.Contains(a.out.String(), w) {
			t.Errorf("stdout %q does not contain %q", a.out.String(), w)
		}
	}
	trainByHand(t, "ref1", "--market", "NQ", "--seed", "1")
	trainByHand(t, "ref2", "--market", "NQ", "--seed", "2")
	sameMetrics(t, filepath.Join(t0, ppo.MetricsFile), filepath.Join("ref1", ppo.MetricsFile))

	// Trial 1 killed after its periodic checkpoint at 128: no interrupted/, no final/.
	for _, rel := range []string{ppo.FinalDir, ppo.BestDir, ppo.ReportsDir, filepath.Join(ppo.CheckpointsDir, "ts-000000256")} {
		if err := os.RemoveAll(filepath.Join(t1, rel)); err != nil {
			t.Fatal(err)
		}
	}
	a = realApp(t)
	if code := a.run("sweep", "run", "s.yaml"); code != exitOK {
		t.Fatalf("third run: exit %d: %s", code, a.err.String())
	}
	for _, w := range []string{"trial 000-NQ-s1: finished at 256 timesteps (final/ already had 256 timesteps)",
		"trial 001-NQ-s2: finished at 256 timesteps (resumed from sw/001-NQ-s2/checkpoints/ts-000000128)"} {
		if !strings.Contains(a.out.String(), w) {
			t.Errorf("stdout %q does not contain %q", a.out.String(), w)
		}
	}
	sameMetrics(t, filepath.Join(t1, ppo.MetricsFile), filepath.Join("ref2", ppo.MetricsFile))

	// Finished: running again trains and writes nothing.
	before := map[string][]byte{}
	for _, d := range []string{t0, t1} {
		before[d], _ = os.ReadFile(filepath.Join(d, ppo.MetricsFile))
	}
	a = realApp(t)
	a.train = func(context.Context, ppo.Setup, ppo.Recorder) (*ppo.Result, error) {
		t.Error("a finished sweep trained again")
		return nil, ppo.ErrConfig
	}
	if code := a.run("sweep", "run", "s.yaml"); code != exitOK || strings.Count(a.out.String(), "final/ already had 256 timesteps") != 2 {
		t.Errorf("fourth run: exit %d\n%s%s", code, a.out.String(), a.err.String())
	}
	for d, b := range before {
		if now, _ := os.ReadFile(filepath.Join(d, ppo.MetricsFile)); !bytes.Equal(now, b) {
			t.Errorf("%s changed", d)
		}
	}

	// Trial 1 killed before its first checkpoint: config.yaml and a rollout line.
	lines := bytes.SplitAfter(before[t1], []byte("\n"))
	if err := os.RemoveAll(t1); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(t1, 0o755)
	cfg, _ := os.ReadFile(filepath.Join("ref2", ppo.ConfigFile))
	writeFile(t, filepath.Join(t1, ppo.ConfigFile), string(cfg))
	writeFile(t, filepath.Join(t1, ppo.MetricsFile), string(lines[0]))
	a = realApp(t)
	if code := a.run("sweep", "run", "s.yaml", "--index", "1"); code != exitOK ||
		!strings.Contains(a.out.String(), "trial 001-NQ-s2: finished at 256 timesteps (started again (no checkpoint was saved))") {
		t.Fatalf("restart: exit %d\n%s%s", code, a.out.String(), a.err.String())
	}
	sameMetrics(t, filepath.Join(t1, ppo.MetricsFile), filepath.Join("ref2", ppo.MetricsFile))

	a = realApp(t)
	if code := a.run("sweep", "report", "sw"); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, a.err.String())
	}
	lb2, err := sweep.Collect("sw", "mean_reward")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range lb2.Rows {
		if r.Status != sweep.StatusFinished || r.Rank == 0 || !r.MeanReward.Defined() || r.Verdict == "" {
			t.Errorf("finished sweep: %+v", r)
		}
	}
	for _, f := range []string{sweep.ReportJSON, sweep.ReportMarkdown, sweep.ReportPlot} {
		if _, err := os.Stat(filepath.Join("sw", f)); err != nil {
			t.Error(err)
		}
	}
}

// TestSweepRunParallel runs two trials at once as child processes of the test binary
// (acting as hybridtrain), then interrupts two long ones: each saves interrupted/.
func TestSweepRunParallel(t *testing.T) {
	inTempDir(t)
	t.Setenv(asMainEnv, "1")
	writeFile(t, "s.yaml", tinySweep("  market: [NQ, ES]\n"))
	a := realApp(t)
	if code := a.run("sweep", "run", "s.yaml", "--parallel", "2"); code != exitOK {
		t.Fatalf("exit %d: %s", code, a.err.String())
	}
	for _, name := range []string{"000-NQ", "001-ES"} {
		if !strings.Contains(a.out.String(), "trial "+name+": finished at 256 timesteps (from scratch)") {
			t.Errorf("stdout %q lacks trial %s", a.out.String(), name)
		}
		if _, err := sweep.ReadEvaluation(filepath.Join("sw", name)); err != nil {
			t.Error(err)
		}
		if !strings.Contains(a.err.String(), "["+name+"] run directory: sw/"+name) {
			t.Errorf("stderr lacks the [%s] lines:\n%s", name, a.err.String())
		}
	}
	if !strings.Contains(a.err.String(), "2 at a time, each a process with GOMAXPROCS=") {
		t.Errorf("stderr: %s", a.err.String())
	}

	// Long trials, interrupted once both have written a rollout.
	writeFile(t, "long.yaml", strings.Replace(strings.Replace(tinySweep("  market: [NQ, ES]\n"), "out: sw", "out: long", 1),
		"total_timesteps: 256", "total_timesteps: 10000000", 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a = realApp(t)
	done := make(chan int, 1)
	go func() { done <- a.execute(ctx, []string{"sweep", "run", "long.yaml", "--parallel", "2"}) }()
	deadline := time.Now().Add(60 * time.Second)
	for started := 0; started < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		started = 0
		for _, name := range []string{"000-NQ", "001-ES"} {
			if b, _ := os.ReadFile(filepath.Join("long", name, ppo.MetricsFile)); bytes.Contains(b, []byte(`"rollout"`)) {
				started++
			}
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitInterrupted {
			t.Errorf("exit %d, want 130: %s", code, a.err.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the sweep did not stop within 60 s of Ctrl-C")
	}
	for _, name := range []string{"000-NQ", "001-ES"} {
		if _, err := os.Stat(filepath.Join("long", name, ppo.InterruptedDir)); err != nil {
			t.Errorf("trial %s saved no interrupted/: %v\n%s", name, err, a.err.String())
		}
	}
}

// TestSweepK8s: the manifest decodes back into the typed objects with the sweep's values,
// and bad flags or an absolute out are usage errors.
func TestSweepK8s(t *testing.T) {
	inTempDir(t)
	file := tinySweep("  market: [NQ, ES]\n  seed: [1, 2]\n")
	writeFile(t, "s.yaml", file)
	a := newTestApp(t)
	if code := a.run("sweep", "k8s", "s.yaml", "--image", "reg.example.com/ht:v1", "--parallelism", "3", "--cpu", "3", "--memory", "2Gi", "--pvc", "runs"); code != exitOK {
		t.Fatalf("exit %d: %s", code, a.err.String())
	}
	docs := strings.Split(a.out.String(), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("%d documents:\n%s", len(docs), a.out.String())
	}
	cm, job := decodeK8s(t, docs[0], docs[1])
	c := job.Spec.Template.Spec.Containers[0]
	if cm.Data[sweep.ConfigFileName] != file || *job.Spec.Completions != 4 || *job.Spec.Parallelism != 3 || c.Image != "reg.example.com/ht:v1" ||
		c.Env[0].Value != "3" || job.Spec.Template.Spec.Volumes[1].PersistentVolumeClaim.ClaimName != "runs" {
		t.Errorf("manifest: %+v\n%+v", cm, job)
	}
	if err := sweep.ValidateObjects(cm, job); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"s.yaml"}, "--image"},
		{[]string{"s.yaml", "--image", "x:1", "--cpu", "lots"}, "cpu"},
		{[]string{"s.yaml", "--image", "x:1", "--pvc", "Bad_Name"}, "pvc"},
		{[]string{"abs.yaml", "--image", "x:1"}, "abs.yaml:2: out"},
	} {
		writeFile(t, "abs.yaml", strings.Replace(file, "out: sw", "out: /runs/sw", 1))
		a := newTestApp(t)
		if code := a.run(append([]string{"sweep", "k8s"}, tc.args...)...); code != exitUsage || !strings.Contains(a.err.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", tc.args, code, a.err.String(), tc.want)
		}
	}
}

// decodeK8s decodes the manifest's documents back into the typed objects, strictly.
func decodeK8s(t *testing.T, cmDoc, jobDoc string) (*corev1.ConfigMap, *batchv1.Job) {
	t.Helper()
	var cm corev1.ConfigMap
	var job batchv1.Job
	if err := k8syaml.UnmarshalStrict([]byte(cmDoc), &cm); err != nil {
		t.Fatalf("ConfigMap: %v", err)
	}
	if err := k8syaml.UnmarshalStrict([]byte(jobDoc), &job); err != nil {
		t.Fatalf("Job: %v", err)
	}
	if cm.Kind != "ConfigMap" || job.Kind != "Job" || len(job.Spec.Template.Spec.Containers) != 1 || len(job.Spec.Template.Spec.Volumes) != 2 {
		t.Fatalf("not a ConfigMap and a Job: %s, %s", cm.Kind, job.Kind)
	}
	return &cm, &job
}
