package sb3

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"hybridtrain/internal/policy"
)

// The fixtures are made by testdata/make_fixtures.py with PyTorch 1.13 and numpy 1.24
// (see its docstring); expected.json holds PyTorch's outputs on the rows of obs.csv.

// expected is testdata/expected.json.
type expected struct {
	ObsNorm [][]float64 `json:"obs_norm"`
	Masks   [][]int     `json:"masks"`
	ObsRMS  struct {
		Mean  []float64 `json:"mean"`
		Var   []float64 `json:"var"`
		Count float64   `json:"count"`
	} `json:"obs_rms"`
	RetRMS struct {
		Mean  float64 `json:"mean"`
		Var   float64 `json:"var"`
		Count float64 `json:"count"`
	} `json:"ret_rms"`
	Models map[string]expectedModel `json:"-"`
}

type expectedModel struct {
	Logits        [][]float64 `json:"logits"`
	Values        []float64   `json:"values"`
	Probs         [][]float64 `json:"probs"`
	Actions       []int       `json:"actions"`
	ProbsMasked   [][]float64 `json:"probs_masked"`
	ActionsMasked []int       `json:"actions_masked"`
	Pi            []int       `json:"pi"`
	Vf            []int       `json:"vf"`
	Timesteps     int64       `json:"timesteps"`
}

func loadExpected(t testing.TB) *expected {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	var models map[string]json.RawMessage
	if err := json.Unmarshal(data, &models); err != nil {
		t.Fatal(err)
	}
	e.Models = map[string]expectedModel{}
	for _, name := range []string{"relu", "tanh"} {
		var m expectedModel
		if err := json.Unmarshal(models[name], &m); err != nil {
			t.Fatal(err)
		}
		e.Models[name] = m
	}
	return &e
}

// loadObs reads testdata/obs.csv: rows of raw float32 observations.
func loadObs(t testing.TB) ([]float32, int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "obs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	rows := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		for f := range strings.SplitSeq(line, ",") {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, float32(x))
		}
		rows++
	}
	return out, rows
}

// close reports |got - want| <= 1e-4 (1 + |want|), the tolerance of every comparison with
// PyTorch (float32 networks; PyTorch's GEMM sums in another order than ours).
func closeTo(got, want float64) bool { return math.Abs(got-want) <= 1e-4*(1+math.Abs(want)) }

func fixture(name string) string { return filepath.Join("testdata", name) }

func mustModel(t testing.TB, name string) *Model {
	t.Helper()
	m, err := ReadModel(fixture(name), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustStats(t testing.TB, name string) *Stats {
	t.Helper()
	s, err := ReadVecNormalize(fixture(name), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReadModel reads both fixtures' network and data: architecture from the state
// dict's shapes, the activation from policy_kwargs (the tanh fixture names none: SB3's
// default), progress and hyperparameters.
func TestReadModel(t *testing.T) {
	e := loadExpected(t)
	for _, tc := range []struct {
		name, activation string
		isDefault        bool
		lr               any // nil: a schedule
	}{
		{"relu", policy.ActivationReLU, false, nil},
		{"tanh", policy.ActivationTanh, true, 0.0003},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustModel(t, tc.name+".zip")
			want := e.Models[tc.name]
			if !slices.Equal(m.PiLayers, want.Pi) || !slices.Equal(m.VfLayers, want.Vf) {
				t.Errorf("layers: got pi %v vf %v, want %v %v", m.PiLayers, m.VfLayers, want.Pi, want.Vf)
			}
			if m.Activation != tc.activation || m.ActivationDefault != tc.isDefault {
				t.Errorf("activation: got %q (default %v), want %q (%v)", m.Activation, m.ActivationDefault, tc.activation, tc.isDefault)
			}
			if m.Timesteps != want.Timesteps || m.Seed != 42 || m.SB3Version != "2.3.2" ||
				m.PolicyModule != "sb3_contrib.common.maskable.policies" || m.Converted != "" {
				t.Errorf("got timesteps %d, seed %d, version %q, policy %q, converted %q",
					m.Timesteps, m.Seed, m.SB3Version, m.PolicyModule, m.Converted)
			}
			hyper := map[string]any{}
			for _, h := range m.Hyper {
				hyper[h.Key] = h.Value
			}
			// make_fixtures.py's data_json: PPO settings of the original's Phase 2.
			for k, v := range map[string]any{"learning_rate": tc.lr, "n_steps": int64(2048), "batch_size": int64(512),
				"n_epochs": int64(5), "gamma": 0.99, "ent_coef": 0.06, "vf_coef": 0.25, "target_kl": 0.0,
				"normalize_advantage": true, "n_envs": int64(4), "seed": int64(42), "clip_range": nil} {
				if got, ok := hyper[k]; !ok || got != v {
					t.Errorf("hyperparameter %s: got %v (present %v), want %v", k, got, ok, v)
				}
			}
			// Names in state-dict order, PyTorch's orientation.
			if first := m.Tensors[0]; first.Name != "mlp_extractor.policy_net.0.weight" || !slices.Equal(first.Shape, []int{want.Pi[0], 228}) {
				t.Errorf("first tensor %s %v", first.Name, first.Shape)
			}
		})
	}
}

// TestVecNormalizeFormats reads the same statistics from pickles of protocols 2, 4 and 5
// under numpy 1 and numpy 2 module paths: each equals numpy's values exactly.
func TestVecNormalizeFormats(t *testing.T) {
	e := loadExpected(t)
	for _, np := range []string{"", "np2_"} {
		for _, proto := range []int{2, 4, 5} {
			name := "vecnormalize_" + np + "p" + strconv.Itoa(proto) + ".pkl"
			t.Run(name, func(t *testing.T) {
				s := mustStats(t, name)
				if !slices.Equal(s.ObsMean, e.ObsRMS.Mean) || !slices.Equal(s.ObsVar, e.ObsRMS.Var) || s.ObsCount != e.ObsRMS.Count {
					t.Errorf("obs_rms differs from numpy's (count %v, want %v)", s.ObsCount, e.ObsRMS.Count)
				}
				if s.RetMean != e.RetRMS.Mean || s.RetVar != e.RetRMS.Var || s.RetCount != e.RetRMS.Count {
					t.Errorf("ret_rms: got %v %v %v, want %v %v %v", s.RetMean, s.RetVar, s.RetCount, e.RetRMS.Mean, e.RetRMS.Var, e.RetRMS.Count)
				}
				if !s.NormObs || !s.NormReward || !s.Training || s.ClipObs != 10 || s.ClipReward != 10 || s.Epsilon != 1e-8 || s.Gamma != 0.99 {
					t.Errorf("settings: %+v", *s)
				}
			})
		}
	}
}

// TestMatchesPyTorch converts each fixture with the statistics and runs the checkpoint's
// policy on the normalised rows of obs.csv: normalised observations, logits, values,
// probabilities (unmasked and masked) and deterministic actions agree with PyTorch's
// within 1e-4 (1 + |want|).
func TestMatchesPyTorch(t *testing.T) {
	e := loadExpected(t)
	raw, rows := loadObs(t)
	stats := mustStats(t, "vecnormalize_p5.pkl")
	for _, name := range []string{"relu", "tanh"} {
		t.Run(name, func(t *testing.T) {
			c, err := Convert(mustModel(t, name+".zip"), stats, Info{Market: "NQ"})
			if err != nil {
				t.Fatal(err)
			}
			norm := normalize(t, c, raw, rows)
			for r := range rows {
				for j := range 228 {
					if g, w := float64(norm[r*228+j]), e.ObsNorm[r][j]; !closeTo(g, w) {
						t.Fatalf("row %d feature %d: normalised %v, numpy %v", r, j, g, w)
					}
				}
			}
			p, err := policy.FromCheckpoint(c)
			if err != nil {
				t.Fatal(err)
			}
			want := e.Models[name]
			var masks []bool
			for _, m := range e.Masks {
				for _, x := range m {
					masks = append(masks, x == 1)
				}
			}
			for _, tc := range []struct {
				masks   []bool
				probs   [][]float64
				actions []int
			}{{nil, want.Probs, want.Actions}, {masks, want.ProbsMasked, want.ActionsMasked}} {
				var out policy.ForwardResult
				if err := p.Forward(norm, tc.masks, rows, &out); err != nil {
					t.Fatal(err)
				}
				for r := range rows {
					if !closeTo(float64(out.Values[r]), want.Values[r]) {
						t.Errorf("row %d: value %v, PyTorch %v", r, out.Values[r], want.Values[r])
					}
					if int(out.Actions[r]) != tc.actions[r] {
						t.Errorf("row %d (masked %v): action %d, PyTorch %d", r, tc.masks != nil, out.Actions[r], tc.actions[r])
					}
					for j := range 6 {
						if g, w := float64(out.Logits[r*6+j]), want.Logits[r][j]; !closeTo(g, w) {
							t.Errorf("row %d: logit %d = %v, PyTorch %v", r, j, g, w)
						}
						if g, w := float64(out.Probs[r*6+j]), tc.probs[r][j]; !closeTo(g, w) {
							t.Errorf("row %d (masked %v): prob %d = %v, PyTorch %v", r, tc.masks != nil, j, g, w)
						}
					}
				}
			}
		})
	}
}

// normalize applies the checkpoint's observation statistics as this tool's trainer and
// ppo.Model do: clip((x - mean) / sqrt(var + 1e-8), -clip_obs, clip_obs) in float64.
func normalize(t *testing.T, c *policy.Checkpoint, raw []float32, rows int) []float32 {
	t.Helper()
	mean, _ := c.Tensor(obsMean)
	variance, _ := c.Tensor(obsVar)
	cfg := c.Meta.Config.(map[string]any)
	clip := cfg["clip_obs"].(float64)
	if cfg["norm_obs"] != true {
		t.Fatalf("norm_obs %v", cfg["norm_obs"])
	}
	out := make([]float32, len(raw))
	d := len(mean.F64)
	for i, x := range raw[:rows*d] {
		j := i % d
		v := (float64(x) - mean.F64[j]) / math.Sqrt(variance.F64[j]+1e-8)
		out[i] = float32(max(-clip, min(clip, v)))
	}
	return out
}

// TestConvertCheckpoint: the converted checkpoint is what this tool's Phase 2 training
// writes, less Adam's state and state.json: Phase 2 metadata, the weights bit for bit, the
// normalisers with SB3's one count on every feature. It survives WriteCheckpoint and
// ReadCheckpoint.
func TestConvertCheckpoint(t *testing.T) {
	e := loadExpected(t)
	m := mustModel(t, "relu.zip")
	c, err := Convert(m, mustStats(t, "vecnormalize_np2_p2.pkl"), Info{Market: "NQ", ToolVersion: "test", CreatedAt: "2025-01-02T03:04:05Z"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "imported")
	if err := policy.WriteCheckpoint(dir, c); err != nil {
		t.Fatal(err)
	}
	back, err := policy.ReadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	meta := back.Meta
	if meta.Phase != 2 || meta.Market != "NQ" || meta.ObsDim != 228 || meta.BaseObsDim != 228 || meta.NumActions != 6 ||
		meta.Arch.Activation != "relu" || meta.Arch.Adapter || !slices.Equal(meta.Arch.PiLayers, []int{5, 4}) ||
		meta.Timesteps != 123456 || meta.Seed != 42 || len(back.State) != 0 || len(back.Optimizer) != 0 {
		t.Errorf("metadata %+v, state %d bytes, %d optimizer tensors", meta, len(back.State), len(back.Optimizer))
	}
	cfg := meta.Config.(map[string]any)
	if cfg["norm_obs"] != true || cfg["clip_obs"] != 10.0 || cfg["phase"] != 2.0 || cfg["market"] != "NQ" {
		t.Errorf("metadata config %v", cfg)
	}
	for _, st := range m.Tensors {
		got, ok := back.Tensor(st.Name)
		if !ok || !slices.Equal(got.F32, st.F32) || !slices.Equal(got.Shape, st.Shape) {
			t.Errorf("tensor %s differs after the round trip", st.Name)
		}
	}
	count, _ := back.Tensor(obsCount)
	mean, _ := back.Tensor(obsMean)
	if len(count.F64) != 228 || count.F64[0] != e.ObsRMS.Count || count.F64[227] != e.ObsRMS.Count || !slices.Equal(mean.F64, e.ObsRMS.Mean) {
		t.Errorf("obs_rms: count %v, mean equal %v", count.F64[:1], slices.Equal(mean.F64, e.ObsRMS.Mean))
	}
	if rv, _ := back.Tensor(retVar); len(rv.F64) != 1 || rv.F64[0] != e.RetRMS.Var {
		t.Errorf("ret_rms.var %v, want [%v]", rv.F64, e.RetRMS.Var)
	}

	// Without statistics: norm_obs false, fresh statistics that the model never uses.
	c, err = Convert(m, nil, Info{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := c.Meta.Config.(map[string]any); cfg["norm_obs"] != false || c.Meta.Market != "" {
		t.Errorf("without statistics: config %v", cfg)
	}
}
