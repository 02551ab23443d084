package ppo

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// stateVersion is the version of state.json this build writes and reads.
const stateVersion = 1

// trainState is state.json: with the model, optimizer and normaliser tensors of the
// checkpoint, everything a resumed run needs to continue exactly as the uninterrupted run.
type trainState struct {
	Version  int      `json:"version"`
	Settings settings `json:"settings"`

	Timesteps  int64 `json:"timesteps"`
	Iterations int64 `json:"iterations"` // rollouts collected
	NUpdates   int64 `json:"n_updates"`  // epochs run (SB3's train/n_updates)
	// LearningRate and Progress are the schedule's position at the last update (the next
	// one recomputes it from timesteps / total_timesteps).
	LearningRate float64 `json:"learning_rate"`
	Progress     float64 `json:"progress"`

	// Generator states (math/rand/v2 PCG MarshalBinary); the env's are in EnvState.
	SampleRNG  []byte `json:"rng_sample"`
	ShuffleRNG []byte `json:"rng_shuffle"`
	EnvState   []byte `json:"env_state"`

	// The observations and masks the next rollout starts from (raw, as the env wrote them),
	// and which of them begin an episode.
	Obs           []float32 `json:"obs"`
	Masks         []bool    `json:"masks"`
	EpisodeStarts []bool    `json:"episode_starts"`

	// Reward normaliser: each env's running discounted return (ret_rms is a tensor).
	Returns []float64 `json:"returns"`
	// Frozen observation statistics (the transferred base block while freeze_base_norm).
	ObsFrozen []bool `json:"obs_frozen"`

	// Episode statistics: each env's running raw return and length, and the window of the
	// last 100 finished episodes, oldest first.
	EpReward []float64    `json:"ep_reward"`
	EpLength []int64      `json:"ep_length"`
	EpWindow []episodeRec `json:"ep_window"`

	Best           *float64 `json:"best_mean_reward"` // null before the first evaluation
	NextEval       int64    `json:"next_eval"`
	NextSave       int64    `json:"next_save"`
	Evals          int64    `json:"evals"`
	AdapterReports int64    `json:"adapter_reports"`
	InvalidActions int64    `json:"invalid_actions"`
}

// episodeRec is one finished episode of the statistics window.
type episodeRec struct {
	Reward float64 `json:"r"`
	Length int64   `json:"l"`
}

// settings are what defines a run's training; on resume every one must be unchanged except
// total_timesteps, eval_freq and save_freq.
type settings struct {
	Phase    int    `json:"phase"`
	Market   string `json:"market"`
	Data     string `json:"data,omitempty"`      // dataset source
	DataBars int    `json:"data_bars,omitempty"` // and its length
	Base     string `json:"base,omitempty"`      // transfer source, as given
	// Instrument is the trading env's instrument (nil for other envs): a configuration's
	// `instruments` section can change it without changing the data.
	Instrument *instrumentInfo `json:"instrument,omitempty"`
	PPO        Config          `json:"ppo"`
	Policy     policy.Config   `json:"policy"`
	Env        env.Config      `json:"env"`
}

// resumable are the keys a resumed run may change.
var resumable = []string{"total_timesteps", "eval_freq", "save_freq"}

// compareSettings returns a *ConfigError naming the first key whose value differs between
// the checkpoint's settings (old) and the resumed run's (cur), resumable keys excepted.
func compareSettings(old, cur settings) error {
	diff := func(key string, a, b any) error {
		return configErrorf(key, "the checkpoint was trained with %v, this run asks for %v: a resumed run may change only %s",
			a, b, strings.Join(resumable, ", "))
	}
	switch {
	case old.Phase != cur.Phase:
		return diff("phase", old.Phase, cur.Phase)
	case old.Market != cur.Market:
		return diff("market", old.Market, cur.Market)
	case old.Data != cur.Data || old.DataBars != cur.DataBars:
		return diff("data", fmt.Sprintf("%s (%d bars)", old.Data, old.DataBars), fmt.Sprintf("%s (%d bars)", cur.Data, cur.DataBars))
	case cur.Base != "" && old.Base != cur.Base:
		return diff("base", old.Base, cur.Base)
	}
	// A checkpoint written before the instrument was recorded has none to compare.
	if old.Instrument != nil && cur.Instrument != nil {
		if key, a, b, ok := firstDiff(*old.Instrument, *cur.Instrument); ok {
			return diff("instruments."+old.Instrument.Symbol+"."+key, a, b)
		}
	}
	for _, group := range []struct {
		a, b   any
		prefix string
	}{{old.PPO, cur.PPO, ""}, {old.Policy, cur.Policy, ""}, {old.Env, cur.Env, ""}} {
		if key, a, b, ok := firstDiff(group.a, group.b); ok {
			if slices.Contains(resumable, key) {
				continue
			}
			return diff(key, a, b)
		}
	}
	return nil
}

// firstDiff compares two structs of the same type field by field (resumable keys are
// skipped) and returns the first differing field's configuration key and values.
func firstDiff(a, b any) (key string, va, vb any, found bool) {
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := ra.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		k := fieldKey(f)
		if slices.Contains(resumable, k) {
			continue
		}
		x, y := ra.Field(i).Interface(), rb.Field(i).Interface()
		if !reflect.DeepEqual(x, y) {
			return k, x, y, true
		}
	}
	return "", nil, nil, false
}

// fieldKey is a struct field's configuration key: its json tag, else its name in
// snake_case (DataTZ -> data_tz, NEnvs -> n_envs), with the one exception the conversion
// cannot know (SLATR -> sl_atr).
func fieldKey(f reflect.StructField) string {
	if tag, ok := f.Tag.Lookup("json"); ok {
		if name, _, _ := strings.Cut(tag, ","); name != "" && name != "-" {
			return name
		}
	}
	if k, ok := keyExceptions[f.Name]; ok {
		return k
	}
	return snakeCase(f.Name)
}

var keyExceptions = map[string]string{"SLATR": "sl_atr", "PiLayers": "pi_layers", "VfLayers": "vf_layers"}

// snakeCase converts a Go identifier: a new word starts at an upper-case letter that
// follows a lower-case letter or digit, or that precedes a lower-case letter after another
// upper-case letter (the end of an acronym).
func snakeCase(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prev := r[i-1]
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// decodeState parses state.json; errors wrap policy.ErrCheckpoint.
func decodeState(dir string, data []byte) (*trainState, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: %s: no %s: not a training checkpoint", policy.ErrCheckpoint, dir, policy.StateFile)
	}
	var st trainState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%w: %s: %s: %v", policy.ErrCheckpoint, dir, policy.StateFile, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%w: %s: %s: version %d, this build reads %d", policy.ErrCheckpoint, dir, policy.StateFile, st.Version, stateVersion)
	}
	return &st, nil
}

// Names of the normaliser tensors in model.safetensors (float64).
const (
	obsMeanName  = "obs_rms.mean"
	obsVarName   = "obs_rms.var"
	obsCountName = "obs_rms.count"
	retMeanName  = "ret_rms.mean"
	retVarName   = "ret_rms.var"
	retCountName = "ret_rms.count"
)

// normTensors returns the normalisers as checkpoint tensors (copies).
func normTensors(obs, ret *RunningMeanStd) []policy.NamedTensor {
	t := func(name string, v []float64) policy.NamedTensor {
		return policy.NamedTensor{Name: name, Shape: []int{len(v)}, F64: slices.Clone(v)}
	}
	return []policy.NamedTensor{
		t(obsMeanName, obs.Mean), t(obsVarName, obs.Var), t(obsCountName, obs.Count),
		t(retMeanName, ret.Mean), t(retVarName, ret.Var), t(retCountName, ret.Count),
	}
}

// readRMS reads a normaliser of dim features from c's model tensors (prefix "obs_rms" or
// "ret_rms"); errors wrap policy.ErrCheckpoint and name the tensor.
func readRMS(c *policy.Checkpoint, dir, prefix string, dim int) (*RunningMeanStd, error) {
	r := NewRunningMeanStd(dim)
	for _, f := range []struct {
		name string
		dst  []float64
	}{{prefix + ".mean", r.Mean}, {prefix + ".var", r.Var}, {prefix + ".count", r.Count}} {
		t, ok := c.Tensor(f.name)
		if !ok {
			return nil, fmt.Errorf("%w: %s: %s: no tensor %q (the normaliser statistics)", policy.ErrCheckpoint, dir, policy.ModelFile, f.name)
		}
		if err := policy.CheckTensorType(t, policy.DTypeF64, dim); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dir, policy.ModelFile, err)
		}
		copy(f.dst, t.F64)
	}
	if err := r.check(prefix); err != nil {
		return nil, fmt.Errorf("%w: %s: %s: %v", policy.ErrCheckpoint, dir, policy.ModelFile, err)
	}
	return r, nil
}

// instrumentInfo is the instrument as metadata.json records it.
type instrumentInfo struct {
	Symbol            string   `json:"symbol"`
	PointValue        float64  `json:"point_value"`
	TickSize          float64  `json:"tick_size"`
	CommissionPerSide float64  `json:"commission_per_side"`
	SlippageTicks     int      `json:"slippage_ticks"`
	Timezone          string   `json:"timezone"`
	DataSession       []string `json:"data_session"`
	EntryStart        string   `json:"entry_start"`
	FlattenTime       string   `json:"flatten_time"`
}

func describeInstrument(in env.Instrument) instrumentInfo {
	clock := func(c env.Clock) string { return fmt.Sprintf("%02d:%02d", c/60, c%60) }
	info := instrumentInfo{
		Symbol: in.Symbol, PointValue: in.PointValue, TickSize: in.TickSize,
		CommissionPerSide: in.CommissionPerSide, SlippageTicks: in.SlippageTicks,
		EntryStart: clock(in.EntryStart), FlattenTime: clock(in.FlattenTime),
	}
	if in.Zone != nil {
		info.Timezone = in.Zone.String()
	}
	for _, r := range in.DataSession {
		info.DataSession = append(info.DataSession, clock(r.From)+"-"+clock(r.To))
	}
	return info
}
