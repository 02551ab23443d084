package sb3

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"hybridtrain/internal/policy"
)

// The entries of MaskablePPO.save's zip (stable_baselines3/common/save_util.py,
// save_to_zip_file) that the import reads; the others (policy.optimizer.pth,
// pytorch_variables.pth, system_info.txt) are not needed.
const (
	entryData    = "data"
	entryPolicy  = "policy.pth"
	entryVersion = "_stable_baselines3_version"
)

// Model is what ReadModel found in an SB3 zip: the network and where it came from.
type Model struct {
	File         string
	SB3Version   string // _stable_baselines3_version; "" when the zip has none
	PolicyModule string // policy_class's module, e.g. sb3_contrib.common.maskable.policies

	ObsDim, NumActions int
	PiLayers, VfLayers []int
	Activation         string // policy.ActivationReLU or policy.ActivationTanh
	// ActivationDefault is true when policy_kwargs names no activation_fn: SB3's
	// default, Tanh, applies.
	ActivationDefault bool

	Timesteps int64  // num_timesteps
	Seed      uint64 // seed; 0 when SB3 saved none
	// Hyper are SB3's hyperparameters under this tool's configuration keys.
	Hyper []Hyperparameter

	// Tensors is the state dict in its own order: SB3's names, PyTorch's orientation
	// ([out, in] weights), float32.
	Tensors []policy.NamedTensor
	// Converted is the weights' element type when it was not float32 (they were rounded
	// to float32); "" otherwise.
	Converted string
}

// Hyperparameter is one SB3 hyperparameter under this tool's key.
type Hyperparameter struct {
	Key   string // the configuration key (docs/configuration.md)
	From  string // the key in SB3's data
	Value any    // a float64, int64 or bool; nil when SB3 saved a schedule (Python code)
}

// ReadModel reads an SB3 model zip: the spaces and policy_kwargs from "data", the weights
// from "policy.pth", checked against cfg. Errors are *Error naming path, the entry and the
// key at fault.
func ReadModel(path string, cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := where{file: path}
	f, err := os.Open(path)
	if err != nil {
		kind := ErrCorrupt
		if errors.Is(err, fs.ErrNotExist) {
			kind = ErrMissing
		}
		return nil, w.fail(kind, "", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, w.fail(ErrCorrupt, "", err)
	}
	if st.IsDir() {
		return nil, w.failf(ErrCorrupt, "", "a directory, not the zip MaskablePPO.save writes")
	}
	if st.Size() > cfg.MaxBytes {
		return nil, w.failf(ErrUnsupported, "", "%d bytes, more than the %d this reader takes", st.Size(), cfg.MaxBytes)
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return nil, w.failf(ErrCorrupt, "", "not a zip archive (MaskablePPO.save writes one; a truncated copy?): %v", err)
	}
	return readModel(zr, w, cfg)
}

// readModel reads an SB3 zip already opened.
func readModel(zr *zip.Reader, w where, cfg Config) (*Model, error) {
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := entries[f.Name]; dup {
			return nil, w.in(f.Name).failf(ErrCorrupt, "", "two entries of this name")
		}
		entries[f.Name] = f
	}
	m := &Model{File: w.file, ObsDim: cfg.ObsDim, NumActions: cfg.NumActions}
	if f, ok := entries[entryVersion]; ok {
		b, err := readEntry(f, 64)
		if err != nil {
			return nil, w.in(entryVersion).fail(ErrCorrupt, "", err)
		}
		m.SB3Version = strings.TrimSpace(string(b))
	}

	f, ok := entries[entryData]
	if !ok {
		return nil, w.in(entryData).failf(ErrMissing, "", "no such entry (MaskablePPO.save writes the algorithm's attributes there)")
	}
	raw, err := readEntry(f, cfg.MaxBytes)
	if err != nil {
		return nil, w.in(entryData).fail(ErrCorrupt, "", err)
	}
	d, err := decodeData(raw)
	if err != nil {
		return nil, w.in(entryData).fail(ErrCorrupt, "", err)
	}
	if err := m.readData(d, w.in(entryData)); err != nil {
		return nil, err
	}

	f, ok = entries[entryPolicy]
	if !ok {
		return nil, w.in(entryPolicy).failf(ErrMissing, "", "no such entry (MaskablePPO.save writes the policy's state dict there)")
	}
	raw, err = readEntry(f, cfg.MaxBytes)
	if err != nil {
		return nil, w.in(entryPolicy).fail(ErrCorrupt, "", err)
	}
	pw := w.in(entryPolicy)
	sd, err := readTorch(raw, pw, cfg)
	if err != nil {
		return nil, err
	}
	if m.Tensors, m.Converted, err = stateDict(sd, pw); err != nil {
		return nil, err
	}
	pi, vf, err := architecture(m.Tensors, cfg.ObsDim, cfg.NumActions, pw)
	if err != nil {
		return nil, err
	}
	// policy_kwargs' net_arch, when readable, must describe the same network.
	if m.PiLayers != nil && (!slices.Equal(m.PiLayers, pi) || !slices.Equal(m.VfLayers, vf)) {
		return nil, w.in(entryData).failf(ErrCorrupt, "policy_kwargs.net_arch", "pi %v, vf %v, but %s holds pi %v, vf %v",
			m.PiLayers, m.VfLayers, entryPolicy, pi, vf)
	}
	m.PiLayers, m.VfLayers = pi, vf
	return m, nil
}

// jsonObject is a decoded JSON object; numbers are json.Number.
type jsonObject = map[string]any

func decodeData(raw []byte) (jsonObject, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var d jsonObject
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("not JSON (SB3 writes the algorithm's attributes as a JSON object): %w", err)
	}
	if d == nil {
		return nil, errors.New("not a JSON object")
	}
	return d, nil
}

// readData checks the spaces and reads policy_kwargs, the progress and the
// hyperparameters. A value SB3 could not write as JSON is an object with ":type:" and
// ":serialized:" (base64 cloudpickle, never decoded here) beside its readable attributes.
func (m *Model) readData(d jsonObject, w where) error {
	if err := checkObservationSpace(d, m.ObsDim, w); err != nil {
		return err
	}
	if err := checkActionSpace(d, m.NumActions, w); err != nil {
		return err
	}
	if err := m.readPolicyKwargs(d, w); err != nil {
		return err
	}
	if pc, ok := d["policy_class"].(jsonObject); ok {
		m.PolicyModule, _ = pc["__module__"].(string)
	}
	if n, ok := integer(d["num_timesteps"]); ok && n >= 0 {
		m.Timesteps = n
	}
	if n, ok := integer(d["seed"]); ok && n >= 0 {
		m.Seed = uint64(n)
	}
	m.Hyper = hyperparameters(d)
	return nil
}

// checkObservationSpace requires Box(obsDim,).
func checkObservationSpace(d jsonObject, obsDim int, w where) error {
	sp, ok := d["observation_space"].(jsonObject)
	if !ok {
		return w.failf(ErrMissing, "observation_space", "absent or not an object")
	}
	typ, _ := sp[":type:"].(string)
	if !strings.Contains(typ, "spaces.box.Box") {
		return w.failf(ErrUnsupported, "observation_space", "%s: this tool's observations are a Box(%d,)", orNone(typ), obsDim)
	}
	key := "_shape"
	shape, ok := sp[key].([]any)
	if !ok {
		key = "shape" // gym before 0.22
		if shape, ok = sp[key].([]any); !ok {
			return w.failf(ErrMissing, "observation_space._shape", "the Box has no shape")
		}
	}
	if len(shape) != 1 {
		return w.failf(ErrUnsupported, "observation_space."+key, "Box of shape %v: this tool's observations are flat, %d features", shape, obsDim)
	}
	if n, ok := integer(shape[0]); !ok || n != int64(obsDim) {
		return w.failf(ErrUnsupported, "observation_space."+key, "Box(%v,): this tool's Phase 2 observation has %d features", shape[0], obsDim)
	}
	return nil
}

// checkActionSpace requires Discrete(numActions) starting at 0.
func checkActionSpace(d jsonObject, numActions int, w where) error {
	sp, ok := d["action_space"].(jsonObject)
	if !ok {
		return w.failf(ErrMissing, "action_space", "absent or not an object")
	}
	typ, _ := sp[":type:"].(string)
	if !strings.Contains(typ, "spaces.discrete.Discrete") {
		return w.failf(ErrUnsupported, "action_space", "%s: this tool's actions are a Discrete(%d)", orNone(typ), numActions)
	}
	n, ok := integer(sp["n"])
	if !ok {
		return w.failf(ErrMissing, "action_space.n", "the Discrete space has no size")
	}
	if n != int64(numActions) {
		return w.failf(ErrUnsupported, "action_space.n", "Discrete(%d): this tool's policies have %d actions (HOLD, BUY, SELL, MOVE_SL_TO_BE, ENABLE_TRAIL, DISABLE_TRAIL)", n, numActions)
	}
	if s, ok := sp["start"]; ok && s != nil {
		if v, ok := integer(s); !ok || v != 0 {
			return w.failf(ErrUnsupported, "action_space.start", "%v: actions here start at 0", s)
		}
	}
	return nil
}

var reActivation = regexp.MustCompile(`^<class 'torch\.nn\.modules\.activation\.(\w+)'>$`)

// readPolicyKwargs reads net_arch (to check against the state dict) and activation_fn
// (which the state dict cannot tell), and refuses another features extractor.
func (m *Model) readPolicyKwargs(d jsonObject, w where) error {
	raw, ok := d["policy_kwargs"]
	if !ok {
		return w.failf(ErrMissing, "policy_kwargs", "absent (SB3 always saves it; the activation cannot be known without it)")
	}
	pk, ok := raw.(jsonObject)
	if !ok {
		return w.failf(ErrCorrupt, "policy_kwargs", "a %s, want an object", jsonType(raw))
	}
	m.Activation, m.ActivationDefault = policy.ActivationTanh, true
	if a, ok := pk["activation_fn"]; ok {
		s, _ := a.(string)
		mm := reActivation.FindStringSubmatch(s)
		switch {
		case mm != nil && mm[1] == "ReLU":
			m.Activation = policy.ActivationReLU
		case mm != nil && mm[1] == "Tanh":
			m.Activation = policy.ActivationTanh
		default:
			return w.failf(ErrUnsupported, "policy_kwargs.activation_fn", "%v: ReLU and Tanh are supported", clip(fmt.Sprint(a)))
		}
		m.ActivationDefault = false
	}
	if fe, ok := pk["features_extractor_class"]; ok {
		if s, _ := fe.(string); !strings.Contains(s, "FlattenExtractor") {
			return w.failf(ErrUnsupported, "policy_kwargs.features_extractor_class", "%v: this tool flattens the observation as it is (FlattenExtractor)", clip(fmt.Sprint(fe)))
		}
	}
	if na, ok := pk["net_arch"]; ok && na != nil {
		pi, vf, err := netArch(na)
		if err != nil {
			return w.fail(ErrUnsupported, "policy_kwargs.net_arch", err)
		}
		m.PiLayers, m.VfLayers = pi, vf
	}
	return nil
}

// netArch reads SB3's net_arch: dict(pi=[...], vf=[...]), or a list of sizes used for both
// (SB3 >= 1.8). The older list holding a dict has shared layers before the dict.
func netArch(v any) (pi, vf []int, err error) {
	switch a := v.(type) {
	case jsonObject:
		if pi, err = sizes(a["pi"]); err != nil {
			return nil, nil, fmt.Errorf("pi: %w", err)
		}
		if vf, err = sizes(a["vf"]); err != nil {
			return nil, nil, fmt.Errorf("vf: %w", err)
		}
		return pi, vf, nil
	case []any:
		if len(a) > 0 {
			if last, ok := a[len(a)-1].(jsonObject); ok {
				if len(a) > 1 {
					return nil, nil, fmt.Errorf("%d layers shared by pi and vf (SB3 < 1.8): this tool's MLPs are separate", len(a)-1)
				}
				return netArch(last)
			}
		}
		s, err := sizes(a)
		if err != nil {
			return nil, nil, err
		}
		return s, s, nil
	}
	return nil, nil, fmt.Errorf("a %s, want a list or {\"pi\": [...], \"vf\": [...]}", jsonType(v))
}

func sizes(v any) ([]int, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("a %s, want a list of layer sizes", jsonType(v))
	}
	out := make([]int, 0, len(l))
	for _, x := range l {
		n, ok := integer(x)
		if !ok || n < 1 || n > math.MaxInt32 {
			return nil, fmt.Errorf("layer size %v", x)
		}
		out = append(out, int(n))
	}
	return out, nil
}

// hyperparameters maps SB3's PPO attributes to this tool's keys. A schedule (a learning
// rate or clip range saved as a function) has no readable value.
func hyperparameters(d jsonObject) []Hyperparameter {
	var out []Hyperparameter
	for _, k := range []struct{ from, key string }{
		{"learning_rate", "learning_rate"}, {"n_envs", "n_envs"}, {"n_steps", "n_steps"},
		{"batch_size", "batch_size"}, {"n_epochs", "n_epochs"}, {"gamma", "gamma"},
		{"gae_lambda", "gae_lambda"}, {"clip_range", "clip_range"}, {"clip_range_vf", "clip_range_vf"},
		{"ent_coef", "ent_coef"}, {"vf_coef", "vf_coef"}, {"max_grad_norm", "max_grad_norm"},
		{"target_kl", "target_kl"}, {"normalize_advantage", "normalize_advantage"}, {"seed", "seed"},
	} {
		v, ok := d[k.from]
		if !ok {
			continue
		}
		h := Hyperparameter{Key: k.key, From: k.from}
		switch x := v.(type) {
		case nil:
			switch k.key {
			case "target_kl", "clip_range_vf":
				h.Value = 0.0 // None: off, which this tool writes as 0
			default:
				continue
			}
		case bool:
			h.Value = x
		case json.Number:
			if n, err := x.Int64(); err == nil {
				h.Value = n
			} else if f, err := x.Float64(); err == nil {
				h.Value = f
			} else {
				continue
			}
		case jsonObject: // a schedule: h.Value stays nil
		default:
			continue
		}
		out = append(out, h)
	}
	return out
}

// integer reads a JSON integer, also one SB3 wrote as a string (a numpy int64 is not
// JSON-serialisable, so a space's size comes as "6").
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "list"
	}
	return "object"
}

func orNone(s string) string {
	if s == "" {
		return "no :type:"
	}
	return s
}
