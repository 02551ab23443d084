package ppo

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// forwardOn runs the checkpoint in dir on raw observations and returns its logits and
// values.
func forwardOn(t *testing.T, dir string, obs []float32, masks []bool, rows int) (logits, values []float32) {
	t.Helper()
	m, err := LoadModel(dir)
	if err != nil {
		t.Fatalf("LoadModel(%s): %v", dir, err)
	}
	var out policy.ForwardResult
	if err := m.Forward(obs, masks, rows, &out); err != nil {
		t.Fatal(err)
	}
	return out.Logits, out.Values
}

// startedRun sets s up and stops it before its first rollout: interrupted/ then holds the
// state the run started from (timesteps 0).
func startedRun(t *testing.T, s Setup) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Train(ctx, s, nil)
	if !errors.Is(err, ErrInterrupted) || res == nil || res.Interrupted == "" {
		t.Fatalf("Train with an ended context: %v, want ErrInterrupted with interrupted/", err)
	}
	if res.Timesteps != 0 {
		t.Fatalf("interrupted at %d timesteps, want 0", res.Timesteps)
	}
	return res.Interrupted
}

// TestInitFromStartsFromTheCheckpoint: a run fine-tuned from a checkpoint starts from its
// exact weights and normaliser statistics (its outputs at step 0 equal the checkpoint's,
// bit for bit, on the same raw observations), with a fresh optimizer and counters, and
// records where it started in metadata.json and state.json; a resumed fine-tune keeps the
// record.
func TestInitFromStartsFromTheCheckpoint(t *testing.T) {
	src := baseRun(t) // Phase 2, norm_obs on, 512 timesteps
	spec := toySpec{kind: toyIdentity, nAct: 4, epLen: 50}
	c := toyConfig()
	c.TotalTimesteps, c.NormObs = 1024, true
	c.LearningRate = 1e-3 // another setting: allowed
	s := toySetup(t, spec, c)
	s.InitFrom = src.Final
	start := startedRun(t, s)

	want, got := tensorsByName(t, src.Final), tensorsByName(t, start)
	for name, w := range want {
		g := got[name]
		if !slices.Equal(g.F32, w.F32) || !slices.Equal(g.F64, w.F64) {
			t.Errorf("tensor %s differs from the checkpoint's", name)
		}
	}
	c0, err := policy.ReadCheckpoint(start)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range c0.Optimizer {
		for _, x := range o.F32 {
			if x != 0 {
				t.Fatalf("optimizer tensor %s is not fresh", o.Name)
			}
		}
		for _, x := range o.I64 {
			if x != 0 {
				t.Fatalf("optimizer tensor %s is not fresh", o.Name)
			}
		}
	}

	// Step-0 outputs: the env's first observations, raw.
	e := newToyEnv(spec, 4, 9)
	b := env.NewBatch(4, spec.obsDim(), spec.nAct)
	if err := e.Reset(b); err != nil {
		t.Fatal(err)
	}
	wl, wv := forwardOn(t, src.Final, b.Obs, b.Masks, 4)
	gl, gv := forwardOn(t, start, b.Obs, b.Masks, 4)
	if !slices.Equal(gl, wl) || !slices.Equal(gv, wv) {
		t.Errorf("step-0 outputs differ:\n logits %v\n   want %v\n values %v\n   want %v", gl, wl, gv, wv)
	}

	// The record.
	var meta struct {
		InitFrom *InitRecord `json:"init_from"`
	}
	data, _ := os.ReadFile(filepath.Join(start, policy.MetadataFile))
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	srcCk, err := policy.ReadCheckpoint(src.Final)
	if err != nil {
		t.Fatal(err)
	}
	wantRec := InitRecord{Dir: src.Final, Phase: 2, Market: "toy", Timesteps: 512, ModelSHA256: srcCk.Meta.Files[policy.ModelFile]}
	if meta.InitFrom == nil || *meta.InitFrom != wantRec {
		t.Errorf("metadata init_from = %+v, want %+v", meta.InitFrom, wantRec)
	}
	st, err := decodeState(start, c0.State)
	if err != nil {
		t.Fatal(err)
	}
	if st.Timesteps != 0 || st.Iterations != 0 || st.Settings.InitFrom == nil || *st.Settings.InitFrom != wantRec {
		t.Errorf("state.json: timesteps %d, iterations %d, init_from %+v", st.Timesteps, st.Iterations, st.Settings.InitFrom)
	}

	// Resumed (with no init_from given, and with another one given: neither is read), the
	// run trains its full total_timesteps and its final/ keeps the record.
	r := s
	r.RunDir, r.ResumeDir, r.InitFrom = "", start, filepath.Join(t.TempDir(), "moved")
	res := train(t, r)
	if res.Timesteps < c.TotalTimesteps {
		t.Fatalf("resumed fine-tune reached %d timesteps", res.Timesteps)
	}
	fc, err := policy.ReadCheckpoint(res.Final)
	if err != nil {
		t.Fatal(err)
	}
	data, _ = json.Marshal(fc.Meta.InitFrom)
	var rec InitRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec != wantRec {
		t.Errorf("final/ init_from = %s, want %+v", data, wantRec)
	}
}

// TestInitFromKeepsFrozenStatistics: fine-tuning a Phase 3 run transferred from a base keeps
// the base block of the normaliser frozen, as the transferred run had it.
func TestInitFromKeepsFrozenStatistics(t *testing.T) {
	base := baseRun(t)
	spec := toySpec{kind: toyContext, baseDim: 4, nAct: 4, epLen: 50}
	c := toyConfig()
	c.TotalTimesteps, c.NormObs, c.FreezeBaseNorm = 512, true, true
	s := toySetup(t, spec, c)
	s.BaseDir = base.Final
	p3 := train(t, s)

	s = toySetup(t, spec, c)
	s.InitFrom = p3.Final
	ck, err := policy.ReadCheckpoint(startedRun(t, s))
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeState("start", ck.State)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, true, true, true, false, false, false, false}
	if !slices.Equal(st.ObsFrozen, want) {
		t.Errorf("obs_frozen = %v, want %v", st.ObsFrozen, want)
	}
}

// TestInitFromRefusesAnotherNetwork: the checkpoint must be of the run's phase and
// architecture and normalise as the run does; each mismatch is a configuration error
// naming the key (exit 2); a missing checkpoint, or both init_from and base, are refused
// too.
func TestInitFromRefusesAnotherNetwork(t *testing.T) {
	p2 := baseRun(t)
	spec2 := toySpec{kind: toyIdentity, nAct: 4, epLen: 50}
	c := toyConfig()
	c.TotalTimesteps, c.NormObs = 256, true
	for _, tc := range []struct {
		name    string
		setup   func(*Setup)
		key     string // the *ConfigError's key; "" = a checkpoint error
		wantErr error
	}{
		{"Phase 2 checkpoint, Phase 3 run", func(s *Setup) {
			ctx := toySpec{kind: toyContext, baseDim: 4, nAct: 4, epLen: 50}
			*s = toySetup(t, ctx, c)
			s.InitFrom = p2.Final
		}, "phase", ErrConfig},
		{"pi_layers", func(s *Setup) { s.Policy.PiLayers = []int{16} }, "pi_layers", ErrConfig},
		{"vf_layers", func(s *Setup) { s.Policy.VfLayers = []int{32, 32} }, "vf_layers", ErrConfig},
		{"activation", func(s *Setup) { s.Policy.Activation = "tanh" }, "activation", ErrConfig},
		{"norm_obs", func(s *Setup) { s.PPO.NormObs = false }, "norm_obs", ErrConfig},
		{"with base", func(s *Setup) { s.BaseDir = p2.Final }, "init_from", ErrConfig},
		{"missing", func(s *Setup) { s.InitFrom = filepath.Join(t.TempDir(), "none") }, "", policy.ErrCheckpoint},
		{"a run directory", func(s *Setup) { s.InitFrom = p2.RunDir }, "", policy.ErrCheckpoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := toySetup(t, spec2, c)
			s.InitFrom = p2.Final
			tc.setup(&s)
			_, err := Train(context.Background(), s, nil)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want one wrapping %v", err, tc.wantErr)
			}
			var ce *ConfigError
			if tc.key != "" && (!errors.As(err, &ce) || ce.Key != tc.key) {
				t.Errorf("err = %v, want a *ConfigError naming %s", err, tc.key)
			}
			if entries, _ := os.ReadDir(s.RunDir); len(entries) != 0 {
				t.Errorf("a refused run wrote %d entries into its run directory", len(entries))
			}
		})
	}
}
