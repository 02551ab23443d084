package policy

import (
	"math"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	mod := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{"default", DefaultConfig(), ""},
		{"phase 2", Phase2Config(), ""},
		{"tanh", mod(func(c *Config) { c.Activation = ActivationTanh }), ""},
		{"base dim", mod(func(c *Config) { c.BaseDim = 0 }), "base_obs_dim must be >= 1, got 0"},
		{"obs below base", mod(func(c *Config) { c.ObsDim = 100 }), "obs_dim must be >= base_obs_dim (228), got 100"},
		{"one action", mod(func(c *Config) { c.NumActions = 1 }), "num_actions must be >= 2, got 1"},
		{"no pi layers", mod(func(c *Config) { c.PiLayers = nil }), "pi_layers must list at least one"},
		{"no vf layers", mod(func(c *Config) { c.VfLayers = []int{} }), "vf_layers must list at least one"},
		{"zero pi width", mod(func(c *Config) { c.PiLayers = []int{64, 0} }), "pi_layers[1] must be >= 1, got 0"},
		{"negative vf width", mod(func(c *Config) { c.VfLayers = []int{-3} }), "vf_layers[0] must be >= 1, got -3"},
		{"activation", mod(func(c *Config) { c.Activation = "gelu" }), `activation must be "relu" or "tanh", got "gelu"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: got %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: got %v, want an error containing %q", err, tc.want)
			case err != nil && !strings.HasPrefix(err.Error(), "policy: "):
				t.Fatalf("error %q lacks the package prefix", err)
			}
			if tc.want != "" {
				if _, err := New(tc.cfg, newRNG(1)); err == nil {
					t.Fatalf("New accepted an invalid config")
				}
			}
		})
	}
}

// TestParamNamesAndShapes checks the SB3 state-dict names and the [in, out] shapes of the
// default Phase 3 network against the architecture of spec training.md §1.
func TestParamNamesAndShapes(t *testing.T) {
	p := mustNew(t, DefaultConfig(), 1)
	want := []struct {
		name  string
		shape []int
	}{
		{"adapter.weight", []int{261, 228}}, {"adapter.bias", []int{228}},
		{"mlp_extractor.policy_net.0.weight", []int{228, 512}}, {"mlp_extractor.policy_net.0.bias", []int{512}},
		{"mlp_extractor.policy_net.2.weight", []int{512, 256}}, {"mlp_extractor.policy_net.2.bias", []int{256}},
		{"mlp_extractor.policy_net.4.weight", []int{256, 128}}, {"mlp_extractor.policy_net.4.bias", []int{128}},
		{"mlp_extractor.value_net.0.weight", []int{228, 512}}, {"mlp_extractor.value_net.0.bias", []int{512}},
		{"mlp_extractor.value_net.2.weight", []int{512, 256}}, {"mlp_extractor.value_net.2.bias", []int{256}},
		{"mlp_extractor.value_net.4.weight", []int{256, 128}}, {"mlp_extractor.value_net.4.bias", []int{128}},
		{"action_net.weight", []int{128, 6}}, {"action_net.bias", []int{6}},
		{"value_net.weight", []int{128, 1}}, {"value_net.bias", []int{1}},
	}
	ps := p.Params()
	if len(ps) != len(want) {
		t.Fatalf("got %d parameters, want %d", len(ps), len(want))
	}
	for i, w := range want {
		if ps[i].Name != w.name || !equalInts(ps[i].Shape, w.shape) {
			t.Errorf("param %d: got %s %v, want %s %v", i, ps[i].Name, ps[i].Shape, w.name, w.shape)
		}
	}
	p2 := mustNew(t, Phase2Config(), 1)
	if got := p2.Params()[0].Name; got != "mlp_extractor.policy_net.0.weight" || p2.Adapter() != nil {
		t.Errorf("phase 2: first param %s, adapter %v; want mlp_extractor.policy_net.0.weight and no adapter", got, p2.Adapter())
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOrthogonalInit checks SB3's init: the [out, in] weight M has orthonormal rows (out
// <= in: M M^T = gain^2 I) or columns (out > in: M^T M = gain^2 I), with gain sqrt(2) for the
// MLPs, 0.01 for the action head and 1 for the value head; every bias is 0; the adapter is
// the identity; the same seed gives the same weights and another seed different ones.
func TestOrthogonalInit(t *testing.T) {
	cfg := Config{ObsDim: 12, BaseDim: 10, NumActions: 3, PiLayers: []int{16, 4}, VfLayers: []int{8},
		Activation: ActivationReLU}
	p := mustNew(t, cfg, 7)
	gains := map[string]float64{
		"mlp_extractor.policy_net.0.weight": math.Sqrt2, "mlp_extractor.policy_net.2.weight": math.Sqrt2,
		"mlp_extractor.value_net.0.weight": math.Sqrt2, "action_net.weight": 0.01, "value_net.weight": 1,
	}
	for _, x := range p.Params() {
		h := hostValues(t, x)
		if len(x.Shape) == 1 {
			for i, v := range h {
				if v != 0 {
					t.Fatalf("%s[%d] = %v, want 0", x.Name, i, v)
				}
			}
			continue
		}
		in, out := x.Shape[0], x.Shape[1]
		if x.Name == "adapter.weight" {
			for i := 0; i < in; i++ {
				for o := 0; o < out; o++ {
					want := float32(0)
					if i == o {
						want = 1
					}
					if h[i*out+o] != want {
						t.Fatalf("adapter.weight[%d][%d] = %v, want %v", i, o, h[i*out+o], want)
					}
				}
			}
			continue
		}
		g := gains[x.Name]
		// M[o][k] = h[k*out+o]. Gram over the smaller side.
		small, large := out, in
		at := func(a, b int) float64 { return float64(h[b*out+a]) } // rows of M
		if out > in {
			small, large = in, out
			at = func(a, b int) float64 { return float64(h[a*out+b]) } // columns of M
		}
		for a := 0; a < small; a++ {
			for b := 0; b < small; b++ {
				s := 0.0
				for k := 0; k < large; k++ {
					s += at(a, k) * at(b, k)
				}
				want := 0.0
				if a == b {
					want = g * g
				}
				if math.Abs(s-want) > 1e-5*math.Max(1, g*g) {
					t.Fatalf("%s: Gram[%d][%d] = %v, want %v", x.Name, a, b, s, want)
				}
			}
		}
	}
	q := mustNew(t, cfg, 7)
	r := mustNew(t, cfg, 8)
	for i, x := range p.Params() {
		a, b, c := hostValues(t, x), hostValues(t, q.Params()[i]), hostValues(t, r.Params()[i])
		same, diff := true, false
		for k := range a {
			same = same && a[k] == b[k]
			diff = diff || a[k] != c[k]
		}
		if !same {
			t.Errorf("%s: same seed gave different weights", x.Name)
		}
		if len(x.Shape) == 2 && x.Name != "adapter.weight" && !diff {
			t.Errorf("%s: another seed gave the same weights", x.Name)
		}
	}
}
