package env

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
)

// EnvStream is added to an env's index to form the stream (second PCG word) of its
// generator: env i of a VecEnv built with seed draws from
// rand.New(rand.NewPCG(seed, uint64(i)+EnvStream)). Other consumers of the run seed use
// streams outside [EnvStream, EnvStream+n) so that no two generators coincide.
const EnvStream uint64 = 0x656e760000000000 // "env" in the high bytes

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

// check reports whether b fits n envs of obsDim observations and numActions actions.
func (b *Batch) check(n, obsDim, numActions int) error {
	if b == nil {
		return errors.New("env: nil batch")
	}
	if b.N != n || b.ObsDim != obsDim || b.NumActions != numActions {
		return fmt.Errorf("env: batch is %d envs x %d obs x %d actions, want %d x %d x %d",
			b.N, b.ObsDim, b.NumActions, n, obsDim, numActions)
	}
	if len(b.Obs) != n*obsDim || len(b.TerminalObs) != n*obsDim || len(b.Masks) != n*numActions ||
		len(b.Rewards) != n || len(b.Terminated) != n || len(b.Truncated) != n || len(b.Infos) != n {
		return errors.New("env: batch buffers do not match its sizes (use NewBatch)")
	}
	return nil
}

// minChunk is the smallest number of envs a worker goroutine steps (see VecEnv). A variable
// so that tests can exercise the workers with a few envs.
var minChunk = 128

// VecEnv steps n Envs with auto-reset, in parallel goroutines when there are enough of them.
//
// The envs are split into min(GOMAXPROCS, n/minChunk) contiguous chunks (at least one); the
// calling goroutine steps the first and persistent workers, started by NewVec, step the
// others. A step hands each worker its chunk over a channel made once, so stepping creates
// no goroutine, channel or garbage. Close stops the workers.
//
// Why chunks of at least minChunk envs: an env step costs 0.2-0.3 µs (BenchmarkStep), while
// handing a chunk to a worker that has parked while the policy acted costs a futex wake-up,
// 10-25 µs on the 2-vCPU machines measured (docs/performance.md). Training's 2 to 8 envs
// therefore step on the caller; the chunking, and so every batch, does not depend on it
// (TestVecWorkersMatchSerial).
type VecEnv struct {
	envs   []*Env
	pcgs   []*rand.PCG // the envs' generator sources, for MarshalState
	seed   uint64
	cfg    Config
	ds     *Dataset
	obsDim int
	mode   Mode

	chunks [][2]int        // [lo, hi) env ranges; chunk 0 runs on the caller
	work   []chan struct{} // one per worker (chunks 1..)
	done   chan struct{}
	faults []error // per chunk: a panic recovered while stepping it (a bug), returned by Step
	closed bool

	// Set by Step for the workers; read only between a send on work and the reply on done.
	actions []int32
	batch   *Batch
}

// NewVec returns n envs over ds; env i draws from its own generator
// rand.New(rand.NewPCG(seed, uint64(i)+EnvStream)). In ModeOrdered env i starts at the i-th
// session (cycling) so that the envs spread over the sessions. An Observer is only allowed
// with n = 1: its calls would otherwise come from several goroutines.
func NewVec(ds *Dataset, cfg Config, opt Options, n int, seed uint64) (*VecEnv, error) {
	if n < 1 {
		return nil, fmt.Errorf("env: n_envs must be >= 1, got %d", n)
	}
	if opt.Observer != nil && n > 1 {
		return nil, fmt.Errorf("env: an observer needs a single env, got %d", n)
	}
	v := &VecEnv{seed: seed, cfg: cfg, ds: ds, mode: opt.Mode}
	for i := range n {
		pcg := rand.NewPCG(seed, uint64(i)+EnvStream)
		e, err := New(ds, cfg, opt, rand.New(pcg))
		if err != nil {
			return nil, err
		}
		if opt.Mode == ModeOrdered {
			e.st.Next = i % len(e.sessions)
		}
		v.envs = append(v.envs, e)
		v.pcgs = append(v.pcgs, pcg)
	}
	v.obsDim = v.envs[0].obsDim

	workers := max(1, min(n/minChunk, runtime.GOMAXPROCS(0)))
	for w := range workers {
		v.chunks = append(v.chunks, [2]int{w * n / workers, (w + 1) * n / workers})
	}
	v.done = make(chan struct{}, workers)
	v.faults = make([]error, workers)
	for w := 1; w < workers; w++ {
		ch := make(chan struct{})
		v.work = append(v.work, ch)
		go v.worker(ch, w)
	}
	return v, nil
}

func (v *VecEnv) worker(work <-chan struct{}, w int) {
	for range work {
		v.stepChunk(w)
		v.done <- struct{}{}
	}
}

// stepChunk steps chunk w. A panic there is a bug, but one in a worker goroutine would end
// the process with a stack trace that no caller can catch; it is recovered into an error
// that Step returns instead.
func (v *VecEnv) stepChunk(w int) {
	defer func() {
		if r := recover(); r != nil {
			v.faults[w] = fmt.Errorf("env: internal error stepping envs %d..%d: %v", v.chunks[w][0], v.chunks[w][1]-1, r)
		}
	}()
	v.stepRange(v.chunks[w][0], v.chunks[w][1])
}

// NumEnvs is the number of envs.
func (v *VecEnv) NumEnvs() int { return len(v.envs) }

// ObsDim is the observation length (ObsDim or BaseObsDim).
func (v *VecEnv) ObsDim() int { return v.obsDim }

// NumActions is NumActions (the mask width).
func (v *VecEnv) NumActions() int { return NumActions }

// Env returns env i, for inspection (its session, counters); stepping it directly would
// desynchronise the batch.
func (v *VecEnv) Env(i int) *Env { return v.envs[i] }

// Reset resets every env and fills b.Obs and b.Masks; rewards, flags and infos are zeroed.
func (v *VecEnv) Reset(b *Batch) error {
	if err := v.usable(b); err != nil {
		return err
	}
	for i, e := range v.envs {
		e.reset()
		v.writeRow(b, i)
		b.Rewards[i], b.Terminated[i], b.Truncated[i], b.Infos[i] = 0, false, false, Info{}
	}
	return nil
}

// Observe writes every env's current observation and mask into b without stepping, for a
// caller that restored the envs with UnmarshalState. An env whose episode has ended gets the
// first observation of its next episode only when it steps; Observe writes a fresh
// episode's mask for it and leaves its observation row as it is.
func (v *VecEnv) Observe(b *Batch) error {
	if err := v.usable(b); err != nil {
		return err
	}
	for i, e := range v.envs {
		if e.st.Active {
			v.writeRow(b, i)
		} else {
			copy(b.Masks[i*NumActions:(i+1)*NumActions], e.mask[:])
		}
	}
	return nil
}

func (v *VecEnv) writeRow(b *Batch, i int) {
	e := v.envs[i]
	e.write(b.Obs[i*v.obsDim:(i+1)*v.obsDim], b.Masks[i*NumActions:(i+1)*NumActions], e.st.T-1)
}

func (v *VecEnv) usable(b *Batch) error {
	if v.closed {
		return errors.New("env: vec env is closed")
	}
	return b.check(len(v.envs), v.obsDim, NumActions)
}

// Step applies actions[i] to env i (chunks on the workers in parallel) and fills b; an env whose episode ended is
// reset, its final observation written to b.TerminalObs (rows of other envs are left as
// they were). A masked action is counted and earns invalid_action_reward (see Env.Step); an
// action id outside [0, NumActions) is an error and nothing is stepped. No allocation.
func (v *VecEnv) Step(actions []int32, b *Batch) error {
	if err := v.usable(b); err != nil {
		return err
	}
	if len(actions) != len(v.envs) {
		return fmt.Errorf("env: got %d actions for %d envs", len(actions), len(v.envs))
	}
	for i, a := range actions {
		if a < 0 || a >= NumActions {
			return fmt.Errorf("env: action %d of env %d outside [0, %d)", a, i, NumActions)
		}
	}
	v.actions, v.batch = actions, b
	for _, ch := range v.work {
		ch <- struct{}{}
	}
	v.stepChunk(0)
	for range v.work {
		<-v.done
	}
	v.actions, v.batch = nil, nil
	for w, err := range v.faults {
		if err != nil {
			v.faults[w] = nil
			return err
		}
	}
	return nil
}

// stepRange steps envs [lo, hi) with v.actions into v.batch.
func (v *VecEnv) stepRange(lo, hi int) {
	b, d := v.batch, v.obsDim
	for i := lo; i < hi; i++ {
		e := v.envs[i]
		obs := b.Obs[i*d : (i+1)*d]
		mask := b.Masks[i*NumActions : (i+1)*NumActions]
		r := e.Step(Action(v.actions[i]), obs, mask)
		b.Rewards[i], b.Terminated[i], b.Truncated[i], b.Infos[i] = r.Reward, r.Terminated, r.Truncated, r.Info
		if r.Terminated || r.Truncated {
			copy(b.TerminalObs[i*d:(i+1)*d], obs)
			e.reset()
			e.write(obs, mask, e.st.T-1)
		}
	}
}

// InvalidActions is the number of masked actions the envs have received since creation.
func (v *VecEnv) InvalidActions() int64 {
	var n int64
	for _, e := range v.envs {
		n += e.st.Invalid
	}
	return n
}

// Close stops the worker goroutines; the VecEnv cannot step afterwards. Closing twice is
// harmless.
func (v *VecEnv) Close() {
	if v.closed {
		return
	}
	v.closed = true
	for _, ch := range v.work {
		close(ch)
	}
}

// vecStateFormat identifies the encoding written by MarshalState.
const vecStateFormat = "hybridtrain-env-state/1"

type vecState struct {
	Format   string     `json:"format"`
	Source   string     `json:"source"`
	Bars     int        `json:"bars"`
	Sessions int        `json:"sessions"`
	Mode     string     `json:"mode"`
	ObsDim   int        `json:"obs_dim"`
	Seed     uint64     `json:"seed"`
	Config   Config     `json:"config"`
	Envs     []envEntry `json:"envs"`
}

type envEntry struct {
	RNG   []byte   `json:"rng"` // rand.PCG.MarshalBinary
	State envState `json:"state"`
}

// MarshalState encodes every env's complete state (generator, account, position, episode
// position, counters) as JSON, so that UnmarshalState on a VecEnv built with the same
// arguments continues exactly.
func (v *VecEnv) MarshalState() ([]byte, error) {
	s := vecState{
		Format: vecStateFormat, Source: v.ds.Source, Bars: v.ds.Bars.Len(), Sessions: len(v.ds.Sessions),
		Mode: v.mode.String(), ObsDim: v.obsDim, Seed: v.seed, Config: v.cfg,
	}
	for i, e := range v.envs {
		rng, err := v.pcgs[i].MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("env: state of env %d: %w", i, err)
		}
		s.Envs = append(s.Envs, envEntry{RNG: rng, State: e.st})
	}
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("env: state: %w", err)
	}
	return data, nil
}

// UnmarshalState restores a state written by MarshalState. It checks that the state was
// written by a VecEnv of the same shape over the same data and configuration and names the
// field that differs; on error the envs are unchanged.
func (v *VecEnv) UnmarshalState(data []byte) error {
	var s vecState
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("env: state: %w", err)
	}
	mismatch := func(field string, got, want any) error {
		return fmt.Errorf("env: state: %s is %v, this vec env has %v", field, got, want)
	}
	switch {
	case s.Format != vecStateFormat:
		return fmt.Errorf("env: state: format %q, want %q", s.Format, vecStateFormat)
	case len(s.Envs) != len(v.envs):
		return mismatch("number of envs", len(s.Envs), len(v.envs))
	case s.Bars != v.ds.Bars.Len():
		return mismatch("number of bars", s.Bars, v.ds.Bars.Len())
	case s.Sessions != len(v.ds.Sessions):
		return mismatch("number of sessions", s.Sessions, len(v.ds.Sessions))
	case s.Mode != v.mode.String():
		return mismatch("mode", s.Mode, v.mode)
	case s.ObsDim != v.obsDim:
		return mismatch("observation size", s.ObsDim, v.obsDim)
	case s.Seed != v.seed:
		return mismatch("seed", s.Seed, v.seed)
	}
	if f := configDiff(s.Config, v.cfg); f != "" {
		return fmt.Errorf("env: state: configuration differs in %s", f)
	}
	// Decode and check everything before touching an env.
	pcgs := make([]rand.PCG, len(v.envs))
	for i, ent := range s.Envs {
		if err := pcgs[i].UnmarshalBinary(ent.RNG); err != nil {
			return fmt.Errorf("env: state of env %d: generator: %w", i, err)
		}
	}
	saved := make([]envState, len(v.envs))
	for i, e := range v.envs {
		saved[i] = e.st
	}
	for i, e := range v.envs {
		if err := e.restore(s.Envs[i].State); err != nil {
			for k := range i {
				_ = v.envs[k].restore(saved[k])
			}
			return fmt.Errorf("env: state of env %d: %w", i, err)
		}
	}
	for i := range v.envs {
		*v.pcgs[i] = pcgs[i]
	}
	return nil
}
