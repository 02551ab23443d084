package main

import (
	"bytes"
	"strings"
	"testing"

	"hybridtrain/internal/adapter"
	"hybridtrain/internal/ppo"
)

// lastRender is what a terminal shows after out: the text after the last carriage return
// that is not followed only by spaces (progressbar clears a line with spaces before it
// redraws it).
func lastRender(out string) string {
	parts := strings.Split(out, "\r")
	for i := len(parts) - 1; i >= 0; i-- {
		if strings.TrimSpace(parts[i]) != "" {
			return parts[i]
		}
	}
	return ""
}

// TestProgressBarShowsEachRollout: after each rollout the bar on a terminal shows that
// rollout's timesteps together with its mean episode reward and llm_features_learned (the
// description and the count used to be drawn by two calls, the second dropped by the
// bar's throttle, so the count lagged a rollout behind).
func TestProgressBarShowsEachRollout(t *testing.T) {
	var out bytes.Buffer
	r := &barRecorder{w: &out}
	r.Start(8192, 0)
	for i, m := range []ppo.RolloutMetrics{
		{Timesteps: 2048, Iterations: 1, FPS: 250, Episodes: 2, EpRewMean: -12.5, Adapter: &adapter.Stats{LLMFeaturesLearned: 0.00415}},
		{Timesteps: 4096, Iterations: 2, FPS: 260, Episodes: 5, EpRewMean: -10.25, Adapter: &adapter.Stats{LLMFeaturesLearned: 0.00569}},
	} {
		r.Rollout(m)
		got := lastRender(out.String())
		for _, want := range []string{
			[]string{"2048/8192", "4096/8192"}[i],
			[]string{"ep_rew_mean -12.5", "ep_rew_mean -10.25"}[i],
			[]string{"llm_features_learned 0.00415", "llm_features_learned 0.00569"}[i],
		} {
			if !strings.Contains(got, want) {
				t.Errorf("rollout %d: the bar shows %q, want it to contain %q", i+1, got, want)
			}
		}
	}
	r.Close()
}

// TestProgressBarRateOfAResumedRun: a run resumed at 4096 of 8192 timesteps shows the
// trainer's own rate and the ETA from it after its first rollout: 2048 steps left at 250
// steps/s is 8 s. (The bar's own rate counted the 4096 steps resumed from as if this
// process had just made them.)
func TestProgressBarRateOfAResumedRun(t *testing.T) {
	var out bytes.Buffer
	r := &barRecorder{w: &out}
	r.Start(8192, 4096)
	r.Rollout(ppo.RolloutMetrics{Timesteps: 6144, Iterations: 3, FPS: 250, Episodes: 1, EpRewMean: 1.5})
	got := lastRender(out.String())
	for _, want := range []string{"6144/8192", "250 steps/s", "ETA 8s", "ep_rew_mean 1.5", "llm_features_learned n/a"} {
		if !strings.Contains(got, want) {
			t.Errorf("the bar shows %q, want it to contain %q", got, want)
		}
	}
	r.Close()
}
