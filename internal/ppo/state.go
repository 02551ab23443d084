package ppo

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// stateVersion is the version of state.json this build writes and reads.
const stateVersion = 1

// trainState is state.json: with the model, optimizer and normaliser tensors of the
// checkpoint, everything a resumed run needs to continue exactly as the uninterrupted run.
type trainState struct {
	Version  int         `json:"version"`
	Settings RunSettings `json:"settings"`

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

// RunSettings are the settings that define what a run trains, as state.json records them
// (its "settings"): a resumed run must train with the same ones, except total_timesteps,
// eval_freq, save_freq and tensorboard.
type RunSettings struct {
	Phase    int    `json:"phase"`
	Market   string `json:"market"`
	Data     string `json:"data,omitempty"`      // dataset source
	DataBars int    `json:"data_bars,omitempty"` // and its length
	Base     string `json:"base,omitempty"`      // transfer source, as given
	// InitFrom is the checkpoint a fine-tuned run started from. It is a record, not a
	// setting: a resumed run keeps it and never compares it (the weights it gave are in
	// every checkpoint since, and its directory may have moved or been replaced).
	InitFrom *InitRecord `json:"init_from,omitempty"`
	// Instrument is the trading env's instrument (nil for other envs): a configuration's
	// `instruments` section can change it without changing the data.
	Instrument *InstrumentRecord `json:"instrument,omitempty"`
	PPO        Config            `json:"ppo"`
	Policy     policy.Config     `json:"policy"`
	Env        env.Config        `json:"env"`
}

// KeyValue is a configuration key of a run's settings with its value.
type KeyValue struct {
	Key   string // as the configuration names it: n_steps, instruments.NQ.tick_size
	Value any
}

// resumable are the keys a resumed run may change: how long it trains and what it writes
// along the way, never what a step computes.
var resumable = []string{"total_timesteps", "eval_freq", "save_freq", "tensorboard"}

// compareSettings returns a *ConfigError naming the first key whose value differs between
// the settings a checkpoint was trained with (recorded) and a resumed run's (current),
// resumable keys excepted.
//
// Phase, market, data and base are the trainer's own (Setup's fields). The rest is the
// caller's configuration, which keys lists under the caller's names (Setup.ConfigKeys: the
// command line's table of keys); jsonKeys lists it too, under state.json's names, so that a
// difference keys does not name (or a caller without keys) is still refused.
func compareSettings(recorded, current RunSettings, keys func(*RunSettings) []KeyValue) error {
	changed := func(key string, was, now any) error {
		return configErrorf(key, "the checkpoint was trained with %v, this run asks for %v: a resumed run may change only %s",
			was, now, strings.Join(resumable, ", "))
	}
	switch {
	case recorded.Phase != current.Phase:
		return changed("phase", recorded.Phase, current.Phase)
	case recorded.Market != current.Market:
		return changed("market", recorded.Market, current.Market)
	case recorded.Data != current.Data || recorded.DataBars != current.DataBars:
		return changed("data", fmt.Sprintf("%s (%d bars)", recorded.Data, recorded.DataBars), fmt.Sprintf("%s (%d bars)", current.Data, current.DataBars))
	case current.Base != "" && recorded.Base != current.Base:
		return changed("base", recorded.Base, current.Base)
	}
	for _, list := range []func(*RunSettings) []KeyValue{keys, jsonKeys} {
		if list == nil {
			continue
		}
		if key, was, now, ok := firstChange(list(&recorded), list(&current)); ok {
			return changed(key, was, now)
		}
	}
	return nil
}

// firstChange returns the first key of recorded whose value differs in current, resumable
// keys and keys that only one side lists (an instrument a checkpoint written before
// instruments were recorded does not have) excepted.
func firstChange(recorded, current []KeyValue) (key string, was, now any, found bool) {
	values := make(map[string]any, len(current))
	for _, kv := range current {
		values[kv.Key] = kv.Value
	}
	for _, kv := range recorded {
		v, ok := values[kv.Key]
		if !ok || slices.Contains(resumable, kv.Key) {
			continue
		}
		if !reflect.DeepEqual(kv.Value, v) {
			return kv.Key, kv.Value, v, true
		}
	}
	return "", nil, nil, false
}

// jsonKeys lists the configuration r records under the names state.json gives it: Config's
// fields bare (their json names are the configuration keys: gamma), the instrument's under
// instruments.<SYM>., the network's and the environment's, which have no json names, under
// policy. and env. with their Go names (policy.ObsDim), in name order within each part.
func jsonKeys(r *RunSettings) []KeyValue {
	var out []KeyValue
	add := func(prefix string, part any) {
		// A part that does not encode (a NaN) cannot have been recorded: it is left out,
		// and writing the checkpoint reports it.
		data, err := json.Marshal(part)
		if err != nil {
			return
		}
		var fields map[string]any
		if err := json.Unmarshal(data, &fields); err != nil {
			return
		}
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			out = append(out, KeyValue{Key: prefix + name, Value: fields[name]})
		}
	}
	add("", r.PPO)
	add("policy.", r.Policy)
	add("env.", r.Env)
	if r.Instrument != nil {
		add("instruments."+r.Instrument.Symbol+".", r.Instrument)
	}
	return out
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

// InstrumentRecord is an instrument as metadata.json and state.json record it.
type InstrumentRecord struct {
	Symbol            string   `json:"symbol"`
	PointValue        float64  `json:"point_value"`
	TickSize          float64  `json:"tick_size"`
	CommissionPerSide float64  `json:"commission_per_side"`
	SlippageTicks     int      `json:"slippage_ticks"`
	Timezone          string   `json:"timezone"`
	DataSession       []string `json:"data_session"`
	EntryStart        string   `json:"entry_start"`
	FlattenTime       string   `json:"flatten_time"`
	// Calendar names the instrument's calendar (cme-equity, a file); absent in checkpoints
	// written before calendars, and for an instrument without one.
	Calendar string `json:"calendar,omitempty"`
}

// Spec returns the recorded instrument as a configuration file would give it. Its typical
// price, which only scales synthetic bars and the divided-by-100 warning, is not recorded and
// is 0.
func (r *InstrumentRecord) Spec() env.InstrumentSpec {
	return env.InstrumentSpec{
		PointValue: r.PointValue, TickSize: r.TickSize, CommissionPerSide: r.CommissionPerSide,
		SlippageTicks: r.SlippageTicks, Timezone: r.Timezone, DataSession: slices.Clone(r.DataSession),
		EntryStart: r.EntryStart, FlattenTime: r.FlattenTime, Calendar: r.Calendar,
	}
}

func describeInstrument(in env.Instrument) InstrumentRecord {
	clock := func(c env.Clock) string { return fmt.Sprintf("%02d:%02d", c/60, c%60) }
	info := InstrumentRecord{
		Symbol: in.Symbol, PointValue: in.PointValue, TickSize: in.TickSize,
		CommissionPerSide: in.CommissionPerSide, SlippageTicks: in.SlippageTicks,
		EntryStart: clock(in.EntryStart), FlattenTime: clock(in.FlattenTime),
		Calendar: in.Calendar.Name(),
	}
	if in.Zone != nil {
		info.Timezone = in.Zone.String()
	}
	for _, r := range in.DataSession {
		info.DataSession = append(info.DataSession, clock(r.From)+"-"+clock(r.To))
	}
	return info
}
