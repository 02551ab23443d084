package ppo

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hybridtrain/internal/adapter"
)

func TestRolloutLineKeysAndOrder(t *testing.T) {
	m := RolloutMetrics{Timesteps: 2048, Iterations: 1, FPS: 900, Elapsed: 2.5, Episodes: 3, EpRewMean: -1.5, EpLenMean: 400,
		ApproxKL: 0.01, Loss: 0.3, LearningRate: 3e-4, NUpdates: 10, ClipRange: 0.2, Minibatches: 80,
		HasExplainedVariance: true, ExplainedVariance: 0.25, Adapter: &adapter.Stats{LLMFeaturesLearned: 0.001}}
	got := string(rolloutLine(&m).end())
	wantPrefix := `{"kind":"rollout","time/total_timesteps":2048,"time/iterations":1,"time/fps":900,"time/time_elapsed":2.5,"rollout/ep_rew_mean":-1.5,"rollout/ep_len_mean":400,"train/approx_kl":0.01,`
	if !strings.HasPrefix(got, wantPrefix) {
		t.Errorf("line starts\n%s\nwant\n%s", got, wantPrefix)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(got), &obj); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	for _, k := range []string{"train/explained_variance", "train/learning_rate", "train/n_updates", "adapter/llm_features_learned", "adapter/base_identity_deviation"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("key %s missing from %s", k, got)
		}
	}
	// Every key written is a documented one.
	for k := range obj {
		if k != "kind" && !contains(MetricsKeys, k) {
			t.Errorf("key %s is not in MetricsKeys", k)
		}
	}

	// No episode yet, undefined explained variance, Phase 2: those keys are absent.
	m = RolloutMetrics{Timesteps: 1}
	got = string(rolloutLine(&m).end())
	for _, k := range []string{"rollout/ep_rew_mean", "train/explained_variance", "adapter/"} {
		if strings.Contains(got, k) {
			t.Errorf("%s present in %s", k, got)
		}
	}
}

func TestLineFlagsNonFinite(t *testing.T) {
	m := RolloutMetrics{Loss: math.NaN()}
	l := rolloutLine(&m)
	if l.nonFiniteKey != "train/loss" {
		t.Errorf("non-finite key = %q, want train/loss", l.nonFiniteKey)
	}
	if !json.Valid(l.end()) {
		t.Errorf("line with a NaN is not valid JSON: %s", l.end())
	}
}

func TestTruncateMetricsDropsLinesPastCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	content := `{"kind":"rollout","time/total_timesteps":2048}
{"kind":"rollout","time/total_timesteps":4096}
{"kind":"eval","time/total_timesteps":4096}
{"kind":"rollout","time/total_timesteps":6144}
{"kind":"rollout","time/total_t`
	os.WriteFile(path, []byte(content), 0o644)
	if err := truncateMetrics(path, 4096); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := `{"kind":"rollout","time/total_timesteps":2048}
{"kind":"rollout","time/total_timesteps":4096}
{"kind":"eval","time/total_timesteps":4096}
`
	if string(got) != want {
		t.Errorf("after truncation:\n%s\nwant\n%s", got, want)
	}

	os.WriteFile(path, []byte("{\"kind\":\"rollout\",\"time/total_timesteps\":1}\nnot json\n{\"time/total_timesteps\":2}\n"), 0o644)
	err := truncateMetrics(path, 10)
	if err == nil || !strings.Contains(err.Error(), "metrics.jsonl:2") {
		t.Errorf("corrupt middle line: err = %v, want one naming metrics.jsonl:2", err)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
