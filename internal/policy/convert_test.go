package policy

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"hybridtrain/internal/device"
)

// checkpointOf exports p into a container with the trainer's extra tensor (a normaliser
// statistic) that the policy must ignore.
func checkpointOf(t *testing.T, p *Policy) *Checkpoint {
	t.Helper()
	model, opt, err := p.ExportTensors()
	if err != nil {
		t.Fatal(err)
	}
	meta := p.Metadata()
	meta.Phase, meta.Market = 3, "NQ"
	model = append(model, NamedTensor{Name: "obs_rms.mean", Shape: []int{p.cfg.ObsDim}, F64: make([]float64, p.cfg.ObsDim)})
	return &Checkpoint{Meta: meta, Model: model, Optimizer: opt}
}

// TestPolicyCheckpointRoundTrip: save (through WriteCheckpoint/ReadCheckpoint) and load give
// identical parameters, Adam state and deterministic actions, and the next update of the
// loaded policy equals the original's bit for bit; a policy saved from the test device
// loads on the CPU with the same values. Tensors are in PyTorch's [out, in] orientation.
func TestPolicyCheckpointRoundTrip(t *testing.T) {
	onDevices(t, tinyConfig(), 130, 0.3, func(t *testing.T, p *Policy) {
		rng := newRNG(131)
		p.SetBaseFrozen(true) // the base has fewer Adam steps than the adapter
		if _, err := p.Update(randomMinibatch(t, p, rng, 16), defaultHP()); err != nil {
			t.Fatal(err)
		}
		p.SetBaseFrozen(false)
		if _, err := p.Update(randomMinibatch(t, p, rng, 16), defaultHP()); err != nil {
			t.Fatal(err)
		}
		c := checkpointOf(t, p)
		w, _ := c.Tensor("adapter.weight")
		ad := hostValues(t, p.Adapter().Weight())
		if !equalInts(w.Shape, []int{5, 7}) || w.F32[2*7+3] != ad[3*5+2] {
			t.Fatalf("adapter.weight: shape %v, [2][3] = %v; want [5 7] and W[3][2] = %v", w.Shape, w.F32[2*7+3], ad[3*5+2])
		}
		dir := filepath.Join(t.TempDir(), "ckpt")
		if err := WriteCheckpoint(dir, c); err != nil {
			t.Fatal(err)
		}
		c2, err := ReadCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		q, err := FromCheckpoint(c2)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.LoadOptimizer(c2); err != nil {
			t.Fatal(err)
		}
		if q.Device() != device.CPU {
			t.Fatalf("loaded on %s, want cpu", q.Device())
		}
		for i, x := range p.Params() {
			a, b := hostValues(t, x), hostValues(t, q.Params()[i])
			for k := range a {
				if math.Float32bits(a[k]) != math.Float32bits(b[k]) {
					t.Fatalf("%s[%d]: saved %v, loaded %v", x.Name, k, a[k], b[k])
				}
			}
			sa, sb := p.opt[x.Name], q.opt[x.Name]
			if sa.step != sb.step {
				t.Fatalf("%s: step %d, loaded %d", x.Name, sa.step, sb.step)
			}
			for _, pair := range [][2]*device.Buffer{{sa.m, sb.m}, {sa.v, sb.v}} {
				ha, _ := hostCopy(pair[0])
				hb, _ := hostCopy(pair[1])
				for k := range ha {
					if math.Float32bits(ha[k]) != math.Float32bits(hb[k]) {
						t.Fatalf("%s adam state [%d]: saved %v, loaded %v", x.Name, k, ha[k], hb[k])
					}
				}
			}
		}
		if p.opt["adapter.weight"].step != 2 || p.opt["action_net.weight"].step != 1 {
			t.Fatalf("step counts: adapter %d, action_net %d; want 2 and 1", p.opt["adapter.weight"].step, p.opt["action_net.weight"].step)
		}
		// Deterministic actions agree exactly.
		const rows = 256
		obs, masks := randomObs(rng, rows, 7), randomMasks(rng, rows, 4)
		var acts [2]*ActResult
		for i, x := range []*Policy{p, q} {
			acts[i] = &ActResult{Actions: make([]int32, rows), Values: make([]float32, rows), LogProbs: make([]float32, rows)}
			if err := x.Act(obs, masks, rows, true, nil, acts[i]); err != nil {
				t.Fatal(err)
			}
		}
		for r := 0; r < rows; r++ {
			if acts[0].Actions[r] != acts[1].Actions[r] {
				t.Fatalf("row %d: saved policy acts %d, loaded %d", r, acts[0].Actions[r], acts[1].Actions[r])
			}
		}
		if p.Device() != device.CPU {
			return // the continuation check below compares one backend with itself
		}
		mb := randomMinibatch(t, p, rng, 16)
		if _, err := p.Update(mb, defaultHP()); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Update(mb, defaultHP()); err != nil {
			t.Fatal(err)
		}
		for i, x := range p.Params() {
			a, b := hostValues(t, x), hostValues(t, q.Params()[i])
			for k := range a {
				if math.Float32bits(a[k]) != math.Float32bits(b[k]) {
					t.Fatalf("after a resumed update %s[%d]: original %v, loaded %v", x.Name, k, a[k], b[k])
				}
			}
		}
	})
}

func TestFromCheckpointErrors(t *testing.T) {
	p := mustNew(t, tinyConfig(), 140)
	tests := []struct {
		name string
		f    func(c *Checkpoint)
		want string
	}{
		{"obs_dim", func(c *Checkpoint) { c.Meta.ObsDim = 8 }, "metadata obs_dim"},
		{"base_obs_dim", func(c *Checkpoint) { c.Meta.BaseObsDim = 4 }, "metadata base_obs_dim"},
		{"num_actions", func(c *Checkpoint) { c.Meta.NumActions = 5 }, "metadata num_actions"},
		{"pi width", func(c *Checkpoint) { c.Meta.Arch.PiLayers = []int{6, 7} }, "metadata architecture.pi_layers[1]"},
		{"vf width", func(c *Checkpoint) { c.Meta.Arch.VfLayers = []int{9} }, "metadata architecture.vf_layers[0]"},
		{"extra vf layer", func(c *Checkpoint) { c.Meta.Arch.VfLayers = []int{4, 4} }, `"mlp_extractor.value_net.2.weight" is missing`},
		{"missing pi layer", func(c *Checkpoint) { c.Meta.Arch.PiLayers = []int{6} }, `"mlp_extractor.policy_net.2.weight" is not part of the network`},
		{"empty vf", func(c *Checkpoint) { c.Meta.Arch.VfLayers = nil }, "architecture.vf_layers is empty"},
		{"adapter flag", func(c *Checkpoint) { c.Meta.Arch.Adapter = false }, "architecture.adapter is false"},
		{"activation", func(c *Checkpoint) { c.Meta.Arch.Activation = "gelu" }, `architecture.activation must be "relu" or "tanh", got "gelu"`},
		{"obs below base", func(c *Checkpoint) { c.Meta.ObsDim = 3 }, "obs_dim must be >= base_obs_dim"},
		{"dtype", func(c *Checkpoint) {
			for i := range c.Model {
				if c.Model[i].Name == "value_net.bias" {
					c.Model[i].F64, c.Model[i].F32 = []float64{0}, nil
				}
			}
		}, `"value_net.bias" has dtype "F64"`},
		{"missing tensor", func(c *Checkpoint) {
			c.Model = c.Model[1:]
		}, `"adapter.weight" is missing`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := checkpointOf(t, p)
			tc.f(c)
			_, err := FromCheckpoint(c)
			if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrCheckpoint containing %q", err, tc.want)
			}
		})
	}
	// Phase 2 checkpoints load as Phase 2 policies.
	p2 := mustNew(t, tinyPhase2(), 141)
	q, err := FromCheckpoint(checkpointOf(t, p2))
	if err != nil || q.Adapter() != nil || q.Config().ObsDim != 5 {
		t.Fatalf("phase 2 round trip: %v, adapter %v", err, q)
	}
}

func TestLoadOptimizerErrors(t *testing.T) {
	p := mustNew(t, tinyConfig(), 150)
	if _, err := p.Update(randomMinibatch(t, p, newRNG(151), 8), defaultHP()); err != nil {
		t.Fatal(err)
	}
	edit := func(name string, f func(*NamedTensor)) func(c *Checkpoint) {
		return func(c *Checkpoint) {
			for i := range c.Optimizer {
				if c.Optimizer[i].Name == name {
					f(&c.Optimizer[i])
				}
			}
		}
	}
	tests := []struct {
		name string
		f    func(c *Checkpoint)
		want string
	}{
		{"partial", func(c *Checkpoint) {
			var keep []NamedTensor
			for _, x := range c.Optimizer {
				if x.Name != "value_net.bias.step" {
					keep = append(keep, x)
				}
			}
			c.Optimizer = keep
		}, "value_net.bias needs"},
		{"shape", edit("action_net.weight.exp_avg", func(x *NamedTensor) { x.Shape = []int{6, 4} }), `"action_net.weight.exp_avg": shape [6 4], want [4 5]`},
		{"step", edit("adapter.bias.step", func(x *NamedTensor) { x.I64 = []int64{0} }), "step 0 must be in [1,"},
		{"unknown", func(c *Checkpoint) {
			c.Optimizer = append(c.Optimizer, NamedTensor{Name: "action_net.gamma.exp_avg", Shape: []int{1}, F32: []float32{0}})
		}, `"action_net.gamma.exp_avg" belongs to no parameter`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := checkpointOf(t, p)
			tc.f(c)
			q := clonePolicy(t, p)
			err := q.LoadOptimizer(c)
			if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrCheckpoint containing %q", err, tc.want)
			}
		})
	}
}
