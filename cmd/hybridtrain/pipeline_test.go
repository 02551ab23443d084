package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hybridtrain/internal/curves"
	"hybridtrain/internal/ppo"
)

// tinyConfig makes real training take about a second: two rollouts of 128 steps of one env,
// a 16-unit network, an evaluation and a checkpoint every rollout.
const tinyConfig = `total_timesteps: 256
n_envs: 1
n_steps: 128
batch_size: 64
n_epochs: 2
pi_layers: [16]
vf_layers: [16]
eval_freq: 128
n_eval_episodes: 1
save_freq: 128
`

// realApp is a test app that trains for real.
func realApp(t *testing.T) *testApp {
	a := newTestApp(t)
	a.train = ppo.Train
	return a
}

// smokeFixture is one `test --out` run with tiny.yaml, made before TestPipeline's subtests:
// each subtest starts from it and writes only under its own directory, so that any subtest
// runs alone (go test -run TestPipeline/eval) and in any order.
type smokeFixture struct {
	code           int
	stdout, stderr string
	run            string // the run directory (absolute)
	final          string // its final/ checkpoint
}

// trainSmoke runs `test` once, in t's own temporary directory.
func trainSmoke(t *testing.T) *smokeFixture {
	t.Helper()
	dir := inTempDir(t)
	writeFile(t, "tiny.yaml", tinyConfig)
	a := realApp(t)
	run := filepath.Join(dir, "smoke")
	code := a.run("test", "--config", "tiny.yaml", "--out", run, "--quiet")
	return &smokeFixture{code: code, stdout: a.out.String(), stderr: a.err.String(), run: run, final: filepath.Join(run, "final")}
}

// need stops a subtest that starts from the fixture when the fixture's run failed, with
// that failure rather than a missing file.
func (f *smokeFixture) need(t *testing.T) {
	t.Helper()
	if f.code != exitOK {
		t.Fatalf("the fixture's `test` run failed (exit %d): %s", f.code, f.stderr)
	}
}

// copyRun copies the fixture's run directory to dst, for a subtest that writes into it.
func (f *smokeFixture) copyRun(t *testing.T, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(f.run)); err != nil {
		t.Fatal(err)
	}
}

// TestPipeline runs the real trainer through the command line: the smoke test, inspect and
// eval of its checkpoint, a corrupt checkpoint, Phase 2 -> Phase 3 transfer and resume.
// Every subtest works in its own directory.
func TestPipeline(t *testing.T) {
	smoke := trainSmoke(t)

	t.Run("test passes every check", func(t *testing.T) {
		if smoke.code != exitOK {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", smoke.code, smoke.stdout, smoke.stderr)
		}
		lines := strings.Split(strings.TrimSpace(smoke.stdout), "\n")
		for i, name := range []string{"finished", "finite", "masks", "adapter", "roundtrip", "eval"} {
			if i >= len(lines) || !strings.HasPrefix(lines[i], "PASS "+name+": ") {
				t.Errorf("check %d: want PASS %s, stdout:\n%s", i+1, name, smoke.stdout)
			}
		}
		if !strings.Contains(smoke.stdout, "reproduces the last evaluation") {
			t.Errorf("roundtrip did not compare with the last evaluation:\n%s", smoke.stdout)
		}
	})

	t.Run("inspect", func(t *testing.T) {
		inTempDir(t)
		smoke.need(t)
		a := realApp(t)
		if code := a.run("inspect", smoke.final, "--json"); code != exitOK {
			t.Fatalf("exit %d: %s", code, a.err.String())
		}
		var rep inspectReport
		if err := json.Unmarshal(a.out.Bytes(), &rep); err != nil {
			t.Fatalf("%v\n%s", err, a.out.String())
		}
		// Parameters counted by hand for pi = vf = [16]: adapter 261x228 + 228 = 59,736;
		// each MLP 228x16 + 16 = 3,664; action head 16x6 + 6 = 102; value head 16 + 1 = 17.
		const wantParams = 59_736 + 2*3_664 + 102 + 17
		if rep.Phase != 3 || rep.Market != "NQ" || rep.ObsDim != 261 || rep.BaseObsDim != 228 || rep.NumActions != 6 ||
			rep.Timesteps != 256 || rep.Parameters != wantParams || rep.Adapter == nil || !rep.Architecture.Adapter {
			t.Errorf("inspect: %+v (want %d parameters)", rep, wantParams)
		}
		// 256 timesteps of training moved the context columns away from their zero init.
		if rep.Adapter != nil && !(rep.Adapter.LLMFeaturesLearned > 0) {
			t.Errorf("adapter llm_features_learned: got %v, want > 0", rep.Adapter.LLMFeaturesLearned)
		}
		if !strings.Contains(a.out.String(), `"llm_features_learned"`) {
			t.Errorf("inspect --json does not name llm_features_learned:\n%s", a.out.String())
		}
		if len(rep.Normalizer) != 3 || rep.Normalizer[0].Features != 228 || rep.Normalizer[1].Features != 33 || rep.Normalizer[2].Features != 1 {
			t.Errorf("normaliser blocks: %+v", rep.Normalizer)
		}
		a = realApp(t)
		if code := a.run("inspect", smoke.final); code != exitOK || !strings.Contains(a.out.String(), "llm_features_learned") {
			t.Errorf("inspect table: exit %d\n%s", code, a.out.String())
		}
	})

	t.Run("eval", func(t *testing.T) {
		inTempDir(t)
		smoke.need(t)
		smoke.copyRun(t, "smoke") // eval writes its report into the run
		a := realApp(t)
		if code := a.run("eval", "--model", filepath.Join("smoke", "final"), "--episodes", "2", "--json"); code != exitOK {
			t.Fatalf("exit %d: %s", code, a.err.String())
		}
		var rep evalReport
		if err := json.Unmarshal(a.out.Bytes(), &rep); err != nil {
			t.Fatalf("%v\n%s", err, a.out.String())
		}
		// 120 synthetic sessions, train_fraction 0.8: 24 validation sessions.
		if rep.Market != "NQ" || rep.Episodes != 2 || rep.Split != "validation" || rep.Sessions != 24 || rep.MaskedActions != 0 || rep.Timesteps != 256 {
			t.Errorf("eval: %+v", rep)
		}
		a = realApp(t)
		if code := a.run("eval", "--model", filepath.Join("smoke", "final"), "--split", "all", "--episodes", "1"); code != exitOK ||
			!strings.Contains(a.out.String(), "all (120 sessions)") || !strings.Contains(a.out.String(), "masked actions  0") {
			t.Errorf("eval table: exit %d\n%s", code, a.out.String())
		}
	})

	t.Run("corrupt checkpoint", func(t *testing.T) {
		inTempDir(t)
		smoke.need(t)
		if err := os.CopyFS("bad", os.DirFS(smoke.final)); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join("bad", "model.safetensors")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)-1] ^= 0xff
		writeFile(t, p, string(data))
		for _, args := range [][]string{{"inspect", "bad"}, {"eval", "--model", "bad"}} {
			a := realApp(t)
			if code := a.run(args...); code != exitCheckpoint || !strings.Contains(a.err.String(), "model.safetensors") {
				t.Errorf("%v: exit %d, stderr %q; want 4 naming model.safetensors", args, code, a.err.String())
			}
		}
	})

	t.Run("phase 2 then transfer then resume", func(t *testing.T) {
		inTempDir(t)
		writeFile(t, "tiny.yaml", tinyConfig)
		a := realApp(t)
		if code := a.run("train", "--market", "NQ", "--phase", "2", "--config", "tiny.yaml", "--out", "p2", "--quiet"); code != exitOK {
			t.Fatalf("phase 2: exit %d: %s", code, a.err.String())
		}
		// The run drew its curves and wrote one TensorBoard event file.
		checkPNG(t, filepath.Join("p2", curves.FileName))
		if events, _ := filepath.Glob(filepath.Join("p2", ppo.TensorBoardDir, "events.out.tfevents.*")); len(events) != 1 {
			t.Errorf("p2/%s holds %v, want one event file", ppo.TensorBoardDir, events)
		}
		// eval takes the phase (and the network) from the checkpoint.
		a = realApp(t)
		if code := a.run("eval", "--model", filepath.Join("p2", "final"), "--episodes", "1"); code != exitOK || !strings.Contains(a.out.String(), "(phase 2, 256 timesteps)") {
			t.Errorf("eval of a phase 2 checkpoint: exit %d\n%s%s", code, a.out.String(), a.err.String())
		}
		a = realApp(t)
		if code := a.run("train", "--market", "NQ", "--base", filepath.Join("p2", "final"), "--config", "tiny.yaml", "--out", "p3", "--quiet"); code != exitOK {
			t.Fatalf("transfer: exit %d: %s", code, a.err.String())
		}
		// A Phase 3 checkpoint is no base.
		a = realApp(t)
		if code := a.run("train", "--market", "NQ", "--base", filepath.Join("p3", "final"), "--config", "tiny.yaml", "--out", "p3b", "--quiet"); code != exitCheckpoint {
			t.Errorf("phase 3 base: exit %d, want 4: %s", code, a.err.String())
		}
		// Resume needs no other flag: the run's config.yaml is the config file.
		a = realApp(t)
		ckpt := filepath.Join("p3", "checkpoints", "ts-000000128")
		if code := a.run("train", "--resume", ckpt, "--timesteps", "384", "--quiet"); code != exitOK {
			t.Fatalf("resume: exit %d: %s", code, a.err.String())
		}
		if !strings.Contains(a.out.String(), "timesteps  384") {
			t.Errorf("resume summary:\n%s", a.out.String())
		}
		// Changing a setting on resume is a usage error naming the key.
		a = realApp(t)
		if code := a.run("train", "--resume", ckpt, "--n-envs", "2", "--quiet"); code != exitUsage || !strings.Contains(a.err.String(), "n_envs") {
			t.Errorf("changed setting on resume: exit %d, stderr %q", code, a.err.String())
		}
		cfg, err := os.ReadFile(filepath.Join("p3", "config.yaml"))
		if err != nil || !bytes.Contains(cfg, []byte("base: p2/final")) {
			t.Errorf("p3/config.yaml: %v\n%s", err, cfg)
		}
	})
}

// TestRoundtripCheckFails: the roundtrip check fails when final/ is not the trained policy
// (here: the in-memory model of another seed) and when final/ does not reproduce the last
// evaluation.
func TestRoundtripCheckFails(t *testing.T) {
	inTempDir(t)
	writeFile(t, "tiny.yaml", tinyConfig)
	a := realApp(t)
	if code := a.run("train", "--market", "NQ", "--test", "--config", "tiny.yaml", "--seed", "2", "--out", "other", "--quiet"); code != exitOK {
		t.Fatalf("exit %d: %s", code, a.err.String())
	}
	other, err := ppo.LoadModel(filepath.Join("other", "final"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		tamper func(*ppo.Result)
		want   string
	}{
		{"another policy", func(r *ppo.Result) { r.Model = other }, "from the trained policy"},
		{"another evaluation", func(r *ppo.Result) { r.LastEval.MeanReward += 1 }, "the last training-time evaluation gave"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := realApp(t)
			a.train = func(ctx context.Context, s ppo.Setup, rec ppo.Recorder) (*ppo.Result, error) {
				res, err := ppo.Train(ctx, s, rec)
				if err == nil {
					tc.tamper(res)
				}
				return res, err
			}
			a.checks = []smokeCheck{{"roundtrip", checkRoundtrip}}
			code := a.run("test", "--config", "tiny.yaml", "--quiet", "--out", fmt.Sprintf("run%d", i))
			if code != exitRuntime || !strings.HasPrefix(a.out.String(), "FAIL roundtrip: ") || !strings.Contains(a.out.String(), tc.want) {
				t.Errorf("exit %d, stdout %q; want 1 and FAIL roundtrip ... %s", code, a.out.String(), tc.want)
			}
		})
	}
}
