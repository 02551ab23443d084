package ppo

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"hybridtrain/internal/env"
	"hybridtrain/internal/env/envtest"
)

// toyKind selects a toy environment's rule.
type toyKind int

const (
	// toyIdentity: SB3's IdentityEnv. The observation is the one-hot state, the reward 1
	// when the action equals the state; a new state is drawn every step.
	toyIdentity toyKind = iota
	// toyInvalid: sb3-contrib's InvalidActionEnvDiscrete: the identity env whose mask
	// hides all but valid actions (the correct one, HOLD and others drawn each step).
	toyInvalid
	// toyConst: reward 1 every step, one constant observation, episodes truncated every
	// epLen steps: V = 1/(1 - gamma) with bootstrapping.
	toyConst
	// toyContext: base features are noise, the state is one-hot in the context block; the
	// reward depends only on the context features.
	toyContext
	// toyTrap: the last action is always masked; the reward is 1 for action 1.
	toyTrap
)

// toySpec describes a toy environment.
type toySpec struct {
	kind    toyKind
	nAct    int
	baseDim int // toyContext: noise features before the one-hot context block
	epLen   int // steps per episode (truncated)
	valid   int // toyInvalid: legal actions per step
	// unmasked reports all-true masks (the "without masking" control).
	unmasked bool
	// nanAt makes the reward of env 0 NaN at that global step (0: never).
	nanAt int64
}

func (s toySpec) obsDim() int {
	switch s.kind {
	case toyConst:
		return 1
	case toyContext:
		return s.baseDim + s.nAct
	}
	return s.nAct
}

// toyEnv is a vectorised toy environment with auto-reset, truncation, masks, a
// masked-action counter and exact state save/restore. It implements Env, StateMarshaler and
// InvalidActionCounter.
type toyEnv struct {
	spec    toySpec
	n       int
	seed    uint64
	pcgs    []*rand.PCG
	rngs    []*rand.Rand
	state   []int
	t       []int
	masks   [][]bool
	steps   int64
	invalid int64
}

func newToyEnv(spec toySpec, n int, seed uint64) *toyEnv {
	e := &toyEnv{spec: spec, n: n, seed: seed, state: make([]int, n), t: make([]int, n), masks: make([][]bool, n)}
	for i := range n {
		p := rand.NewPCG(seed, 1000+uint64(i))
		e.pcgs = append(e.pcgs, p)
		e.rngs = append(e.rngs, rand.New(p))
		e.masks[i] = make([]bool, spec.nAct)
	}
	return e
}

func (e *toyEnv) NumEnvs() int          { return e.n }
func (e *toyEnv) ObsDim() int           { return e.spec.obsDim() }
func (e *toyEnv) NumActions() int       { return e.spec.nAct }
func (e *toyEnv) InvalidActions() int64 { return e.invalid }

// draw picks env i's next state and mask.
func (e *toyEnv) draw(i int) {
	s, r, m := e.spec, e.rngs[i], e.masks[i]
	e.state[i] = r.IntN(s.nAct)
	for a := range m {
		m[a] = true
	}
	switch s.kind {
	case toyInvalid:
		// HOLD (action 0) is always legal, as in the trading env (envtest's contract): the
		// legal set is the right action, action 0 and random others, valid in all.
		for a := range m {
			m[a] = false
		}
		m[e.state[i]], m[0] = true, true
		for k := 1 + b2i(e.state[i] != 0); k < s.valid; {
			a := r.IntN(s.nAct)
			if !m[a] {
				m[a] = true
				k++
			}
		}
	case toyTrap:
		e.state[i] = 1
		m[s.nAct-1] = false
	}
}

// write fills env i's observation row and mask.
func (e *toyEnv) write(i int, obs []float32, mask []bool) {
	s := e.spec
	for j := range obs {
		obs[j] = 0
	}
	switch s.kind {
	case toyConst:
		obs[0] = 1
	case toyContext:
		for j := range s.baseDim {
			obs[j] = float32(e.rngs[i].NormFloat64())
		}
		obs[s.baseDim+e.state[i]] = 1
	case toyTrap:
		obs[1] = 1
	default:
		obs[e.state[i]] = 1
	}
	if s.unmasked {
		for a := range mask {
			mask[a] = true
		}
		return
	}
	copy(mask, e.masks[i])
}

func (e *toyEnv) Reset(b *env.Batch) error {
	d, a := e.ObsDim(), e.spec.nAct
	for i := range e.n {
		e.t[i] = 0
		e.draw(i)
		e.write(i, b.Obs[i*d:(i+1)*d], b.Masks[i*a:(i+1)*a])
		b.Rewards[i], b.Terminated[i], b.Truncated[i], b.Infos[i] = 0, false, false, env.Info{}
	}
	return nil
}

func (e *toyEnv) Step(actions []int32, b *env.Batch) error {
	d, nA := e.ObsDim(), e.spec.nAct
	e.steps++
	for i := range e.n {
		a := int(actions[i])
		if a < 0 || a >= nA {
			return fmt.Errorf("toy env: action %d outside [0, %d)", a, nA)
		}
		var info env.Info
		if !e.masks[i][a] {
			e.invalid++
			info.InvalidAction = true
		}
		r := 0.0
		switch {
		case e.spec.kind == toyConst:
			r = 1
		case a == e.state[i]:
			r = 1
		}
		if e.spec.nanAt > 0 && e.steps == e.spec.nanAt && i == 0 {
			r = math.NaN()
		}
		e.t[i]++
		e.draw(i)
		obs, mask := b.Obs[i*d:(i+1)*d], b.Masks[i*nA:(i+1)*nA]
		e.write(i, obs, mask)
		b.Rewards[i], b.Terminated[i], b.Truncated[i] = r, false, false
		if e.t[i] == e.spec.epLen {
			b.Truncated[i] = true
			copy(b.TerminalObs[i*d:(i+1)*d], obs)
			e.t[i] = 0
			e.draw(i)
			e.write(i, obs, mask)
		}
		b.Infos[i] = info
	}
	return nil
}

type toyState struct {
	PCGs    [][]byte `json:"pcgs"`
	State   []int    `json:"state"`
	T       []int    `json:"t"`
	Masks   [][]bool `json:"masks"`
	Steps   int64    `json:"steps"`
	Invalid int64    `json:"invalid"`
}

func (e *toyEnv) MarshalState() ([]byte, error) {
	st := toyState{State: e.state, T: e.t, Masks: e.masks, Steps: e.steps, Invalid: e.invalid}
	for _, p := range e.pcgs {
		b, err := p.MarshalBinary()
		if err != nil {
			return nil, err
		}
		st.PCGs = append(st.PCGs, b)
	}
	return json.Marshal(st)
}

func (e *toyEnv) UnmarshalState(data []byte) error {
	var st toyState
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	if len(st.PCGs) != e.n {
		return fmt.Errorf("toy env: state of %d envs, have %d", len(st.PCGs), e.n)
	}
	for i, b := range st.PCGs {
		if err := e.pcgs[i].UnmarshalBinary(b); err != nil {
			return err
		}
	}
	e.state, e.t, e.masks, e.steps, e.invalid = st.State, st.T, st.Masks, st.Steps, st.Invalid
	return nil
}

// toyEnvs implements Envs for a toy spec: evaluation and the flat pass are single envs
// with fixed seeds (evaluation episodes are the same every time, as the validation
// sessions are).
type toyEnvs struct {
	spec         toySpec
	evalEpisodes int // the flat pass's episode count
}

func (t toyEnvs) Train(n int, seed uint64) (Env, error) { return newToyEnv(t.spec, n, seed), nil }

func (t toyEnvs) Eval() (Env, error) {
	s := t.spec
	s.nanAt = 0
	return newToyEnv(s, 1, 0xe7a1), nil
}

func (t toyEnvs) Flat() (Env, int, error) {
	s := t.spec
	s.nanAt = 0
	return newToyEnv(s, 1, 0xf1a7), max(1, t.evalEpisodes), nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestToyEnvsConform runs every toy env through the env package's conformance check, so
// that the trainer's tests drive envs that keep the trading env's contract.
func TestToyEnvsConform(t *testing.T) {
	for _, spec := range []toySpec{
		{kind: toyIdentity, nAct: 4, epLen: 7},
		{kind: toyInvalid, nAct: 70, valid: 15, epLen: 7},
		{kind: toyInvalid, nAct: 70, valid: 15, epLen: 7, unmasked: true},
		{kind: toyConst, nAct: 2, epLen: 5},
		{kind: toyContext, baseDim: 4, nAct: 4, epLen: 7},
		{kind: toyTrap, nAct: 4, epLen: 7},
	} {
		name := [...]string{"identity", "invalid", "const", "context", "trap"}[spec.kind]
		if spec.unmasked {
			name += "-unmasked"
		}
		t.Run(name, func(t *testing.T) {
			e := newToyEnv(spec, 3, 1)
			if n := envtest.Check(t, e, 50, rand.New(rand.NewPCG(1, 2))); n != 3*(50/spec.epLen) {
				t.Errorf("%d episodes ended in 50 steps of 3 envs, want %d", n, 3*(50/spec.epLen))
			}
		})
	}
}
