package sb3

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/nlpodyssey/gopickle/types"

	"hybridtrain/internal/policy"
)

// The state dict of SB3's ActorCriticPolicy (and sb3-contrib's MaskableActorCriticPolicy)
// with separate MLPs and a Flatten features extractor, which has no weights:
//
//	mlp_extractor.policy_net.{0,2,4,...}.{weight,bias}   Linear layers of the pi MLP
//	mlp_extractor.value_net.{0,2,4,...}.{weight,bias}    Linear layers of the vf MLP
//	action_net.{weight,bias}                              [actions, last pi], [actions]
//	value_net.{weight,bias}                               [1, last vf], [1]
//
// The activations sit at the odd indices of the nn.Sequential and have no weights. This
// is exactly the naming of this tool's model.safetensors (internal/policy/net.go).

var (
	reMLP  = regexp.MustCompile(`^mlp_extractor\.(policy_net|value_net)\.(\d+)\.(weight|bias)$`)
	reHead = regexp.MustCompile(`^(action_net|value_net)\.(weight|bias)$`)
)

// stateDict converts the unpickled state dict (an OrderedDict of name -> tensor) to
// float32 tensors in its own order. converted names the element type when the weights
// were not float32.
func stateDict(v any, w where) (ts []policy.NamedTensor, converted string, err error) {
	od, ok := v.(*types.OrderedDict)
	if !ok {
		return nil, "", w.failf(ErrCorrupt, "", "the pickle holds a %T, want the policy's state dict (an OrderedDict)", v)
	}
	for e := od.List.Front(); e != nil; e = e.Next() {
		entry := e.Value.(*types.OrderedDictEntry)
		name, ok := entry.Key.(string)
		if !ok {
			return nil, "", w.failf(ErrCorrupt, "", "state dict key %T, want str", entry.Key)
		}
		t, ok := entry.Value.(*tensor)
		if !ok {
			return nil, "", w.failf(ErrCorrupt, name, "a %T, not a tensor", entry.Value)
		}
		if t.f32 == nil {
			return nil, "", w.failf(ErrUnsupported, name, "a tensor of %s: the policy's weights are floats", t.typ.name)
		}
		if t.typ.name != "float32" {
			converted = t.typ.name
		}
		for i, x := range t.f32 {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, "", w.failf(ErrValues, name, "element %d is %v", i, x)
			}
		}
		ts = append(ts, policy.NamedTensor{Name: name, Shape: slices.Clone(t.shape), F32: t.f32})
	}
	return ts, converted, nil
}

// architecture reads the network from the state dict's names and shapes: the hidden
// sizes of the pi and vf MLPs, which must take obsDim inputs and end in heads of
// numActions and 1 outputs. Any tensor that is not one of these is refused by name.
func architecture(ts []policy.NamedTensor, obsDim, numActions int, w where) (pi, vf []int, err error) {
	byName := map[string]policy.NamedTensor{}
	layers := map[string][]int{} // policy_net / value_net -> sequential indices of Linear layers
	for _, t := range ts {
		if _, dup := byName[t.Name]; dup {
			return nil, nil, w.failf(ErrCorrupt, t.Name, "appears twice in the state dict")
		}
		byName[t.Name] = t
		if m := reMLP.FindStringSubmatch(t.Name); m != nil {
			i, err := strconv.Atoi(m[2])
			if err != nil || i > 1<<16 {
				return nil, nil, w.failf(ErrUnsupported, t.Name, "layer index %s", m[2])
			}
			if m[3] == "weight" {
				layers[m[1]] = append(layers[m[1]], i)
			}
			continue
		}
		if reHead.MatchString(t.Name) {
			continue
		}
		return nil, nil, w.fail(ErrUnsupported, t.Name, unknownPart(t.Name))
	}

	// chain checks one MLP: Linear layers at 0, 2, 4, ..., each taking the previous one's
	// outputs, the first taking the observation.
	chain := func(net string) ([]int, error) {
		idx := layers[net]
		slices.Sort(idx)
		if len(idx) == 0 {
			return nil, w.failf(ErrUnsupported, "mlp_extractor."+net,
				"no hidden layer (net_arch with an empty list): this tool's MLPs have at least one")
		}
		var sizes []int
		in := obsDim
		for k, i := range idx {
			prefix := fmt.Sprintf("mlp_extractor.%s.%d", net, i)
			if i != 2*k {
				return nil, w.failf(ErrUnsupported, prefix+".weight",
					"Linear layer at index %d, want %d: SB3's MLP alternates Linear and activation", i, 2*k)
			}
			first := ""
			if k == 0 {
				first = "the observation"
			}
			out, err := linear(byName, prefix, in, w, first)
			if err != nil {
				return nil, err
			}
			sizes = append(sizes, out)
			in = out
		}
		return sizes, nil
	}
	if pi, err = chain("policy_net"); err != nil {
		return nil, nil, err
	}
	if vf, err = chain("value_net"); err != nil {
		return nil, nil, err
	}
	for _, h := range []struct {
		name    string
		in, out int
	}{{"action_net", pi[len(pi)-1], numActions}, {"value_net", vf[len(vf)-1], 1}} {
		out, err := linear(byName, h.name, h.in, w, "")
		if err != nil {
			return nil, nil, err
		}
		if out != h.out {
			what := fmt.Sprintf("%d actions: this tool's policies have %d", out, numActions)
			if h.name == "value_net" {
				what = fmt.Sprintf("%d outputs: a value head has 1", out)
			}
			return nil, nil, w.failf(ErrUnsupported, h.name+".weight", "%s", what)
		}
	}
	return pi, vf, nil
}

// linear checks prefix.weight [out, in] and prefix.bias [out] and returns out. A first
// layer whose in differs from the observation length says so.
func linear(byName map[string]policy.NamedTensor, prefix string, in int, w where, first string) (int, error) {
	wt, ok := byName[prefix+".weight"]
	if !ok {
		return 0, w.failf(ErrMissing, prefix+".weight", "not in the state dict")
	}
	b, ok := byName[prefix+".bias"]
	if !ok {
		return 0, w.failf(ErrMissing, prefix+".bias", "not in the state dict (SB3's Linear layers have biases)")
	}
	if len(wt.Shape) != 2 || wt.Shape[0] < 1 {
		return 0, w.failf(ErrCorrupt, wt.Name, "shape %v, want [out, in]", wt.Shape)
	}
	if wt.Shape[1] != in {
		if first != "" {
			return 0, w.failf(ErrUnsupported, wt.Name, "shape %v takes %d inputs: %s has %d features (Phase 2)", wt.Shape, wt.Shape[1], first, in)
		}
		return 0, w.failf(ErrCorrupt, wt.Name, "shape %v takes %d inputs, the layer before gives %d", wt.Shape, wt.Shape[1], in)
	}
	if len(b.Shape) != 1 || b.Shape[0] != wt.Shape[0] {
		return 0, w.failf(ErrCorrupt, b.Name, "shape %v, want [%d]", b.Shape, wt.Shape[0])
	}
	return wt.Shape[0], nil
}

// unknownPart explains why a state-dict key is refused.
func unknownPart(name string) error {
	switch {
	case regexp.MustCompile(`^mlp_extractor\.shared_net\.`).MatchString(name):
		return fmt.Errorf("a layer shared by pi and vf (net_arch with a shared part, SB3 < 1.8): " +
			"this tool's pi and vf MLPs are separate")
	case name == "log_std":
		return fmt.Errorf("a Gaussian policy's log_std: this tool's actions are Discrete")
	case regexp.MustCompile(`^(pi_|vf_)?features_extractor\.`).MatchString(name):
		return fmt.Errorf("a features extractor with weights: this tool flattens the observation as it is " +
			"(SB3's FlattenExtractor)")
	}
	return fmt.Errorf("a policy part this tool does not have: its policy is SB3's MlpPolicy " +
		"(mlp_extractor.policy_net, mlp_extractor.value_net, action_net, value_net)")
}
