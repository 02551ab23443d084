package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"hybridtrain/internal/device"
	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// resolvedConfig is a resolved configuration: the value of every key after the layers (flag >
// environment > config file > test overlay > phase defaults) have been applied and checked.
type resolvedConfig struct {
	Market string // upper-case symbol; "" when not given
	// Data are bar files, or directories of them, merged in time order; none means
	// data/<MARKET>_D1M.csv if present, else synthetic bars.
	Data  []string
	Phase int    // 3 or 2
	Base  string // Phase 2 checkpoint directory to transfer from
	// InitFrom is a checkpoint of the run's phase and architecture to fine-tune. Unlike
	// base it is not compared on resume: a resumed run has its weights from its own
	// checkpoint and never reads it (see checkResume).
	InitFrom string
	Device   string // auto, cpu, cuda or cuda:N, as given
	Out      string // run directory
	Resume   string // checkpoint directory to resume from
	Quiet    bool

	Env    env.Config
	PPO    ppo.Config
	Policy policy.Config

	// Instruments are the custom (or overridden built-in) instruments of the config files,
	// by upper-case symbol.
	Instruments map[string]env.InstrumentSpec

	// synthetic forces the built-in synthetic bars (chosen at the market prompt) even when
	// the market has a data file; it is not a key.
	synthetic bool

	// sources names the layer each key's value came from (for messages and the printed
	// configuration); keys missing here come from the phase defaults.
	sources map[string]string
}

// Key sections, in the order docs/configuration.md lists them.
const (
	secRun     = "run"
	secNetwork = "network"
	secPPO     = "ppo"
	secEnv     = "environment"
)

// Kinds of key values, as docs/configuration.md names them.
const (
	typeInt         = "integer"
	typeFloat       = "number"
	typeBool        = "boolean"
	typeString      = "string"
	typeStrings     = "list of strings"
	typeLayers      = "list of integers"
	typePaths       = "list of paths"
	typeInstruments = "map"
)

// keyOf describes one configuration key of a T: its name, what it accepts and how it reads
// and stores a T's value. The table of keys is made of keyOf[resolvedConfig] (configKey) and
// the fields of an instrument of keyOf[env.InstrumentSpec] (instrumentKey), so that both
// convert and check their values the same way.
type keyOf[T any] struct {
	Name    string // snake_case key, as in files
	Section string // secRun, secNetwork, secPPO or secEnv; "" for an instrument's field
	Type    string // typeInt, typeFloat, ...
	Unit    string // "" when the value has none
	Range   string // what values are accepted, in words
	Flag    string // long flag name (kebab case); "" when the key has no flag
	Doc     string // one sentence for users

	// invocation marks the keys that say where and how a run is written, not what it
	// trains (out, resume, quiet): config.yaml and a checkpoint's configuration leave them
	// out, so that `--config runs/<run>/config.yaml` trains the same thing again elsewhere.
	invocation bool
	// optional marks the fields of an instrument that a new instrument may leave out
	// (calendar: none), so that files written before the field existed still load.
	optional bool

	// apply converts a raw value (a YAML value, an environment string or a flag's string),
	// checks its range and stores it in a T. Errors say what was expected, without the key.
	apply func(dst *T, raw any) error
	// value returns the key's value in a T, for printing, config.yaml, the configuration a
	// checkpoint records and the comparison on resume.
	value func(src *T) any
}

// configKey is one row of the table of keys: the single description of a configuration key
// from which flags, environment bindings, validation, config.yaml, docs/configuration.md,
// the comparison on resume and the tests are derived.
type configKey = keyOf[resolvedConfig]

// instrumentKey is one field of a custom instrument (instruments.<SYM>.<field>).
type instrumentKey = keyOf[env.InstrumentSpec]

// EnvVar is the key's environment variable, HYBRIDTRAIN_ and the key in upper case; "" for
// the fields of an instrument, which are set in files only.
func (k keyOf[T]) EnvVar() string {
	if k.Section == "" {
		return ""
	}
	return envPrefix + strings.ToUpper(k.Name)
}

// envPrefix starts every environment variable of a key.
const envPrefix = "HYBRIDTRAIN_"

// instrumentsKey is the one nested key; it is set in files only.
const instrumentsKey = "instruments"

// optionalKey marks k, a field of an instrument, as one a new instrument may leave out.
func optionalKey(k instrumentKey) instrumentKey {
	k.optional = true
	return k
}

// invocationKey marks k as an invocation key (see keyOf.invocation).
func invocationKey(k configKey) configKey {
	k.invocation = true
	return k
}

// configKeys returns the table of keys in docs order. It is built by a function so that no
// package-level state can be mutated by one command and seen by another.
func configKeys() []configKey {
	return []configKey{
		// Run.
		stringKey("market", secRun, "symbol", "built-in symbol or one under instruments",
			"market", "instrument to train on: a built-in symbol (ES, NQ, ...) or one defined under instruments; upper-cased",
			nil, func(s *resolvedConfig) *string { return &s.Market }),
		pathsKey("data", secRun, "bar files (CSV) or directories of them",
			"data", "bar files merged in time order (a list, comma-separated, or a directory of .csv files); empty means data/<MARKET>_D1M.csv if present, else built-in synthetic bars",
			func(s *resolvedConfig) *[]string { return &s.Data }),
		intKey("phase", secRun, "", "3 or 2", "phase", "3: 261 inputs through the adapter; 2: 228 inputs, no adapter",
			checkOneOf(2, 3), func(s *resolvedConfig) *int { return &s.Phase }),
		stringKey("base", secRun, "path", "a Phase 2 checkpoint directory",
			"base", "Phase 2 checkpoint to transfer (weights, architecture, normaliser statistics); empty trains from scratch",
			nil, func(s *resolvedConfig) *string { return &s.Base }),
		stringKey("init_from", secRun, "path", "a checkpoint directory of the run's phase and architecture",
			"init-from", "fine-tune: a new run starts from this checkpoint's weights and normaliser statistics, with a fresh optimizer, counters and schedule; empty starts as base says",
			nil, func(s *resolvedConfig) *string { return &s.InitFrom }),
		stringKey("device", secRun, "", "auto, cpu, cuda or cuda:N",
			"device", "where the network trains; auto is cuda:0 in a CUDA (cuda) build, else cpu",
			checkDevice, func(s *resolvedConfig) *string { return &s.Device }),
		invocationKey(stringKey("out", secRun, "path", "a new or empty directory",
			"out", "run directory; empty means runs/<phase>-<market>-<UTC time>/",
			nil, func(s *resolvedConfig) *string { return &s.Out })),
		invocationKey(stringKey("resume", secRun, "path", "a checkpoint directory of a run",
			"resume", "continue from this checkpoint in its run directory (only total_timesteps, eval_freq, save_freq and tensorboard may change)",
			nil, func(s *resolvedConfig) *string { return &s.Resume })),
		invocationKey(boolKey("quiet", secRun, "quiet", "do not print the resolved configuration and progress",
			func(s *resolvedConfig) *bool { return &s.Quiet })),

		// Network.
		layersKey("pi_layers", "hidden sizes of the policy MLP (from the base checkpoint when transferring)",
			func(s *resolvedConfig) *[]int { return &s.Policy.PiLayers }),
		layersKey("vf_layers", "hidden sizes of the value MLP (from the base checkpoint when transferring)",
			func(s *resolvedConfig) *[]int { return &s.Policy.VfLayers }),
		stringKey("activation", secNetwork, "", "relu or tanh", "", "hidden-layer activation",
			checkEnum("relu", "tanh"), func(s *resolvedConfig) *string { return &s.Policy.Activation }),

		// PPO.
		intKey("total_timesteps", secPPO, "env steps", ">= 1", "timesteps",
			"training stops at the first rollout boundary at or past this many env steps (all envs together)",
			checkMin[int64](1), func(s *resolvedConfig) *int64 { return &s.PPO.TotalTimesteps }),
		floatKey("learning_rate", secPPO, "", openLow(0, math.Inf(1)), "", "Adam learning rate (start value with lr_schedule linear)",
			func(s *resolvedConfig) *float64 { return &s.PPO.LearningRate }),
		stringKey("lr_schedule", secPPO, "", "constant or linear", "",
			"learning-rate schedule; linear decays from learning_rate to learning_rate x lr_final_fraction",
			checkEnum("constant", "linear"), func(s *resolvedConfig) *string { return &s.PPO.LRSchedule }),
		floatKey("lr_final_fraction", secPPO, "fraction", openLow(0, 1), "", "final learning rate of the linear schedule, as a fraction of learning_rate",
			func(s *resolvedConfig) *float64 { return &s.PPO.LRFinalFraction }),
		intKey("n_envs", secPPO, "envs", ">= 1", "n-envs", "environments stepped in parallel",
			checkMin(1), func(s *resolvedConfig) *int { return &s.PPO.NEnvs }),
		intKey("n_steps", secPPO, "steps per env", ">= 1", "", "steps each env collects per rollout",
			checkMin(1), func(s *resolvedConfig) *int { return &s.PPO.NSteps }),
		intKey("batch_size", secPPO, "transitions", ">= 1, <= n_envs x n_steps", "", "minibatch size of the update",
			checkMin(1), func(s *resolvedConfig) *int { return &s.PPO.BatchSize }),
		intKey("n_epochs", secPPO, "", ">= 1", "", "passes over the rollout per update",
			checkMin(1), func(s *resolvedConfig) *int { return &s.PPO.NEpochs }),
		floatKey("gamma", secPPO, "", openLow(0, 1), "", "discount factor",
			func(s *resolvedConfig) *float64 { return &s.PPO.Gamma }),
		floatKey("gae_lambda", secPPO, "", openLow(0, 1), "", "GAE lambda",
			func(s *resolvedConfig) *float64 { return &s.PPO.GAELambda }),
		floatKey("clip_range", secPPO, "", openLow(0, math.Inf(1)), "", "PPO ratio clip epsilon",
			func(s *resolvedConfig) *float64 { return &s.PPO.ClipRange }),
		floatKey("clip_range_vf", secPPO, "", closed(0, math.Inf(1)), "", "value clip range; 0 turns value clipping off",
			func(s *resolvedConfig) *float64 { return &s.PPO.ClipRangeVF }),
		floatKey("ent_coef", secPPO, "", closed(0, math.Inf(1)), "", "entropy coefficient of the loss",
			func(s *resolvedConfig) *float64 { return &s.PPO.EntCoef }),
		floatKey("vf_coef", secPPO, "", closed(0, math.Inf(1)), "", "value-loss coefficient of the loss",
			func(s *resolvedConfig) *float64 { return &s.PPO.VfCoef }),
		floatKey("max_grad_norm", secPPO, "", openLow(0, math.Inf(1)), "", "global gradient-norm clip over the trainable parameters",
			func(s *resolvedConfig) *float64 { return &s.PPO.MaxGradNorm }),
		floatKey("target_kl", secPPO, "", closed(0, math.Inf(1)), "", "an update stops when approx_kl > 1.5 x target_kl; 0 turns the early stop off",
			func(s *resolvedConfig) *float64 { return &s.PPO.TargetKL }),
		boolKey("normalize_advantage", secPPO, "", "normalise advantages per minibatch",
			func(s *resolvedConfig) *bool { return &s.PPO.NormalizeAdvantage }),
		boolKey("norm_obs", secPPO, "", "normalise observations with running statistics",
			func(s *resolvedConfig) *bool { return &s.PPO.NormObs }),
		boolKey("norm_reward", secPPO, "", "normalise rewards by the running std of the discounted return",
			func(s *resolvedConfig) *bool { return &s.PPO.NormReward }),
		floatKey("clip_obs", secPPO, "std", openLow(0, math.Inf(1)), "", "normalised observations are clipped to +-clip_obs",
			func(s *resolvedConfig) *float64 { return &s.PPO.ClipObs }),
		floatKey("clip_reward", secPPO, "std", openLow(0, math.Inf(1)), "", "normalised rewards are clipped to +-clip_reward",
			func(s *resolvedConfig) *float64 { return &s.PPO.ClipReward }),
		boolKey("freeze_base_norm", secPPO, "", "keep the transferred statistics of the first 228 features frozen",
			func(s *resolvedConfig) *bool { return &s.PPO.FreezeBaseNorm }),
		intKey("adapter_warmup_steps", secPPO, "env steps", ">= 0", "", "when transferring, only the adapter trains for this many steps",
			checkMin[int64](0), func(s *resolvedConfig) *int64 { return &s.PPO.AdapterWarmupSteps }),
		intKey("eval_freq", secPPO, "env steps", ">= 1", "", "evaluate on the validation split at the first rollout boundary past each multiple",
			checkMin[int64](1), func(s *resolvedConfig) *int64 { return &s.PPO.EvalFreq }),
		intKey("n_eval_episodes", secPPO, "episodes", ">= 1", "", "validation sessions per evaluation",
			checkMin(1), func(s *resolvedConfig) *int { return &s.PPO.NEvalEpisodes }),
		intKey("save_freq", secPPO, "env steps", ">= 1", "", "write checkpoints/ts-<timesteps>/ at the first rollout boundary past each multiple",
			checkMin[int64](1), func(s *resolvedConfig) *int64 { return &s.PPO.SaveFreq }),
		intKey("keep_checkpoints", secPPO, "checkpoints", ">= 1", "", "periodic checkpoints kept (the oldest are deleted)",
			checkMin(1), func(s *resolvedConfig) *int { return &s.PPO.KeepCheckpoints }),
		boolKey("tensorboard", secPPO, "", "write TensorBoard event files into the run directory's tb/ (a resumed run may change it)",
			func(s *resolvedConfig) *bool { return &s.PPO.TensorBoard }),
		intKey("seed", secPPO, "", ">= 0", "seed", "the run's seed; every random stream derives from it",
			nil, func(s *resolvedConfig) *uint64 { return &s.PPO.Seed }),

		// Environment.
		stringKey("data_tz", secEnv, "IANA zone", "a time zone name", "", "zone of timestamps without an offset in bar files",
			nil, func(s *resolvedConfig) *string { return &s.Env.DataTZ }),
		floatKey("train_fraction", secEnv, "fraction", openLow(0, 1), "", "share of sessions, in time order, that train; the rest validate",
			func(s *resolvedConfig) *float64 { return &s.Env.TrainFraction }),
		stringKey("first_session", secEnv, "date", "YYYY-MM-DD, or empty", "first-session",
			"exchange date of the first session a run uses, for training and validation alike; empty: the data's first",
			checkDate, func(s *resolvedConfig) *string { return &s.Env.FirstSession }),
		stringKey("last_session", secEnv, "date", "YYYY-MM-DD, or empty; not before first_session", "last-session",
			"exchange date of the last session a run uses (train_fraction splits the sessions from first to last); empty: the data's last",
			checkDate, func(s *resolvedConfig) *string { return &s.Env.LastSession }),
		intKey("warmup_bars", secEnv, "bars", ">= 1", "", "bars of history an episode needs before its first decision",
			checkMin(1), func(s *resolvedConfig) *int { return &s.Env.WarmupBars }),
		boolKey("repair_div100", secEnv, "", "multiply bars that look divided by 100 by 100 when loading",
			func(s *resolvedConfig) *bool { return &s.Env.RepairDiv100 }),
		floatKey("sl_atr", secEnv, "ATR14", openLow(0, math.Inf(1)), "", "stop distance from entry",
			func(s *resolvedConfig) *float64 { return &s.Env.SLATR }),
		floatKey("tp_ratio", secEnv, "stop distances", openLow(0, math.Inf(1)), "", "target distance from entry",
			func(s *resolvedConfig) *float64 { return &s.Env.TPRatio }),
		intKey("be_offset_ticks", secEnv, "ticks", ">= 0", "", "break-even stop offset from the entry price",
			checkMin(0), func(s *resolvedConfig) *int { return &s.Env.BEOffsetTicks }),
		floatKey("trail_atr", secEnv, "ATR14", openLow(0, math.Inf(1)), "", "trailing-stop distance from the close",
			func(s *resolvedConfig) *float64 { return &s.Env.TrailATR }),
		intKey("no_entry_minutes", secEnv, "minutes", ">= 0", "", "entries end this many minutes before the flatten time",
			checkMin(0), func(s *resolvedConfig) *int { return &s.Env.NoEntryMinutes }),
		intKey("contracts", secEnv, "contracts", ">= 1, <= the plan's maximum", "", "contracts per entry",
			checkMin(1), func(s *resolvedConfig) *int { return &s.Env.Contracts }),
		stringKey("plan", secEnv, "", "25k, 50k, 75k, 100k, 150k, 250k or 300k", "plan", "Apex account plan (start balance, trailing amount, max contracts, target)",
			checkEnum("25k", "50k", "75k", "100k", "150k", "250k", "300k"), func(s *resolvedConfig) *string { return &s.Env.Plan }),
		stringKey("apex_mode", secEnv, "", "evaluation or funded", "", "evaluation: the threshold always trails; funded: it stops at start + 100",
			checkEnum(env.ApexEvaluation, env.ApexFunded), func(s *resolvedConfig) *string { return &s.Env.ApexMode }),
		intKey("min_trading_days", secEnv, "sessions", ">= 1", "", "sessions with a trade an evaluation needs to pass",
			checkMin(1), func(s *resolvedConfig) *int { return &s.Env.MinTradingDays }),
		intKey("episode_sessions", secEnv, "sessions", ">= 1", "", "sessions per training episode",
			checkMin(1), func(s *resolvedConfig) *int { return &s.Env.EpisodeSessions }),
		stringKey("reward", secEnv, "", "pnl or apex-shaped", "", "reward function",
			checkEnum(env.RewardPnL, env.RewardApexShaped), func(s *resolvedConfig) *string { return &s.Env.Reward }),
		floatKey("reward_scale_ticks", secEnv, "ticks", openLow(0, math.Inf(1)), "", "one unit of pnl reward",
			func(s *resolvedConfig) *float64 { return &s.Env.RewardScaleTicks }),
		floatKey("breach_reward", secEnv, "reward", anyFinite(), "", "added to the reward on an Apex breach",
			func(s *resolvedConfig) *float64 { return &s.Env.BreachReward }),
		floatKey("invalid_action_reward", secEnv, "reward", anyFinite(), "", "reward of a masked action",
			func(s *resolvedConfig) *float64 { return &s.Env.InvalidActionReward }),

		// The nested key.
		{Name: instrumentsKey, Section: secEnv, Type: typeInstruments, Range: "symbol -> instrument (see below)",
			Doc: "custom instruments, or overrides of built-in ones; config files only"},
	}
}

// instrumentKeys returns the fields of an instrument (instruments.<SYM>.<field>) in docs
// order: how files set them, how config.yaml and a checkpoint's configuration write them, and
// how a resumed run compares them.
func instrumentKeys() []instrumentKey {
	return []instrumentKey{
		floatKey("point_value", "", "dollars per point", openLow(0, math.Inf(1)), "", "",
			func(s *env.InstrumentSpec) *float64 { return &s.PointValue }),
		floatKey("tick_size", "", "points", openLow(0, math.Inf(1)), "", "",
			func(s *env.InstrumentSpec) *float64 { return &s.TickSize }),
		floatKey("commission_per_side", "", "dollars per contract", closed(0, math.Inf(1)), "", "",
			func(s *env.InstrumentSpec) *float64 { return &s.CommissionPerSide }),
		intKey("slippage_ticks", "", "ticks", ">= 0", "", "",
			checkMin(0), func(s *env.InstrumentSpec) *int { return &s.SlippageTicks }),
		floatKey("typical_price", "", "points", openLow(0, math.Inf(1)), "", "",
			func(s *env.InstrumentSpec) *float64 { return &s.TypicalPrice }),
		stringKey("timezone", "", "IANA zone", "e.g. `America/Chicago`", "", "",
			nil, func(s *env.InstrumentSpec) *string { return &s.Timezone }),
		stringsKey("data_session", "`HH:MM-HH:MM` bar open times", "increasing, not overlapping (gaps are breaks)",
			func(s *env.InstrumentSpec) *[]string { return &s.DataSession }),
		stringKey("entry_start", "", "`HH:MM`", "inside the data session", "", "",
			nil, func(s *env.InstrumentSpec) *string { return &s.EntryStart }),
		stringKey("flatten_time", "", "`HH:MM`", "inside the data session, after entry_start", "", "",
			nil, func(s *env.InstrumentSpec) *string { return &s.FlattenTime }),
		optionalKey(stringKey("calendar", "", "", "`\"\"` (none), `cme-equity`, `cme-energy-metals` or a calendar file (CSV)", "", "",
			nil, func(s *env.InstrumentSpec) *string { return &s.Calendar })),
	}
}

// resumeKeys lists the configuration of a run's settings (those a checkpoint recorded, or a
// resumed run's) key by key, each key reading its own value, for the trainer to compare on
// resume (ppo.Setup.ConfigKeys): the keys of the network, PPO and environment sections, and
// the fields of the market's instrument as instruments.<SYM>.<field>. The run section is not
// listed: the trainer checks phase, market, data and base itself, device, out, resume and
// quiet may change, and init_from is a record of how the run started, not a setting.
func resumeKeys(r *ppo.RunSettings) []ppo.KeyValue {
	c := &resolvedConfig{Phase: r.Phase, Market: r.Market, Base: r.Base, PPO: r.PPO, Policy: r.Policy, Env: r.Env}
	var out []ppo.KeyValue
	for _, k := range configKeys() {
		if k.Section == secRun || k.Type == typeInstruments {
			continue
		}
		out = append(out, ppo.KeyValue{Key: k.Name, Value: k.value(c)})
	}
	if r.Instrument != nil {
		spec := r.Instrument.Spec()
		for _, f := range instrumentKeys() {
			out = append(out, ppo.KeyValue{Key: instrumentsKey + "." + r.Instrument.Symbol + "." + f.Name, Value: f.value(&spec)})
		}
	}
	return out
}

// lookupKey returns the key called name.
func lookupKey[T any](keys []keyOf[T], name string) (keyOf[T], bool) {
	for _, k := range keys {
		if k.Name == name {
			return k, true
		}
	}
	return keyOf[T]{}, false
}

// keyNames returns the names of keys, in order.
func keyNames[T any](keys []keyOf[T]) []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	return names
}

// ---- key constructors ----
//
// Each takes the key's description and field, a function from the T that holds the key to
// the field, and returns a key that converts, checks and stores values there.

type integer interface{ ~int | ~int64 | ~uint64 }

func intKey[T any, N integer](name, section, unit, rng, flag, doc string, check func(N) error, field func(*T) *N) keyOf[T] {
	return keyOf[T]{
		Name: name, Section: section, Type: typeInt, Unit: unit, Range: rng, Flag: flag, Doc: doc,
		apply: func(dst *T, raw any) error {
			n, err := toInt64(raw)
			if err != nil {
				return err
			}
			var v N
			if _, unsigned := any(v).(uint64); unsigned && n < 0 {
				return fmt.Errorf("want an integer >= 0, got %d", n)
			}
			v = N(n)
			if check != nil {
				if err := check(v); err != nil {
					return err
				}
			}
			*field(dst) = v
			return nil
		},
		value: func(src *T) any { return *field(src) },
	}
}

// floatRange is an interval of accepted numbers.
type floatRange struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

func openLow(lo, hi float64) floatRange { return floatRange{lo: lo, hi: hi, loOpen: true} }
func closed(lo, hi float64) floatRange  { return floatRange{lo: lo, hi: hi} }
func anyFinite() floatRange             { return floatRange{lo: math.Inf(-1), hi: math.Inf(1)} }

func (r floatRange) contains(x float64) bool {
	if r.loOpen && !(x > r.lo) || !r.loOpen && !(x >= r.lo) {
		return false
	}
	return !(r.hiOpen && !(x < r.hi) || !r.hiOpen && !(x <= r.hi))
}

// String renders the interval as the docs write it: "> 0", ">= 0", "(0, 1]", "any".
func (r floatRange) String() string {
	switch {
	case math.IsInf(r.lo, -1) && math.IsInf(r.hi, 1):
		return "any finite number"
	case math.IsInf(r.hi, 1) && r.loOpen:
		return "> " + fmtFloat(r.lo)
	case math.IsInf(r.hi, 1):
		return ">= " + fmtFloat(r.lo)
	}
	lb, rb := "[", "]"
	if r.loOpen {
		lb = "("
	}
	if r.hiOpen {
		rb = ")"
	}
	return lb + fmtFloat(r.lo) + ", " + fmtFloat(r.hi) + rb
}

func floatKey[T any](name, section, unit string, r floatRange, flag, doc string, field func(*T) *float64) keyOf[T] {
	return keyOf[T]{
		Name: name, Section: section, Type: typeFloat, Unit: unit, Range: r.String(), Flag: flag, Doc: doc,
		apply: func(dst *T, raw any) error {
			x, err := toFloat(raw)
			if err != nil {
				return err
			}
			if !r.contains(x) {
				return fmt.Errorf("want a number %s, got %s", r, fmtFloat(x))
			}
			*field(dst) = x
			return nil
		},
		value: func(src *T) any { return *field(src) },
	}
}

func boolKey[T any](name, section, flag, doc string, field func(*T) *bool) keyOf[T] {
	return keyOf[T]{
		Name: name, Section: section, Type: typeBool, Range: "true or false", Flag: flag, Doc: doc,
		apply: func(dst *T, raw any) error {
			b, err := toBool(raw)
			if err != nil {
				return err
			}
			*field(dst) = b
			return nil
		},
		value: func(src *T) any { return *field(src) },
	}
}

func stringKey[T any](name, section, unit, rng, flag, doc string, check func(string) error, field func(*T) *string) keyOf[T] {
	return keyOf[T]{
		Name: name, Section: section, Type: typeString, Unit: unit, Range: rng, Flag: flag, Doc: doc,
		apply: func(dst *T, raw any) error {
			str, ok := raw.(string)
			if !ok {
				return fmt.Errorf("want a string, got %v", describeRaw(raw))
			}
			str = strings.TrimSpace(str)
			if check != nil {
				if err := check(str); err != nil {
					return err
				}
			}
			if name == "market" {
				str = strings.ToUpper(str)
			}
			*field(dst) = str
			return nil
		},
		value: func(src *T) any { return *field(src) },
	}
}

// stringsKey is a list of strings; a single string is a list of one.
func stringsKey[T any](name, unit, rng string, field func(*T) *[]string) keyOf[T] {
	return keyOf[T]{
		Name: name, Type: typeStrings, Unit: unit, Range: rng,
		apply: func(dst *T, raw any) error {
			list, err := toStrings(raw)
			if err != nil {
				return err
			}
			*field(dst) = list
			return nil
		},
		value: func(src *T) any { return append([]string(nil), *field(src)...) },
	}
}

// pathsKey is a list of paths: a YAML list, or a string of paths separated by commas (a
// flag, given once or repeated, or an environment variable). Its value is a string when it
// holds one path or none, so that config.yaml writes `data: bars.csv` as before lists.
func pathsKey[T any](name, section, rng, flag, doc string, field func(*T) *[]string) keyOf[T] {
	return keyOf[T]{
		Name: name, Section: section, Type: typePaths, Unit: "paths", Range: rng, Flag: flag, Doc: doc,
		apply: func(dst *T, raw any) error {
			paths, err := toPaths(raw)
			if err != nil {
				return err
			}
			*field(dst) = paths
			return nil
		},
		value: func(src *T) any {
			switch p := *field(src); len(p) {
			case 0:
				return ""
			case 1:
				return p[0]
			default:
				return slices.Clone(p)
			}
		},
	}
}

func layersKey[T any](name, doc string, field func(*T) *[]int) keyOf[T] {
	return keyOf[T]{
		Name: name, Section: secNetwork, Type: typeLayers, Unit: "units", Range: "one or more sizes >= 1", Doc: doc,
		apply: func(dst *T, raw any) error {
			layers, err := toLayers(raw)
			if err != nil {
				return err
			}
			*field(dst) = layers
			return nil
		},
		value: func(src *T) any { return append([]int(nil), *field(src)...) },
	}
}

// ---- checks ----

func checkMin[T integer](min T) func(T) error {
	return func(v T) error {
		if v < min {
			return fmt.Errorf("want an integer >= %d, got %d", min, v)
		}
		return nil
	}
}

func checkOneOf(allowed ...int) func(int) error {
	return func(v int) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("want one of %v, got %d", allowed, v)
	}
}

func checkEnum(allowed ...string) func(string) error {
	return func(v string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("want one of %s, got %q", strings.Join(allowed, ", "), v)
	}
}

// checkDate accepts an exchange date (YYYY-MM-DD) or nothing.
func checkDate(v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return fmt.Errorf("want a date YYYY-MM-DD or \"\", got %q", v)
	}
	return nil
}

func checkDevice(v string) error {
	if strings.EqualFold(v, "auto") {
		return nil
	}
	if _, err := device.Parse(v); err != nil {
		return fmt.Errorf("want auto, cpu, cuda or cuda:N, got %q", v)
	}
	return nil
}

// ---- strict conversions of raw layer values ----
//
// Values reach the table as YAML values (int, float64, bool, string, []any), environment
// strings or flag strings. The conversions are strict where viper's cast package is lenient
// (cast turns "eight" into 0): a value that is not what the key wants is an error.

func toInt64(raw any) (int64, error) {
	switch v := raw.(type) {
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case int32:
		return int64(v), nil
	case uint64:
		if v > math.MaxInt64 {
			return 0, fmt.Errorf("want an integer, got %d (too large)", v)
		}
		return int64(v), nil
	case float64:
		return floatToInt(v, fmtFloat(v))
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(v), "_", "")
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return floatToInt(f, strconv.Quote(v))
		}
		return 0, fmt.Errorf("want an integer, got %q", v)
	}
	return 0, fmt.Errorf("want an integer, got %v", describeRaw(raw))
}

// floatToInt accepts integral numbers written as floats (5e6), as users write timesteps.
func floatToInt(f float64, shown string) (int64, error) {
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) >= 1<<63 {
		return 0, fmt.Errorf("want an integer, got %s", shown)
	}
	return int64(f), nil
}

func toFloat(raw any) (float64, error) {
	var f float64
	switch v := raw.(type) {
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case uint64:
		f = float64(v)
	case float64:
		f = v
	case string:
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("want a number, got %q", v)
		}
		f = x
	default:
		return 0, fmt.Errorf("want a number, got %v", describeRaw(raw))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("want a finite number, got %v", f)
	}
	return f, nil
}

func toBool(raw any) (bool, error) {
	switch v := raw.(type) {
	case bool:
		return v, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return false, fmt.Errorf("want true or false, got %q", v)
		}
		return b, nil
	}
	return false, fmt.Errorf("want true or false, got %v", describeRaw(raw))
}

// toLayers reads a YAML list of sizes, or a string "512,256,128" / "[512, 256, 128]" from
// the environment.
func toLayers(raw any) ([]int, error) {
	var items []any
	switch v := raw.(type) {
	case []any:
		items = v
	case []int:
		for _, n := range v {
			items = append(items, n)
		}
	case string:
		s := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(v), "["), "]")
		if strings.TrimSpace(s) != "" {
			for _, f := range strings.Split(s, ",") {
				items = append(items, strings.TrimSpace(f))
			}
		}
	default:
		return nil, fmt.Errorf("want a list of layer sizes such as [512, 256, 128], got %v", describeRaw(raw))
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("want at least one layer size, got none")
	}
	layers := make([]int, len(items))
	for i, it := range items {
		n, err := toInt64(it)
		if err != nil || n < 1 || n > 1<<20 {
			return nil, fmt.Errorf("want layer sizes >= 1, got %v at position %d", it, i+1)
		}
		layers[i] = int(n)
	}
	return layers, nil
}

// toStrings reads a list of strings; a single string is a list of one.
func toStrings(raw any) ([]string, error) {
	switch v := raw.(type) {
	case string:
		return []string{strings.TrimSpace(v)}, nil
	case []any:
		out := make([]string, len(v))
		for i, it := range v {
			s, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("want a list of \"HH:MM-HH:MM\" ranges, got %v at position %d", describeRaw(it), i+1)
			}
			out[i] = strings.TrimSpace(s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of \"HH:MM-HH:MM\" ranges, got %v", describeRaw(raw))
}

// toPaths reads a list of paths: a YAML list of strings, a flag's []string, or one string
// split at commas. Spaces around a path are dropped, and so are empty entries ("a.csv,"),
// so that "" is no path at all.
func toPaths(raw any) ([]string, error) {
	var items []string
	switch v := raw.(type) {
	case string:
		items = strings.Split(v, ",")
	case []string:
		items = v
	case []any:
		for i, it := range v {
			s, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("want a list of paths, got %v at position %d", describeRaw(it), i+1)
			}
			items = append(items, s)
		}
	default:
		return nil, fmt.Errorf("want a path or a list of paths, got %v", describeRaw(raw))
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func describeRaw(raw any) string {
	switch v := raw.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(v)
	case []any:
		return fmt.Sprintf("a list %v", v)
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprint(raw)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
