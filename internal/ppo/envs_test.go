package ppo

import (
	"errors"
	"slices"
	"testing"

	"hybridtrain/internal/env"
)

// TestTradingEnvsSessionRange: first_session and last_session confine a run to their
// sessions: train_fraction splits those, and the training, evaluation and flat-pass envs
// step nothing outside them. A range without sessions, or without a validation session,
// is a configuration error naming the key.
func TestTradingEnvsSessionRange(t *testing.T) {
	ds := synthNQ(t, 20)
	cfg := env.DefaultConfig()
	cfg.FirstSession, cfg.LastSession = ds.Sessions[5].Date, ds.Sessions[14].Date // 10 sessions
	te, err := newTradingEnvs(ds, cfg, env.ObsDim, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(te.train, []int{5, 6, 7, 8, 9, 10, 11, 12}) || !slices.Equal(te.val, []int{13, 14}) {
		t.Fatalf("train %v, validation %v; want 5..12 and 13..14", te.train, te.val)
	}
	within := func(what string, e Env, allowed []int) {
		t.Helper()
		defer closeEnv(e)
		v := e.(*env.VecEnv)
		for i := range v.NumEnvs() {
			for _, s := range v.Env(i).Sessions() {
				if !slices.Contains(allowed, s) {
					t.Errorf("%s env %d may step session %d, outside %v", what, i, s, allowed)
				}
			}
		}
	}
	tr, err := te.Train(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	within("training", tr, te.train)
	ev, err := te.Eval()
	if err != nil {
		t.Fatal(err)
	}
	within("evaluation", ev, te.val)
	fl, _, err := te.Flat()
	if err != nil {
		t.Fatal(err)
	}
	within("flat pass", fl, te.train)

	for _, tc := range []struct {
		first, last, key string
	}{
		{"2030-01-01", "", "first_session"},
		{ds.Sessions[3].Date, ds.Sessions[3].Date, "train_fraction"},
	} {
		c := cfg
		c.FirstSession, c.LastSession = tc.first, tc.last
		_, err := newTradingEnvs(ds, c, env.ObsDim, 1)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != tc.key {
			t.Errorf("range %q..%q: err = %v, want a *ConfigError naming %s", tc.first, tc.last, err, tc.key)
		}
	}
}
