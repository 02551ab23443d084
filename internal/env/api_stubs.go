package env

// This file holds the signatures agreed between packages. Helpers replace each stub with
// its implementation in the file that owns it and delete it from here; when this file is
// empty it is removed.

import (
	"errors"
	"math/rand/v2"
)

var errTODO = errors.New("env: not implemented yet")

// ---- apex.go (simulator owner) ----

// Plan is one row of the Apex plan table (rule set apex-2025).
type Plan struct {
	Name           string
	StartBalance   float64
	TrailingAmount float64
	MaxContracts   int
	ProfitTarget   float64
}

// LookupPlan returns the plan called name (25k, 50k, 75k, 100k, 150k, 250k, 300k).
func LookupPlan(name string) (Plan, error) { return Plan{Name: name, MaxContracts: 10}, nil }

// ---- instrument.go / load.go (data owner) ----

// ---- synth.go (data owner) ----

// Synthesize generates seeded 1-minute bars for inst: sessions weekday sessions of the
// instrument's data session. Same arguments, same bars.
func Synthesize(inst Instrument, sessions int, seed uint64) (*Dataset, error) { return nil, errTODO }

// ---- env.go / vec.go (simulator owner) ----

// ExitReason says why a position was closed.
type ExitReason uint8

// Exit reasons.
const (
	ExitNone ExitReason = iota
	ExitStop
	ExitTrailStop
	ExitTarget
	ExitFlatten
	ExitBreach
)

// Info is what one step reports besides the observation, reward and episode flags.
type Info struct {
	InvalidAction bool       // the action was masked (reward invalid_action_reward)
	TradeClosed   bool       // a position was closed in this step
	TradePnL      float64    // net dollars of the closed trade (after both commissions)
	Exit          ExitReason // why it closed
	Breach        bool       // equity met the Apex threshold in this step
	Equity        float64    // equity marked at close[t]

	// Set in the step that ends an episode: raw totals of the episode.
	EpisodeReward float64
	EpisodeLength int
	EpisodePnL    float64
	EpisodeTrades int
	EpisodeWins   int
	EpisodeMaxDD  float64 // largest peak-to-trough fall of marked equity, dollars
}

// Trade is one closed round trip, as the evaluation report lists it.
type Trade struct {
	EntryTime, ExitTime   int64 // Unix seconds of the fill bar and the exit bar
	Side                  int   // +1 long, -1 short
	Contracts             int
	EntryPrice, ExitPrice float64
	Exit                  ExitReason
	Ticks                 int     // signed ticks gained per contract
	Gross                 float64 // ticks x tick value x contracts
	Commission            float64 // both sides, all contracts
	Net                   float64 // Gross - Commission
}

// BarRecord is the account after one step, for equity curves.
type BarRecord struct {
	Time      int64
	Equity    float64
	Threshold float64
	Position  int // signed contracts
}

// Observer receives trades and per-step account records; nil costs nothing.
type Observer interface {
	Trade(Trade)
	Bar(BarRecord)
}

// Mode selects how an Env walks through its sessions.
type Mode uint8

// Modes.
const (
	// ModeRandom: training; each episode starts at a session drawn from the env's generator
	// and runs episode_sessions sessions with a fresh account; a breach terminates it.
	ModeRandom Mode = iota
	// ModeOrdered: training-time evaluation; episode k is session k of Options.Sessions
	// (cycling), one session, fresh account; a breach terminates it.
	ModeOrdered
	// ModeContinuous: the report's backtest; one episode over every session of
	// Options.Sessions with one account; a breach is reported once and trading continues
	// from the breached equity.
	ModeContinuous
)

// Options are the constructor arguments of an Env that are not configuration keys.
type Options struct {
	Sessions []int    // sessions (indices into Dataset.Sessions) the env may use
	Mode     Mode     // how episodes walk through them
	ObsDim   int      // ObsDim (Phase 3) or BaseObsDim (Phase 2); 0 means ObsDim
	Observer Observer // optional
}

// Step is the result of one Env step.
type Step struct {
	Reward     float64
	Terminated bool
	Truncated  bool
	Info       Info
}

// Env is one trading environment. It is not safe for concurrent use.
type Env struct{}

// New returns an env over ds; rng is its own generator.
func New(ds *Dataset, cfg Config, opt Options, rng *rand.Rand) (*Env, error) { return nil, errTODO }

// Reset starts a new episode and writes its first observation and mask.
func (e *Env) Reset(obs []float32, mask []bool) error { return errTODO }

// Step applies action a at the open of the current bar, processes the bar and writes the
// observation and mask of the next decision (the final observation when the episode ended).
func (e *Env) Step(a Action, obs []float32, mask []bool) Step { return Step{} }

// Batch is the caller-owned set of contiguous buffers a VecEnv writes into.
type Batch struct {
	N, ObsDim   int
	NumActions  int       // mask width: NumActions for the trading env; test envs may differ
	Obs         []float32 // N x ObsDim: observation of the next decision
	Masks       []bool    // N x NumActions: legal actions of the next decision
	Rewards     []float64 // N
	Terminated  []bool    // N
	Truncated   []bool    // N
	TerminalObs []float32 // N x ObsDim: final observation of an episode that ended this step
	Infos       []Info    // N
}

// NewBatch allocates a Batch for n envs with obsDim observations and numActions actions.
func NewBatch(n, obsDim, numActions int) *Batch {
	return &Batch{
		N: n, ObsDim: obsDim, NumActions: numActions,
		Obs: make([]float32, n*obsDim), Masks: make([]bool, n*numActions),
		Rewards: make([]float64, n), Terminated: make([]bool, n), Truncated: make([]bool, n),
		TerminalObs: make([]float32, n*obsDim), Infos: make([]Info, n),
	}
}

// VecEnv steps n Envs in parallel goroutines with auto-reset.
type VecEnv struct{}

// NewVec returns n envs over ds; env i draws from its own generator derived from seed and i.
func NewVec(ds *Dataset, cfg Config, opt Options, n int, seed uint64) (*VecEnv, error) {
	return nil, errTODO
}

// NumEnvs is the number of envs.
func (v *VecEnv) NumEnvs() int { return 0 }

// ObsDim is the observation length (ObsDim or BaseObsDim).
func (v *VecEnv) ObsDim() int { return 0 }

// NumActions is NumActions (the mask width).
func (v *VecEnv) NumActions() int { return NumActions }

// Reset resets every env and fills b.Obs and b.Masks.
func (v *VecEnv) Reset(b *Batch) error { return errTODO }

// Step applies actions[i] to env i in parallel and fills b; an env whose episode ended is
// reset, its final observation written to b.TerminalObs. No allocation.
func (v *VecEnv) Step(actions []int32, b *Batch) error { return errTODO }

// InvalidActions is the number of masked actions the envs have received since creation.
func (v *VecEnv) InvalidActions() int64 { return 0 }

// MarshalState encodes every env's complete state (generator, account, position, episode
// position) so that UnmarshalState on a VecEnv built with the same arguments continues
// exactly.
func (v *VecEnv) MarshalState() ([]byte, error) { return nil, errTODO }

// UnmarshalState restores a state written by MarshalState.
func (v *VecEnv) UnmarshalState(data []byte) error { return errTODO }

// Close stops the worker goroutines.
func (v *VecEnv) Close() {}
