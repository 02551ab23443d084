package ppo

import (
	"errors"
	"fmt"
	"time"

	"hybridtrain/internal/adapter"
	"hybridtrain/internal/device"
	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// Env is the vectorised environment the trainer steps. *env.VecEnv satisfies it; tests
// step toy environments through it too. Reset and Step fill the caller-owned batch (its
// NumActions equals NumActions()); an env whose episode ended is reset by Step and its final
// observation written to Batch.TerminalObs.
//
// Optional abilities are probed with type assertions: StateMarshaler (exact resume) and
// InvalidActionCounter (the masked-action counter the `test` command checks).
type Env interface {
	NumEnvs() int
	ObsDim() int
	NumActions() int
	Reset(b *env.Batch) error
	Step(actions []int32, b *env.Batch) error
}

// StateMarshaler is an Env whose complete state (generators, accounts, positions, episode
// positions) can be saved and restored; a run over such an env resumes exactly.
type StateMarshaler interface {
	MarshalState() ([]byte, error)
	UnmarshalState(data []byte) error
}

// InvalidActionCounter is an Env that counts the masked actions it has received.
type InvalidActionCounter interface {
	InvalidActions() int64
}

// Envs builds the environments of a run. Nil in Setup means the trading environment over
// Setup.Dataset (the command line's case); tests supply toy environments.
type Envs interface {
	// Train returns n training envs whose generators derive from seed.
	Train(n int, seed uint64) (Env, error)
	// Eval returns one env whose episodes are, in order, the evaluation episodes (for the
	// trading env: the validation sessions, one per episode).
	Eval() (Env, error)
	// Flat returns one env and an episode count: stepping it with action 0 (HOLD) for that
	// many episodes walks the training split once with a flat account. Its observations
	// initialise the statistics of the context features on transfer.
	Flat() (Env, int, error)
}

// Recorder receives progress and metrics; the command line implements it with a progress
// bar or plain lines. Its methods are called from the goroutine that runs Train.
type Recorder interface {
	// Start is called once, before the first rollout: total is the timesteps target,
	// start the timesteps already done (non-zero on resume).
	Start(total, start int64)
	// Rollout is called after every update with that rollout's metrics.
	Rollout(RolloutMetrics)
	// Eval is called after every training-time evaluation.
	Eval(EvalMetrics)
}

// RolloutMetrics are the values logged once per rollout (one metrics.jsonl line, kind
// "rollout"), under stable-baselines3's tag names (see MetricsKeys).
type RolloutMetrics struct {
	Timesteps  int64 // time/total_timesteps
	Iterations int64 // time/iterations: rollouts collected so far
	FPS        int64 // time/fps: env steps per second since Train started (wall clock)
	Elapsed    float64

	// rollout/ep_rew_mean and rollout/ep_len_mean: raw episode return and length over the
	// last 100 finished episodes; absent while Episodes is 0.
	Episodes  int
	EpRewMean float64
	EpLenMean float64

	// train/*: means over the minibatches whose step was applied in this update (see
	// docs/training.md for the difference from SB3).
	ApproxKL           float64
	ClipFraction       float64
	EntropyLoss        float64
	PolicyGradientLoss float64
	ValueLoss          float64
	Loss               float64
	// ExplainedVariance is 1 - Var(returns - values)/Var(returns) over the rollout; absent
	// (HasExplainedVariance false) when Var(returns) is 0, where SB3 logs NaN.
	ExplainedVariance    float64
	HasExplainedVariance bool
	LearningRate         float64
	ClipRange            float64
	NUpdates             int64 // train/n_updates: epochs run so far (SB3 counts epochs)
	Minibatches          int   // train/minibatches: minibatches applied in this update
	EarlyStopped         bool  // train/early_stop: approx_kl exceeded 1.5 x target_kl
	BaseFrozen           bool  // train/base_frozen: the update ran inside the adapter warm-up

	// Adapter is the adapter's statistics after the update (adapter/*); nil in Phase 2.
	Adapter *adapter.Stats
}

// EvalMetrics are the results of an evaluation (one metrics.jsonl line, kind "eval"):
// deterministic, masked, frozen normaliser, raw reward.
type EvalMetrics struct {
	Timesteps     int64   // time/total_timesteps at which the evaluation ran
	Episodes      int     // eval/episodes
	MeanReward    float64 // eval/mean_reward: mean raw episode return
	StdReward     float64 // eval/std_reward: population std of the episode returns
	MeanLength    float64 // eval/mean_ep_length
	MeanPnL       float64 // eval/mean_pnl: mean episode P&L, dollars
	Trades        int     // eval/trades: closed trades over all episodes
	WinRate       float64 // eval/win_rate: winning trades / trades (0 without trades)
	MaxDrawdown   float64 // eval/max_drawdown: largest episode drawdown of marked equity, dollars
	MaskedActions int64   // eval/masked_actions: masked actions taken (must be 0)
	Best          bool    // eval/best: strictly higher mean reward than every earlier evaluation
}

// Setup is everything a training run needs.
type Setup struct {
	Phase   int    // 3 (261 inputs, adapter) or 2 (228 inputs, no adapter)
	Market  string // instrument symbol, recorded in metadata
	Dataset *env.Dataset
	Env     env.Config
	Policy  policy.Config // network; when transferring, the architecture of the base wins
	PPO     Config
	Device  device.Device

	// BaseDir is a Phase 2 checkpoint to transfer from (Phase 3 only); empty: from scratch.
	BaseDir string
	// InitFrom is a checkpoint of the run's phase and architecture to fine-tune: a new run
	// starts from its weights and normaliser statistics, with a fresh optimizer, counters
	// and schedule, on this Setup's data and settings (not with BaseDir). Metadata records
	// it (InitRecord). A resumed run ignores it: its own checkpoint holds the weights.
	InitFrom string
	// ResumeDir is a checkpoint of an earlier run to continue; the run directory is the
	// checkpoint's (RunDir must then be empty or that directory).
	ResumeDir string
	// RunDir is the run directory, already created by the caller with NewRunDir or checked
	// with CheckOutDir; it must be empty unless resuming.
	RunDir string

	// ConfigYAML is the resolved configuration, saved as config.yaml; Config is the same
	// configuration as a value (a struct or a map with the configuration keys), recorded in
	// every checkpoint's metadata.
	ConfigYAML []byte
	Config     any
	// ConfigKeys lists the configuration of a run's settings under the caller's keys, in
	// the order a message should name them first. On resume the trainer compares the lists
	// of the checkpoint's settings and of this run's, so that a changed setting is refused
	// naming the key as the user writes it (instruments.NQ.tick_size). Nil names the
	// settings as state.json does (Config's keys as they are, env.SLATR); the trainer
	// refuses a change either way.
	ConfigKeys func(*RunSettings) []KeyValue
	// ToolVersion is recorded in metadata.
	ToolVersion string

	// Envs builds the environments; nil means the trading environment over Dataset.
	Envs Envs
	// Now is the clock for created_at and time/fps; nil means time.Now.
	Now func() time.Time
}

// Result is what a training run reached; the `test` command's checks read it.
type Result struct {
	RunDir      string
	Final       string // final/ checkpoint, "" unless Finished
	Best        string // best/ checkpoint, "" before the first evaluation (kept across a resume)
	Interrupted string // interrupted/ checkpoint, "" unless interrupted
	LastSaved   string // the most recent checkpoint written, of any kind

	Timesteps int64 // timesteps reached
	Finished  bool  // reached total_timesteps
	Rollouts  int64 // rollouts collected (in this process and before a resume)

	// AdapterReports counts rollouts whose metrics carried adapter statistics (equals
	// Rollouts in Phase 3).
	AdapterReports int64
	// InvalidActions is the masked actions the training envs received.
	InvalidActions int64
	// Finite is false when a logged metric or a final parameter was NaN or Inf.
	Finite bool

	Evals    int64        // evaluations run
	LastEval *EvalMetrics // nil before the first evaluation

	// Model is the trained policy in memory with a frozen copy of the observation
	// statistics, as final/ holds them (nil unless Finished): the `test` command's
	// roundtrip check compares its actions with LoadModel(Final)'s.
	Model *Model
}

// ErrInterrupted is returned when ctx ended training: the partial rollout was discarded and
// the state after the last completed update saved in interrupted/ (Result.Interrupted).
var ErrInterrupted = errors.New("ppo: training interrupted")

// ErrConfig is wrapped by every configuration or usage error (the command line exits 2).
var ErrConfig = errors.New("configuration error")

// ConfigError is a configuration or usage error naming the key (or flag) at fault.
type ConfigError struct {
	Key string // configuration key or flag, e.g. "batch_size" or "out"
	Msg string // what is wrong and what was expected
}

// Error returns "ppo: KEY: MSG".
func (e *ConfigError) Error() string { return "ppo: " + e.Key + ": " + e.Msg }

// Is makes errors.Is(err, ErrConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

func configErrorf(key, format string, args ...any) error {
	return &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// NonFiniteError stops training when a reward, observation, loss, gradient or parameter is
// NaN or Inf. It names the update (1-based) during which it happened; nothing was saved
// after the last good checkpoint. It wraps policy.ErrNonFinite.
type NonFiniteError struct {
	Update    int64  // the update being prepared or run (1-based)
	Timesteps int64  // timesteps when it was found
	What      string // e.g. "reward of env 3", "update" (the policy's report)
	Err       error  // the cause, wrapping policy.ErrNonFinite
}

// Error names the update, the timesteps and what was not finite.
func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("ppo: update %d (timesteps %d): non-finite %s: %v", e.Update, e.Timesteps, e.What, e.Err)
}

// Unwrap returns the cause, which wraps policy.ErrNonFinite.
func (e *NonFiniteError) Unwrap() error { return e.Err }
