package ppo

import (
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hybridtrain/internal/policy"
)

func TestLoadModelErrors(t *testing.T) {
	c := toyConfig()
	c.TotalTimesteps, c.NormObs = 512, true
	res := train(t, toySetup(t, toySpec{kind: toyIdentity, nAct: 4, epLen: 50}, c))
	ck, err := policy.ReadCheckpoint(res.Final)
	if err != nil {
		t.Fatal(err)
	}
	rewrite := func(name string, edit func(*policy.Checkpoint)) string {
		dir := filepath.Join(t.TempDir(), name)
		cp := *ck
		cp.Model = append([]policy.NamedTensor(nil), ck.Model...)
		edit(&cp)
		if err := policy.WriteCheckpoint(dir, &cp); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, tc := range []struct {
		name, dir, want string
	}{
		{"missing", filepath.Join(t.TempDir(), "nothing"), ""},
		{"no obs_rms.count", rewrite("nocount", func(c *policy.Checkpoint) {
			for i, x := range c.Model {
				if x.Name == obsCountName {
					c.Model = append(c.Model[:i], c.Model[i+1:]...)
					break
				}
			}
		}), `"obs_rms.count"`},
		{"obs_rms.var negative", rewrite("negvar", func(c *policy.Checkpoint) {
			for i, x := range c.Model {
				if x.Name == obsVarName {
					v := append([]float64(nil), x.F64...)
					v[2] = -1
					c.Model[i].F64 = v
				}
			}
		}), "feature 2"},
		{"state.json not ours", rewrite("badstate", func(c *policy.Checkpoint) { c.State = []byte(`{"version": 99}`) }), "version 99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadModel(tc.dir)
			if !errors.Is(err, policy.ErrCheckpoint) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadModel = %v, want an error wrapping policy.ErrCheckpoint mentioning %q", err, tc.want)
			}
		})
	}
}

// TestModelActNormalizesRawObservations: Model.Act on raw observations equals the policy's
// argmax on observations normalised by hand with the checkpoint's statistics.
func TestModelActNormalizesRawObservations(t *testing.T) {
	c := toyConfig()
	c.TotalTimesteps, c.NormObs, c.ClipObs = 512, true, 3
	spec := toySpec{kind: toyContext, baseDim: 4, nAct: 4, epLen: 50}
	res := train(t, toySetup(t, spec, c))
	m, err := LoadModel(res.Final)
	if err != nil {
		t.Fatal(err)
	}
	tensors := tensorsByName(t, res.Final)
	mean, variance := tensors[obsMeanName].F64, tensors[obsVarName].F64
	raw := []float32{0.3, -2, 7, 1, 0, 0, 1, 0, -1, 0.5, 0.5, -9, 0, 1, 0, 0}
	want := make([]float32, len(raw))
	for k, x := range raw {
		j := k % 8
		z := (float64(x) - mean[j]) / math.Sqrt(variance[j]+1e-8)
		want[k] = float32(math.Max(-3, math.Min(3, z)))
	}
	norm := make([]float32, len(raw))
	m.Normalize(norm, raw, 2)
	for k := range want {
		if norm[k] != want[k] {
			t.Fatalf("normalised[%d] = %v, want %v", k, norm[k], want[k])
		}
	}
	masks := []bool{true, true, true, true, true, false, true, true}
	wantAct := policy.ActResult{Actions: make([]int32, 2), Values: make([]float32, 2), LogProbs: make([]float32, 2)}
	if err := m.Policy.Act(want, masks, 2, true, nil, &wantAct); err != nil {
		t.Fatal(err)
	}
	got := make([]int32, 2)
	if err := m.Act(raw, masks, 2, got); err != nil {
		t.Fatal(err)
	}
	if got[0] != wantAct.Actions[0] || got[1] != wantAct.Actions[1] {
		t.Errorf("Model.Act = %v, want %v (policy on hand-normalised observations)", got, wantAct.Actions)
	}
}

// TestModelOnlyCheckpointNormalisation: a checkpoint without state.json (what `import sb3`
// writes) normalises as its metadata's configuration says (norm_obs, clip_obs), else with
// the defaults; Forward gives what Act decides from, on the same normalised rows.
func TestModelOnlyCheckpointNormalisation(t *testing.T) {
	c := toyConfig()
	c.TotalTimesteps, c.NormObs, c.ClipObs = 512, true, 3
	res := train(t, toySetup(t, toySpec{kind: toyContext, baseDim: 4, nAct: 4, epLen: 50}, c))
	ck, err := policy.ReadCheckpoint(res.Final)
	if err != nil {
		t.Fatal(err)
	}
	modelOnly := func(name string, cfg any) string {
		dir := filepath.Join(t.TempDir(), name)
		cp := *ck
		cp.State, cp.Meta.Config = nil, cfg
		if err := policy.WriteCheckpoint(dir, &cp); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	raw := []float32{30, -20, 7, 1, 0, 0, 1, 0}
	for _, tc := range []struct {
		name    string
		cfg     any
		normObs bool
		clip    float64
	}{
		{"no configuration: defaults", nil, true, 10},
		{"clip_obs 2", map[string]any{"norm_obs": true, "clip_obs": 2.0}, true, 2},
		{"norm_obs false", map[string]any{"norm_obs": false}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadModel(modelOnly("m", tc.cfg))
			if err != nil {
				t.Fatal(err)
			}
			if m.normObs != tc.normObs || (tc.normObs && m.clipObs != tc.clip) {
				t.Errorf("norm_obs %v clip_obs %v, want %v %v", m.normObs, m.clipObs, tc.normObs, tc.clip)
			}
			norm := make([]float32, len(raw))
			m.Normalize(norm, raw, 1)
			var direct, viaModel policy.ForwardResult
			if err := m.Policy.Forward(norm, nil, 1, &direct); err != nil {
				t.Fatal(err)
			}
			if err := m.Forward(raw, nil, 1, &viaModel); err != nil {
				t.Fatal(err)
			}
			act := make([]int32, 1)
			if err := m.Act(raw, []bool{true, true, true, true}, 1, act); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(direct.Logits, viaModel.Logits) || viaModel.Actions[0] != act[0] {
				t.Errorf("Forward: logits %v, action %d; policy on normalised rows %v, Act %d",
					viaModel.Logits, viaModel.Actions[0], direct.Logits, act[0])
			}
		})
	}
	_, err = LoadModel(modelOnly("bad", map[string]any{"clip_obs": "ten"}))
	if !errors.Is(err, policy.ErrCheckpoint) || !strings.Contains(err.Error(), "config.clip_obs") {
		t.Errorf("clip_obs \"ten\": got %v, want a checkpoint error naming config.clip_obs", err)
	}
}
