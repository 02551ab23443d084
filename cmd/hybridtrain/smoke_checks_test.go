package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hybridtrain/internal/adapter"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// craftedRun is a finished run, made by hand, that passes finite, masks and adapter: two
// rollouts with adapter statistics and one evaluation, as the command line received them
// and as metrics.jsonl lines, and a final/ checkpoint of finite tensors. It returns the
// run and the metrics lines, which writeMetrics writes; a test breaks one thing in either.
func craftedRun(t *testing.T) (*smokeRun, []map[string]any) {
	t.Helper()
	dir := t.TempDir()
	final := filepath.Join(dir, "final")
	writeCrafted(t, final, float32(0.25))
	stats := func(learned float64) *adapter.Stats {
		return &adapter.Stats{WeightMean: 0.004, WeightStd: 0.06, WeightMin: -0.01, WeightMax: 1.01,
			BaseIdentityDeviation: 0.001, LLMFeaturesLearned: learned}
	}
	rollouts := []ppo.RolloutMetrics{
		{Timesteps: 128, Iterations: 1, Loss: 0.5, LearningRate: 3e-4, Adapter: stats(0.001)},
		{Timesteps: 256, Iterations: 2, Loss: 0.4, LearningRate: 3e-4, Adapter: stats(0.002)},
	}
	evals := []ppo.EvalMetrics{{Timesteps: 256, Episodes: 1, MeanReward: -1.5, MeanLength: 390}}
	var lines []map[string]any
	for _, m := range rollouts {
		a := m.Adapter
		lines = append(lines, map[string]any{
			"kind": "rollout", "time/total_timesteps": m.Timesteps, "time/iterations": m.Iterations,
			"train/loss": m.Loss, "train/learning_rate": m.LearningRate, "train/early_stop": false,
			"adapter/weight_mean": a.WeightMean, "adapter/weight_std": a.WeightStd,
			"adapter/weight_min": a.WeightMin, "adapter/weight_max": a.WeightMax,
			"adapter/bias_mean": a.BiasMean, "adapter/bias_std": a.BiasStd,
			"adapter/base_identity_deviation": a.BaseIdentityDeviation,
			"adapter/llm_features_learned":    a.LLMFeaturesLearned,
		})
	}
	for _, m := range evals {
		lines = append(lines, map[string]any{
			"kind": "eval", "time/total_timesteps": m.Timesteps, "eval/episodes": m.Episodes,
			"eval/mean_reward": m.MeanReward, "eval/masked_actions": m.MaskedActions, "eval/best": true,
		})
	}
	last := evals[0] // a copy: the Result's evaluation and the reported one are tampered apart
	res := &ppo.Result{
		RunDir: dir, Final: final, Timesteps: 256, Finished: true, Rollouts: 2,
		AdapterReports: 2, Finite: true, Evals: 1, LastEval: &last,
	}
	return &smokeRun{result: res, seen: &smokeRecorder{next: nopRecorder{}, rollouts: rollouts, evals: evals}}, lines
}

// writeCrafted writes a small checkpoint at dir whose parameter w holds x and whose
// optimizer and normaliser tensors are finite.
func writeCrafted(t *testing.T, dir string, x float32) {
	t.Helper()
	c := &policy.Checkpoint{
		Model: []policy.NamedTensor{
			{Name: "w", Shape: []int{3}, F32: []float32{0.5, x, -0.5}},
			{Name: "obs_rms.var", Shape: []int{2}, F64: []float64{1, 2}},
		},
		Optimizer: []policy.NamedTensor{
			{Name: "w.exp_avg", Shape: []int{3}, F32: []float32{0, 0.1, 0}},
			{Name: "step", Shape: []int{}, I64: []int64{2}},
		},
	}
	if err := policy.WriteCheckpoint(dir, c); err != nil {
		t.Fatal(err)
	}
}

// writeMetrics writes lines as the run's metrics.jsonl.
func writeMetrics(t *testing.T, r *smokeRun, lines []map[string]any) {
	t.Helper()
	var b []byte
	for _, l := range lines {
		j, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		b = append(append(b, j...), '\n')
	}
	if err := os.WriteFile(filepath.Join(r.result.RunDir, ppo.MetricsFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSmokeChecksPass: the crafted run passes finite, masks and adapter, so that each case
// of TestSmokeChecksFail fails for the one thing it breaks.
func TestSmokeChecksPass(t *testing.T) {
	r, lines := craftedRun(t)
	writeMetrics(t, r, lines)
	for _, c := range []struct {
		name  string
		check func(context.Context, *smokeRun) (string, error)
		want  string
	}{
		// 5 values in final/model.safetensors + 3 in the optimizer's float tensor.
		{"finite", checkFinite, "no NaN or Inf in 2 rollouts' and 1 evaluations' metrics (as reported and in metrics.jsonl) or in final/'s 8 values"},
		{"masks", checkMasks, "0 masked actions in training and in 1 evaluations"},
		{"adapter", checkAdapter, "8 finite statistics in all 2 rollouts (as reported and in metrics.jsonl)"},
	} {
		got, err := c.check(context.Background(), r)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want PASS %q", c.name, got, err, c.want)
		}
	}
}

// TestSmokeChecksFail breaks one thing in the crafted run per case and expects the check
// that claims to cover it to FAIL, naming what it found.
func TestSmokeChecksFail(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	type tamper func(t *testing.T, r *smokeRun, lines []map[string]any) []map[string]any
	cases := []struct {
		name   string
		check  func(context.Context, *smokeRun) (string, error)
		tamper tamper
		want   string
	}{
		// finite: the trainer's own stop, then each place a NaN or Inf could reach the user.
		{"finite: trainer stopped on a NaN", checkFinite, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.trainErr = &ppo.NonFiniteError{Update: 3, Timesteps: 256, What: "loss", Err: policy.ErrNonFinite}
			return l
		}, "training stopped on a non-finite value: ppo: update 3 (timesteps 256): non-finite loss"},
		{"finite: NaN in a reported rollout metric", checkFinite, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.seen.rollouts[1].Loss = nan
			return l
		}, "1 non-finite values, first rollout 2: Loss = NaN"},
		{"finite: Inf in a reported adapter statistic", checkFinite, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.seen.rollouts[0].Adapter.WeightStd = inf
			return l
		}, "first rollout 1 adapter: WeightStd = +Inf"},
		{"finite: NaN in a reported evaluation", checkFinite, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.seen.evals[0].MeanReward = nan
			return l
		}, "first evaluation at 256: MeanReward = NaN"},
		{"finite: NaN in the last evaluation", checkFinite, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.result.LastEval.StdReward = nan
			return l
		}, "first last evaluation: StdReward = NaN"},
		{"finite: null in metrics.jsonl", checkFinite, func(_ *testing.T, _ *smokeRun, l []map[string]any) []map[string]any {
			l[1]["train/loss"] = nil // how ppo writes a NaN
			return l
		}, "first metrics.jsonl:2: train/loss = null (a NaN or Inf)"},
		{"finite: number out of range in metrics.jsonl", checkFinite, func(_ *testing.T, _ *smokeRun, l []map[string]any) []map[string]any {
			l[2]["eval/mean_reward"] = json.RawMessage("1e999")
			return l
		}, "first metrics.jsonl:3: eval/mean_reward = 1e999 (not a finite float64)"},
		{"finite: a line missing from metrics.jsonl", checkFinite, func(_ *testing.T, _ *smokeRun, l []map[string]any) []map[string]any {
			return l[:2]
		}, "metrics.jsonl has 2 rollout and 0 eval lines, the run had 2 rollouts and 1 evaluations"},
		{"finite: NaN in a final parameter", checkFinite, func(t *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			writeCrafted(t, r.result.Final, float32(nan))
			return l
		}, "first final/model.safetensors: w[1] = NaN"},
		{"finite: the trainer's flag", checkFinite, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.result.Finite = false
			return l
		}, "the trainer saw a NaN or Inf"},

		// masks: a masked action counted in training, in a reported evaluation, in the log.
		{"masks: in training", checkMasks, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.result.InvalidActions = 2
			return l
		}, "masked actions taken: 2 in training, 0 in 1 evaluations (0 in metrics.jsonl)"},
		{"masks: in a reported evaluation", checkMasks, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.seen.evals[0].MaskedActions = 1
			return l
		}, "masked actions taken: 0 in training, 1 in 1 evaluations (0 in metrics.jsonl)"},
		{"masks: in metrics.jsonl", checkMasks, func(_ *testing.T, _ *smokeRun, l []map[string]any) []map[string]any {
			l[2]["eval/masked_actions"] = 3
			return l
		}, "masked actions taken: 0 in training, 0 in 1 evaluations (3 in metrics.jsonl)"},
		{"masks: not in metrics.jsonl", checkMasks, func(_ *testing.T, _ *smokeRun, l []map[string]any) []map[string]any {
			delete(l[2], "eval/masked_actions")
			return l
		}, "metrics.jsonl:3: eval/masked_actions: missing or null"},

		// adapter: statistics missing or not finite in the trainer's count, the reports,
		// the log.
		{"adapter: trainer's count", checkAdapter, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.result.AdapterReports = 1
			return l
		}, "adapter statistics in 1 of 2 rollouts (trainer's count)"},
		{"adapter: a rollout not reported", checkAdapter, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.seen.rollouts = r.seen.rollouts[:1]
			return l
		}, "1 of 2 rollouts reported to the command line"},
		{"adapter: reported without statistics", checkAdapter, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.seen.rollouts[1].Adapter = nil
			return l
		}, "rollout 2: no adapter statistics reported"},
		{"adapter: a NaN statistic reported", checkAdapter, func(_ *testing.T, r *smokeRun, l []map[string]any) []map[string]any {
			r.seen.rollouts[0].Adapter.LLMFeaturesLearned = nan
			return l
		}, "non-finite adapter statistic: rollout 1: LLMFeaturesLearned = NaN"},
		{"adapter: a statistic missing from metrics.jsonl", checkAdapter, func(_ *testing.T, _ *smokeRun, l []map[string]any) []map[string]any {
			delete(l[1], "adapter/bias_std")
			return l
		}, "metrics.jsonl:2: no adapter/bias_std"},
		{"adapter: a null statistic in metrics.jsonl", checkAdapter, func(_ *testing.T, _ *smokeRun, l []map[string]any) []map[string]any {
			l[0]["adapter/weight_max"] = nil
			return l
		}, "metrics.jsonl:1: adapter/weight_max = null (a NaN or Inf)"},
		{"adapter: a rollout line missing", checkAdapter, func(_ *testing.T, _ *smokeRun, l []map[string]any) []map[string]any {
			return l[1:]
		}, "metrics.jsonl has 1 rollout lines, the run had 2 rollouts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, lines := craftedRun(t)
			writeMetrics(t, r, tc.tamper(t, r, lines))
			got, err := tc.check(context.Background(), r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got PASS %q / FAIL %v; want FAIL containing %q", got, err, tc.want)
			}
		})
	}
}

// TestTestHelpOut: test's --out help gives test's own default, a temporary directory, not
// train's runs/<phase>-<market>-<UTC time>/.
func TestTestHelpOut(t *testing.T) {
	a := newTestApp(t)
	if code := a.run("test", "--help"); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var line string
	for l := range strings.SplitSeq(a.out.String(), "\n") {
		if strings.Contains(l, "--out ") {
			line = l
		}
	}
	if !strings.Contains(line, "empty means a temporary directory") || strings.Contains(line, "runs/") {
		t.Errorf("test --help: --out line %q, want test's default (a temporary directory)", line)
	}
}
