package ppo

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"hybridtrain/internal/device"
	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// synthNQ is six synthetic NQ sessions: four train (the first lacks warm-up history, so
// three can start an episode), two validate.
func synthNQ(t testing.TB, sessions int) *env.Dataset {
	t.Helper()
	inst, ok := env.BuiltinInstrument("NQ")
	if !ok {
		t.Fatal("no built-in NQ")
	}
	ds, err := env.Synthesize(inst, sessions, 7)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// tradingSetup is a tiny run on the trading env: the same code path as the command line's.
func tradingSetup(t testing.TB, ds *env.Dataset, phase int) Setup {
	t.Helper()
	c := DefaultConfig()
	c.TotalTimesteps, c.NEnvs, c.NSteps, c.BatchSize, c.NEpochs = 512, 2, 128, 64, 2
	c.EvalFreq, c.NEvalEpisodes, c.SaveFreq = 256, 1, 256
	c.AdapterWarmupSteps = 256
	pc := policy.DefaultConfig()
	pc.PiLayers, pc.VfLayers = []int{32}, []int{32}
	return Setup{
		Phase: phase, Market: "NQ", Dataset: ds, Env: env.DefaultConfig(), Policy: pc, PPO: c,
		Device: device.CPU, RunDir: filepath.Join(t.TempDir(), "run"), ConfigYAML: []byte("market: NQ\n"),
		ToolVersion: "test",
	}
}

// TestTradingSmoke runs Phase 2, then Phase 3 transferred from it (warm-up, flat pass over
// the training sessions), on synthetic bars, and checks what `hybridtrain test` checks:
// finished, finite, no masked action in training or evaluation, adapter statistics every
// rollout, an evaluation on the validation split, and a final checkpoint that reloads to
// the same deterministic actions.
func TestTradingSmoke(t *testing.T) {
	ds := synthNQ(t, 6)
	var base string
	for _, phase := range []int{2, 3} {
		s := tradingSetup(t, ds, phase)
		if phase == 3 {
			s.BaseDir = base
		}
		res, err := Train(context.Background(), s, nil)
		if err != nil {
			t.Fatalf("phase %d: %v", phase, err)
		}
		if !res.Finished || !res.Finite || res.Timesteps != 512 {
			t.Fatalf("phase %d: finished %v, finite %v at %d timesteps", phase, res.Finished, res.Finite, res.Timesteps)
		}
		if res.InvalidActions != 0 || res.LastEval == nil || res.LastEval.MaskedActions != 0 || res.Evals != 2 {
			t.Errorf("phase %d: %d masked actions in training, last evaluation %+v, %d evaluations; want 0, 0 masked, 2",
				phase, res.InvalidActions, res.LastEval, res.Evals)
		}
		wantReports := int64(0)
		if phase == 3 {
			wantReports = res.Rollouts
		}
		if res.AdapterReports != wantReports {
			t.Errorf("phase %d: adapter statistics in %d of %d rollouts, want %d", phase, res.AdapterReports, res.Rollouts, wantReports)
		}
		m, err := LoadModel(res.Final)
		if err != nil {
			t.Fatalf("phase %d: %v", phase, err)
		}
		// Roundtrip on validation observations.
		_, val := ds.SplitSessions(s.Env.TrainFraction)
		v, err := env.NewVec(ds, s.Env, env.Options{Sessions: val, Mode: env.ModeOrdered, ObsDim: m.ObsDim()}, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		b := env.NewBatch(1, m.ObsDim(), env.NumActions)
		v.Reset(b)
		a, c := []int32{0}, []int32{0}
		for k := range 64 {
			if err := m.Act(b.Obs, b.Masks, 1, a); err != nil {
				t.Fatal(err)
			}
			if err := res.Model.Act(b.Obs, b.Masks, 1, c); err != nil {
				t.Fatal(err)
			}
			if a[0] != c[0] {
				t.Fatalf("phase %d: observation %d: reloaded model acts %d, trained model %d", phase, k, a[0], c[0])
			}
			v.Step(a, b)
		}
		v.Close()
		if phase == 3 {
			// The context statistics started from the flat pass over the training sessions
			// (several hundred bars each) before 512 training observations were added; the
			// base block kept the base's count.
			bt, got := tensorsByName(t, base), tensorsByName(t, res.Final)
			bc, gc := bt["obs_rms.count"].F64, got["obs_rms.count"].F64
			t.Logf("obs_rms.count: base block %g (base %g), context block %g", gc[0], bc[0], gc[env.BaseObsDim])
			if gc[0] != bc[0] || !(gc[env.BaseObsDim] > 512+1000) {
				t.Errorf("obs_rms.count: base block %g (base %g), context block %g; want the base's, and > 1,512", gc[0], bc[0], gc[env.BaseObsDim])
			}
		}
		if phase == 2 {
			base = res.Final
		}
	}
}

func TestTrainRejectsBadSetup(t *testing.T) {
	ds := synthNQ(t, 6)
	for _, tc := range []struct {
		key    string
		change func(*Setup)
	}{
		{"phase", func(s *Setup) { s.Phase = 4 }},
		{"base", func(s *Setup) { s.Phase, s.BaseDir = 2, "somewhere" }},
		{"batch_size", func(s *Setup) { s.PPO.BatchSize = 1 << 20 }},
		{"train_fraction", func(s *Setup) { s.Env.TrainFraction = 1 }},
		{"out", func(s *Setup) { s.RunDir = "" }},
		{"pi_layers", func(s *Setup) { s.Policy.PiLayers = nil }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			s := tradingSetup(t, ds, 3)
			tc.change(&s)
			_, err := Train(context.Background(), s, nil)
			if tc.key == "pi_layers" {
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "pi_layers") {
					t.Fatalf("err = %v, want an ErrConfig naming pi_layers", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key {
				t.Fatalf("err = %v, want a *ConfigError naming %s", err, tc.key)
			}
		})
	}
}

// TestResumeRejectsChangedInstrument: the instrument (point value, tick size, commission,
// slippage, zone and session times, which a configuration's `instruments` section may
// override) defines the environment as much as the env keys do; a resumed run that changes
// it is a configuration error naming the instrument key, like any other setting but
// total_timesteps, eval_freq and save_freq. The unchanged instrument resumes.
func TestResumeRejectsChangedInstrument(t *testing.T) {
	ds := synthNQ(t, 6)
	s := tradingSetup(t, ds, 2)
	s.PPO.TotalTimesteps = 256
	res, err := Train(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	resume := func(d *env.Dataset) error {
		r := tradingSetup(t, d, 2)
		r.PPO.TotalTimesteps = 512
		r.RunDir, r.ResumeDir = "", res.Final
		_, err := Train(context.Background(), r, nil)
		return err
	}
	changed := *ds
	changed.Instrument.CommissionPerSide += 1
	var ce *ConfigError
	if err := resume(&changed); !errors.As(err, &ce) || ce.Key != "instruments.NQ.commission_per_side" {
		t.Fatalf("resume with commission_per_side %g (trained with %g): err = %v, want a *ConfigError naming instruments.NQ.commission_per_side",
			changed.Instrument.CommissionPerSide, ds.Instrument.CommissionPerSide, err)
	}
	if err := resume(ds); err != nil {
		t.Fatalf("resume with the same instrument: %v", err)
	}
}
