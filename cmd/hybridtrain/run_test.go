package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hybridtrain/internal/device"
	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// fakeTrainer records the Setup it is given and returns a finished result without
// training.
type fakeTrainer struct {
	calls int
	setup ppo.Setup
}

func (f *fakeTrainer) train(_ context.Context, s ppo.Setup, rec ppo.Recorder) (*ppo.Result, error) {
	f.calls++
	f.setup = s
	rec.Start(s.PPO.TotalTimesteps, 0)
	rec.Rollout(ppo.RolloutMetrics{Timesteps: s.PPO.TotalTimesteps, Iterations: 1, FPS: 100})
	return &ppo.Result{RunDir: s.RunDir, Final: filepath.Join(s.RunDir, "final"), Timesteps: s.PPO.TotalTimesteps,
		Finished: true, Rollouts: 1, AdapterReports: 1, Finite: true}, nil
}

func TestExitCode(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		started bool
		want    int
	}{
		{"nil", nil, true, exitOK},
		{"runtime", errors.New("boom"), true, exitRuntime},
		{"aborted", errAborted, true, exitRuntime},
		{"checks failed", fmt.Errorf("%w: 1 of 6 failed", errChecksFailed), true, exitRuntime},
		{"cobra before a command ran", errors.New(`unknown command "x"`), false, exitUsage},
		{"config", configErrorf("config: x"), true, exitUsage},
		{"ppo config", fmt.Errorf("train: %w", &ppo.ConfigError{Key: "out", Msg: "not empty"}), true, exitUsage},
		{"no cuda", fmt.Errorf("device: %w", device.ErrNotBuiltWithCUDA), true, exitUsage},
		{"bar file", &env.ParseError{File: "f.csv", Line: 3, Column: 2, Err: env.ErrBadNumber}, true, exitData},
		{"missing data", dataErrorf("data: x: no such file"), true, exitData},
		{"too little history", fmt.Errorf("ppo: env: dataset x: no training session has warmup_bars = 260 bars of history: %w", env.ErrTooFewBars), true, exitData},
		{"checkpoint", fmt.Errorf("load: %w", policy.ErrCheckpoint), true, exitCheckpoint},
		{"interrupted", fmt.Errorf("train: %w", ppo.ErrInterrupted), true, exitInterrupted},
		{"canceled", context.Canceled, true, exitInterrupted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCode(tc.err, tc.started); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// TestBadInvocations runs the real command tree: each bad invocation exits with the code
// of the spec and names the flag, key, market or file at fault. None reads stdin.
func TestBadInvocations(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T)
		args  []string
		code  int
		want  []string
	}{
		{name: "bad flag value", args: []string{"train", "--market", "NQ", "--n-envs", "x"}, code: exitUsage, want: []string{"--n-envs", `"x"`}},
		{name: "unknown flag", args: []string{"train", "--bogus"}, code: exitUsage, want: []string{"--bogus"}},
		{name: "unknown command", args: []string{"trian"}, code: exitUsage, want: []string{`unknown command "trian"`}},
		{name: "extra argument", args: []string{"train", "now"}, code: exitUsage, want: []string{"now"}},
		{name: "missing argument", args: []string{"data", "validate"}, code: exitUsage, want: []string{"requires at least 1 arg"}},
		{name: "unknown subcommand", args: []string{"data", "check", "x.csv"}, code: exitUsage, want: []string{`unknown command "check"`}},
		{name: "bad completion shell", args: []string{"completion", "tcsh"}, code: exitUsage, want: []string{"tcsh"}},
		{name: "missing market", args: []string{"train"}, code: exitUsage, want: []string{"--market"}},
		{name: "unknown market", args: []string{"train", "--market", "ZZZ"}, code: exitUsage, want: []string{`"ZZZ"`, "--market"}},
		{name: "bad key in file", setup: func(t *testing.T) { writeFile(t, "c.yaml", "clip_rang: 0.1\n") },
			args: []string{"train", "--market", "NQ", "--config", "c.yaml"}, code: exitUsage, want: []string{`"clip_rang"`, "c.yaml", `"clip_range"`}},
		{name: "bad value in environment", setup: func(t *testing.T) { t.Setenv("HYBRIDTRAIN_ENT_COEF", "-1") },
			args: []string{"train", "--market", "NQ"}, code: exitUsage, want: []string{"ent_coef", "$HYBRIDTRAIN_ENT_COEF"}},
		{name: "missing config file", args: []string{"train", "--market", "NQ", "--config", "nope.yaml"}, code: exitUsage, want: []string{"nope.yaml"}},
		{name: "cuda in a cpu build", args: []string{"train", "--market", "NQ", "--device", "cuda"}, code: exitUsage, want: []string{"CUDA support", "--device"}},
		{name: "base with phase 2", setup: func(t *testing.T) { os.Mkdir("p2", 0o755) },
			args: []string{"train", "--market", "NQ", "--phase", "2", "--base", "p2"}, code: exitUsage, want: []string{"base", "Phase 3"}},
		{name: "missing data file", args: []string{"train", "--market", "NQ", "--data", "nope.csv"}, code: exitData, want: []string{"nope.csv", "no such file"}},
		{name: "missing base", args: []string{"train", "--market", "NQ", "--base", "nope"}, code: exitCheckpoint, want: []string{"nope", "checkpoint"}},
		{name: "missing resume", args: []string{"train", "--resume", "nope/final", "--market", "NQ"}, code: exitCheckpoint, want: []string{"nope/final"}},
		{name: "missing resume, market from its config.yaml", args: []string{"train", "--resume", "nope/final"}, code: exitCheckpoint, want: []string{"nope/final", "checkpoint"}},
		{name: "resume outside a run directory", setup: func(t *testing.T) { os.Mkdir("ckpt", 0o755) },
			args: []string{"train", "--resume", "ckpt"}, code: exitCheckpoint, want: []string{"ckpt", "config.yaml"}},
		{name: "eval without model", args: []string{"eval"}, code: exitUsage, want: []string{"--model"}},
		{name: "eval missing model", args: []string{"eval", "--model", "nope"}, code: exitCheckpoint, want: []string{"--model nope", "checkpoint"}},
		{name: "eval bad split", args: []string{"eval", "--model", "nope", "--split", "test"}, code: exitUsage, want: []string{"--split", `"test"`}},
		{name: "inspect missing", args: []string{"inspect", "nope"}, code: exitCheckpoint, want: []string{"nope", "checkpoint"}},
		{name: "inspect not a checkpoint", setup: func(t *testing.T) { os.Mkdir("empty", 0o755) },
			args: []string{"inspect", "empty"}, code: exitCheckpoint, want: []string{"empty"}},
		{name: "validate missing file", args: []string{"data", "validate", "nope.csv"}, code: exitData, want: []string{"nope.csv"}},
		{name: "info missing file", args: []string{"data", "info", "nope.csv"}, code: exitData, want: []string{"nope.csv"}},
		{name: "validate a directory without CSV files", setup: func(t *testing.T) { os.Mkdir("bars", 0o755) },
			args: []string{"data", "validate", "bars"}, code: exitData, want: []string{"bars: cannot read: directory has no .csv files"}},
		{name: "info a file given twice", setup: func(t *testing.T) { os.WriteFile("a.csv", nil, 0o644) },
			args: []string{"data", "info", "a.csv,./a.csv"}, code: exitData, want: []string{"a.csv is given twice"}},
		{name: "synth bad sessions", args: []string{"data", "synth", "--sessions", "0"}, code: exitUsage, want: []string{"--sessions"}},
		{name: "test missing data file", args: []string{"test", "--data", "nope.csv"}, code: exitData, want: []string{"nope.csv"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inTempDir(t)
			if tc.setup != nil {
				tc.setup(t)
			}
			a := newTestApp(t)
			code := a.run(append(tc.args, "--help=false")...)
			if code != tc.code {
				t.Errorf("exit code: got %d, want %d; stderr %q", code, tc.code, a.err.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(a.err.String(), w) {
					t.Errorf("stderr %q does not contain %q", a.err.String(), w)
				}
			}
			if strings.Contains(a.err.String(), "goroutine ") {
				t.Errorf("stderr carries a stack trace: %s", a.err.String())
			}
		})
	}
}

// TestOutNotEmpty: --out naming a non-empty directory is a usage error naming it.
func TestOutNotEmpty(t *testing.T) {
	inTempDir(t)
	os.Mkdir("used", 0o755)
	writeFile(t, "used/x", "")
	a := newTestApp(t)
	code := a.run("train", "--market", "NQ", "--test", "--out", "used", "--quiet")
	if code != exitUsage || !strings.Contains(a.err.String(), "used") || !strings.Contains(a.err.String(), "not empty") {
		t.Errorf("got exit %d, stderr %q; want 2 naming used", code, a.err.String())
	}
}

// TestNonInteractiveNeverReadsStdin: without both terminals, with --non-interactive or with
// CI set, a missing --market is exit 2 naming the flag, and stdin (which fails the test if
// read) is never touched; a complete run does not read it either.
func TestNonInteractiveNeverReadsStdin(t *testing.T) {
	cases := []struct {
		name string
		term fakeTerminal
		ci   string
		args []string
	}{
		{"no terminal", fakeTerminal{}, "", nil},
		{"stdin only", fakeTerminal{stdin: true}, "", nil},
		{"stderr only", fakeTerminal{stderr: true}, "", nil},
		{"--non-interactive", fakeTerminal{stdin: true, stderr: true}, "", []string{"--non-interactive"}},
		{"CI set", fakeTerminal{stdin: true, stderr: true}, "true", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inTempDir(t)
			a := newTestApp(t)
			a.term = tc.term
			a.getenv = func(k string) string {
				if k == "CI" {
					return tc.ci
				}
				return ""
			}
			if code := a.run(append([]string{"train", "--quiet"}, tc.args...)...); code != exitUsage || !strings.Contains(a.err.String(), "--market") {
				t.Errorf("missing market: got exit %d, stderr %q; want 2 naming --market", code, a.err.String())
			}
			ft := &fakeTrainer{}
			a = newTestApp(t)
			a.term, a.getenv, a.train = tc.term, func(string) string { return tc.ci }, ft.train
			if code := a.run(append([]string{"train", "--market", "NQ", "--test", "--quiet"}, tc.args...)...); code != exitOK || ft.calls != 1 {
				t.Errorf("complete run: got exit %d with %d trainer calls; stderr %q", code, ft.calls, a.err.String())
			}
		})
	}
}

// interactiveApp is a test app on a (fake) terminal whose user types input.
func interactiveApp(t *testing.T, input string) (*testApp, *fakeTrainer) {
	a := newTestApp(t)
	a.term = fakeTerminal{stdin: true, stderr: true}
	a.stdin = strings.NewReader(input)
	a.prompt = newLinePrompter(a.stdin, a.err)
	ft := &fakeTrainer{}
	a.train = ft.train
	return a, ft
}

// TestInteractive drives the prompts: the market list (markets with data files, then
// synthetic), the instrument of synthetic bars, and the confirmation.
func TestInteractive(t *testing.T) {
	t.Run("synthetic then confirm", func(t *testing.T) {
		inTempDir(t)
		os.Mkdir(dataDir, 0o755)
		writeFile(t, defaultDataPath("ES"), "not read: synthetic is chosen\n")
		// 2 = synthetic (after ES), then the instrument by name, then an empty answer = yes.
		a, ft := interactiveApp(t, "2\nnq\n\n")
		if code := a.run("train", "--test", "--quiet"); code != exitOK {
			t.Fatalf("exit code %d, stderr %q", code, a.err.String())
		}
		errText := a.err.String()
		for _, w := range []string{"1) ES (data/ES_D1M.csv)", "2) synthetic", "instrument for the synthetic bars", "market     NQ", "data       built-in synthetic bars", "start training? [Y/n]"} {
			if !strings.Contains(errText, w) {
				t.Errorf("prompt output does not contain %q:\n%s", w, errText)
			}
		}
		if ft.calls != 1 || ft.setup.Market != "NQ" || !strings.HasPrefix(ft.setup.Dataset.Source, "synthetic") {
			t.Errorf("trainer: %d calls, market %q, data %q; want 1, NQ, synthetic", ft.calls, ft.setup.Market, ft.setup.Dataset.Source)
		}
	})
	t.Run("decline", func(t *testing.T) {
		inTempDir(t)
		a, ft := interactiveApp(t, "1\nn\n") // no data files: the markets, then the confirmation
		code := a.run("train", "--test", "--quiet")
		if code != exitRuntime || !strings.Contains(a.err.String(), "aborted") || ft.calls != 0 {
			t.Errorf("got exit %d with %d trainer calls, stderr %q; want 1, 0, aborted", code, ft.calls, a.err.String())
		}
	})
	t.Run("market given: only the confirmation", func(t *testing.T) {
		inTempDir(t)
		a, ft := interactiveApp(t, "yes\n")
		if code := a.run("train", "--market", "ES", "--test", "--quiet"); code != exitOK || ft.setup.Market != "ES" {
			t.Errorf("got exit %d, market %q; stderr %q", code, ft.setup.Market, a.err.String())
		}
		if strings.Contains(a.err.String(), "market to train on") {
			t.Error("asked for the market although --market was given")
		}
	})
	t.Run("bad answers then end of input", func(t *testing.T) {
		inTempDir(t)
		a, ft := interactiveApp(t, "99\nabc\n")
		code := a.run("train", "--test", "--quiet")
		if code != exitRuntime || ft.calls != 0 || !strings.Contains(a.err.String(), "not one of the choices") {
			t.Errorf("got exit %d, %d calls, stderr %q", code, ft.calls, a.err.String())
		}
	})
}

// TestTrainSetup: what train hands the trainer, through the real layers.
func TestTrainSetup(t *testing.T) {
	inTempDir(t)
	writeFile(t, "c.yaml", "n_steps: 128\nbatch_size: 64\npi_layers: [32]\n")
	t.Setenv("HYBRIDTRAIN_N_EPOCHS", "2")
	a := newTestApp(t)
	ft := &fakeTrainer{}
	a.train = ft.train
	code := a.run("train", "--market", "mes", "--test", "--config", "c.yaml", "--n-envs", "3", "--timesteps", "1000", "--seed", "5", "--device", "cpu")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, a.err.String())
	}
	s := ft.setup
	if s.Phase != 3 || s.Market != "MES" || s.PPO.NSteps != 128 || s.PPO.BatchSize != 64 || s.PPO.NEpochs != 2 || s.PPO.NEnvs != 3 ||
		s.PPO.TotalTimesteps != 1000 || s.PPO.Seed != 5 || s.PPO.EvalFreq != 10_000 || s.Device != device.CPU || s.Policy.ObsDim != 261 {
		t.Errorf("setup: %+v", s)
	}
	wantDir := filepath.Join(runsDir, "phase3-MES-20250102T030405Z")
	if s.RunDir != wantDir {
		t.Errorf("run dir: got %q, want %q", s.RunDir, wantDir)
	}
	if !strings.Contains(string(s.ConfigYAML), "n_steps: 128\n") || strings.Contains(string(s.ConfigYAML), "\nout:") {
		t.Errorf("config.yaml:\n%s", s.ConfigYAML)
	}
	cfg, ok := s.Config.(map[string]any)
	if !ok || cfg["n_envs"] != 3 || cfg["market"] != "MES" {
		t.Errorf("Setup.Config: %v", s.Config)
	}
	// The resolved configuration is printed on stderr with where each value came from.
	for _, w := range []string{"# resolved configuration", "n_envs: 3 # from --n-envs", "n_epochs: 2 # from $HYBRIDTRAIN_N_EPOCHS", "n_steps: 128 # from c.yaml", "total_timesteps: 1000 # from --timesteps"} {
		if !strings.Contains(a.err.String(), w) {
			t.Errorf("stderr does not contain %q:\n%s", w, a.err.String())
		}
	}
	if !strings.Contains(a.out.String(), "run") || !strings.Contains(a.out.String(), wantDir) {
		t.Errorf("stdout summary: %q", a.out.String())
	}
	// --quiet hides the configuration and the progress lines.
	a = newTestApp(t)
	a.train = ft.train
	if code := a.run("train", "--market", "NQ", "--test", "--quiet"); code != exitOK || strings.Contains(a.err.String(), "resolved configuration") || strings.Contains(a.err.String(), "rollout") {
		t.Errorf("--quiet: exit %d, stderr %q", code, a.err.String())
	}
}

// TestInterrupt: a trainer stopped by the context returns ErrInterrupted after saving
// interrupted/; train prints its path on stdout and exits 130.
func TestInterrupt(t *testing.T) {
	inTempDir(t)
	a := newTestApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	a.train = func(ctx context.Context, s ppo.Setup, _ ppo.Recorder) (*ppo.Result, error) {
		cancel() // the user presses Ctrl-C during training
		<-ctx.Done()
		return &ppo.Result{RunDir: s.RunDir, Interrupted: filepath.Join(s.RunDir, "interrupted"), Timesteps: 2048}, ppo.ErrInterrupted
	}
	code := a.execute(ctx, []string{"train", "--market", "NQ", "--test", "--quiet", "--out", "r"})
	if code != exitInterrupted {
		t.Fatalf("exit code: got %d, want 130; stderr %q", code, a.err.String())
	}
	if want := "interrupted: " + filepath.Join("r", "interrupted") + " (timesteps 2048)"; !strings.Contains(a.out.String(), want) {
		t.Errorf("stdout %q does not contain %q", a.out.String(), want)
	}
	if !strings.Contains(a.err.String(), "resume with: hybridtrain train --resume") {
		t.Errorf("stderr: %q", a.err.String())
	}
}

// TestPanicIsReported: a panic anywhere in a command is exit 1 with a message, never a
// stack trace.
func TestPanicIsReported(t *testing.T) {
	inTempDir(t)
	a := newTestApp(t)
	a.train = func(context.Context, ppo.Setup, ppo.Recorder) (*ppo.Result, error) { panic("index out of range [7]") }
	code := a.run("train", "--market", "NQ", "--test", "--quiet")
	if code != exitRuntime || !strings.Contains(a.err.String(), "internal error: index out of range [7]") || strings.Contains(a.err.String(), "goroutine") {
		t.Errorf("got exit %d, stderr %q", code, a.err.String())
	}
}

// TestTestCommandFailsOnACheck injects checks: one passing, one failing. `test` prints one
// line per check on stdout and exits 1, keeping its run directory.
func TestTestCommandFailsOnACheck(t *testing.T) {
	inTempDir(t)
	for _, failing := range []bool{false, true} {
		a := newTestApp(t)
		ft := &fakeTrainer{}
		a.train = ft.train
		a.checks = []smokeCheck{
			{"first", func(context.Context, *smokeRun) (string, error) { return "fine", nil }},
			{"second", func(_ context.Context, r *smokeRun) (string, error) {
				if failing {
					return "", fmt.Errorf("forced failure after %d timesteps", r.result.Timesteps)
				}
				return "also fine", nil
			}},
		}
		code := a.run("test", "--quiet", "--timesteps", "4096")
		wantOut := "PASS first: fine\nPASS second: also fine\n"
		wantCode := exitOK
		if failing {
			wantOut = "PASS first: fine\nFAIL second: forced failure after 4096 timesteps\n"
			wantCode = exitRuntime
		}
		if code != wantCode || a.out.String() != wantOut {
			t.Errorf("failing=%v: got exit %d, stdout %q; want %d, %q (stderr %q)", failing, code, a.out.String(), wantCode, wantOut, a.err.String())
		}
		if s := ft.setup; s.Phase != 3 || s.Market != "NQ" || s.PPO.NEnvs != 2 || s.PPO.NSteps != 1024 || s.BaseDir != "" {
			t.Errorf("test setup: phase %d, market %s, n_envs %d, n_steps %d, base %q; want 3, NQ, 2, 1024, none", s.Phase, s.Market, s.PPO.NEnvs, s.PPO.NSteps, s.BaseDir)
		}
		_, statErr := os.Stat(ft.setup.RunDir)
		if kept := statErr == nil; kept != failing {
			t.Errorf("failing=%v: run directory %s kept=%v", failing, ft.setup.RunDir, kept)
		}
		os.RemoveAll(ft.setup.RunDir)
	}
}

// TestTestCommandDefaultChecksOnAFailedRun: with the real checks, a trainer that fails
// makes every check FAIL with the cause; finite names the stop as its own failure.
func TestTestCommandDefaultChecksOnAFailedRun(t *testing.T) {
	inTempDir(t)
	a := newTestApp(t)
	a.train = func(context.Context, ppo.Setup, ppo.Recorder) (*ppo.Result, error) {
		return nil, &ppo.NonFiniteError{Update: 3, What: "loss", Err: policy.ErrNonFinite}
	}
	code := a.run("test", "--quiet")
	lines := strings.Split(strings.TrimSpace(a.out.String()), "\n")
	if code != exitRuntime || len(lines) != 6 {
		t.Fatalf("got exit %d, stdout %q", code, a.out.String())
	}
	for i, name := range []string{"finished", "finite", "masks", "adapter", "roundtrip", "eval"} {
		want := "FAIL " + name + ": training failed: ppo: update 3"
		if name == "finite" {
			want = "FAIL finite: training stopped on a non-finite value: ppo: update 3"
		}
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d: %q, want prefix %q", i+1, lines[i], want)
		}
	}
}

func TestRolloutLineHasNoControlCharacters(t *testing.T) {
	m := ppo.RolloutMetrics{Timesteps: 4096, Iterations: 2, FPS: 512, Episodes: 3, EpRewMean: -1.25, ApproxKL: 0.0123}
	got := rolloutLine(m, 8192)
	// ETA: (8192 - 4096) steps / 512 steps/s = 8 s.
	want := "rollout 2: timesteps 4096/8192 (50%), 512 steps/s, ETA 8s, ep_rew_mean -1.25, llm_features_learned n/a, approx_kl 0.0123"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	for _, r := range got {
		if r < 0x20 || r == 0x7f {
			t.Errorf("control character %q in %q", r, got)
		}
	}
	if eta(ppo.RolloutMetrics{Timesteps: 10, FPS: 0}, 100) != "0s" {
		t.Error("eta with no rate")
	}
}

// TestIntegerFlagForms: an integer key's flag reads what the key reads in files and the
// environment (2e6, 1_000), and refuses a fraction or a word naming the flag (exit 2).
func TestIntegerFlagForms(t *testing.T) {
	cases := []struct {
		flag, value string
		want        int64 // total_timesteps, n_envs or seed after parsing; ignored when code != 0
		code        int
	}{
		{"--timesteps", "2e6", 2_000_000, exitOK},
		{"--timesteps", "2_000_000", 2_000_000, exitOK},
		{"--timesteps", "4096", 4096, exitOK},
		{"--n-envs", "4", 4, exitOK},
		{"--n-envs", "4e0", 4, exitOK},
		{"--seed", "1_000", 1000, exitOK},
		{"--timesteps", "2.5e-1", 0, exitUsage},
		{"--n-envs", "2.5", 0, exitUsage},
		{"--seed", "one", 0, exitUsage},
		{"--seed", "-1", 0, exitUsage},
	}
	for _, tc := range cases {
		t.Run(tc.flag+" "+tc.value, func(t *testing.T) {
			inTempDir(t)
			a := newTestApp(t)
			ft := &fakeTrainer{}
			a.train = ft.train
			code := a.run("train", "--market", "NQ", "--test", "--quiet", tc.flag, tc.value)
			if code != tc.code {
				t.Fatalf("exit code: got %d, want %d; stderr %q", code, tc.code, a.err.String())
			}
			if code != exitOK {
				if !strings.Contains(a.err.String(), tc.flag) || !strings.Contains(a.err.String(), tc.value) {
					t.Errorf("stderr %q does not name %s and %q", a.err.String(), tc.flag, tc.value)
				}
				return
			}
			got := map[string]int64{"--timesteps": ft.setup.PPO.TotalTimesteps, "--n-envs": int64(ft.setup.PPO.NEnvs),
				"--seed": int64(ft.setup.PPO.Seed)}[tc.flag]
			if got != tc.want {
				t.Errorf("%s %s: got %d, want %d", tc.flag, tc.value, got, tc.want)
			}
		})
	}
}

// TestOutNotEmptyBeforeConfirming: on a terminal, a non-empty --out is refused before the
// run is shown for confirmation (the user is not asked to confirm a run that cannot start),
// and nothing is created or read.
func TestOutNotEmptyBeforeConfirming(t *testing.T) {
	inTempDir(t)
	os.Mkdir("used", 0o755)
	writeFile(t, "used/x", "")
	a, ft := interactiveApp(t, "y\n")
	code := a.run("train", "--market", "NQ", "--test", "--out", "used")
	if code != exitUsage || !strings.Contains(a.err.String(), "used") || !strings.Contains(a.err.String(), "not empty") {
		t.Errorf("got exit %d, stderr %q; want 2 naming used", code, a.err.String())
	}
	for _, unwanted := range []string{"start training?", "# resolved configuration", "using built-in synthetic bars"} {
		if strings.Contains(a.err.String(), unwanted) {
			t.Errorf("stderr shows %q before refusing --out:\n%s", unwanted, a.err.String())
		}
	}
	if ft.calls != 0 {
		t.Errorf("trainer called %d times", ft.calls)
	}
}

// TestFailedStartLeavesNoEmptyRunDirectory: when the trainer refuses the run before writing
// anything (here a configuration it rejects), the run directory train created is removed,
// so runs/ does not fill with empty directories; a --out the user made stays.
func TestFailedStartLeavesNoEmptyRunDirectory(t *testing.T) {
	inTempDir(t)
	refuse := func(context.Context, ppo.Setup, ppo.Recorder) (*ppo.Result, error) {
		return nil, &ppo.ConfigError{Key: "train_fraction", Msg: "leaves no validation session"}
	}
	os.Mkdir("mine", 0o755)
	for _, tc := range []struct {
		args []string
		dir  string
		kept bool
	}{
		{nil, filepath.Join(runsDir, "phase3-NQ-20250102T030405Z"), false},
		{[]string{"--out", "new"}, "new", false},
		{[]string{"--out", "mine"}, "mine", true},
	} {
		a := newTestApp(t)
		a.train = refuse
		if code := a.run(append([]string{"train", "--market", "NQ", "--test", "--quiet"}, tc.args...)...); code != exitUsage {
			t.Fatalf("%v: exit %d, want 2; stderr %q", tc.args, code, a.err.String())
		}
		_, err := os.Stat(tc.dir)
		if kept := err == nil; kept != tc.kept {
			t.Errorf("%v: %s kept = %v, want %v", tc.args, tc.dir, kept, tc.kept)
		}
	}
}

// TestCtrlCAtAPrompt: Ctrl-C while a prompt waits for an answer exits 130 at once (the
// first Ctrl-C only cancelled the context, and the prompt kept waiting on the terminal).
func TestCtrlCAtAPrompt(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"market prompt", []string{"train", "--test", "--quiet"}},
		{"confirmation", []string{"train", "--market", "NQ", "--test", "--quiet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inTempDir(t)
			stdin, typing := io.Pipe() // a user who never answers
			defer typing.Close()
			a, ft := interactiveApp(t, "")
			a.stdin = stdin
			a.prompt = newLinePrompter(stdin, a.err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(50*time.Millisecond, cancel) // Ctrl-C
			done := make(chan int, 1)
			go func() { done <- a.execute(ctx, tc.args) }()
			select {
			case code := <-done:
				if code != exitInterrupted || ft.calls != 0 {
					t.Errorf("got exit %d with %d trainer calls, want 130 and none; stderr %q", code, ft.calls, a.err.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("still waiting for an answer 10 s after Ctrl-C; stderr %q", a.err.String())
			}
		})
	}
}

// TestCtrlCBeforeTraining: Ctrl-C while the configuration is resolved or the bars load (a
// large file takes a while) exits 130 before the trainer starts or a run directory is made.
func TestCtrlCBeforeTraining(t *testing.T) {
	for _, cmd := range []string{"train", "test"} {
		t.Run(cmd, func(t *testing.T) {
			inTempDir(t)
			a := newTestApp(t)
			ft := &fakeTrainer{}
			a.train = ft.train
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			code := a.execute(ctx, []string{cmd, "--market", "NQ", "--quiet", "--out", "run"})
			if code != exitInterrupted || ft.calls != 0 {
				t.Errorf("got exit %d with %d trainer calls, want 130 and none; stderr %q", code, ft.calls, a.err.String())
			}
			if _, err := os.Stat("run"); err == nil {
				t.Error("the run directory was created")
			}
		})
	}
}
