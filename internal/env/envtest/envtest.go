// Package envtest checks that a vectorised environment keeps the trainer's contract.
//
// Check tests observation and mask shapes, HOLD (action 0) always legal, at least one legal
// action, finite observations and rewards, terminated and truncated never both, and a final
// observation for every ended episode. The trading env and the toy envs of other packages'
// tests run through the same Check.
package envtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"hybridtrain/internal/env"
)

// VecEnv is what Check drives; *env.VecEnv and the trainer's test envs satisfy it.
type VecEnv interface {
	NumEnvs() int
	ObsDim() int
	NumActions() int
	Reset(b *env.Batch) error
	Step(actions []int32, b *env.Batch) error
}

// Check resets e and steps it steps times with actions drawn uniformly among the legal ones
// by rng, reporting every broken rule through t (Errorf for each row at fault, Fatalf when
// the env cannot go on). It returns the number of episodes that ended, so that a caller can
// also assert that its env ends episodes.
func Check(t testing.TB, e VecEnv, steps int, rng *rand.Rand) (episodes int) {
	t.Helper()
	n, d, k := e.NumEnvs(), e.ObsDim(), e.NumActions()
	if n < 1 || d < 1 || k < 1 {
		t.Fatalf("envtest: %d envs, %d observation floats, %d actions; want all >= 1", n, d, k)
		return 0
	}
	b := env.NewBatch(n, d, k)
	if err := e.Reset(b); err != nil {
		t.Fatalf("envtest: reset: %v", err)
		return 0
	}
	if !checkBatch(t, b, "after reset", false) {
		return 0
	}
	actions := make([]int32, n)
	legal := make([]int32, 0, k)
	for s := range steps {
		for i := range n {
			legal = legal[:0]
			for a, ok := range b.Masks[i*k : (i+1)*k] {
				if ok {
					legal = append(legal, int32(a))
				}
			}
			actions[i] = legal[rng.IntN(len(legal))] // checkBatch made sure len(legal) >= 1
		}
		if err := e.Step(actions, b); err != nil {
			t.Fatalf("envtest: step %d: %v", s, err)
			return episodes
		}
		if len(b.Obs) != n*d || len(b.Masks) != n*k || len(b.Rewards) != n || len(b.Terminated) != n ||
			len(b.Truncated) != n || len(b.TerminalObs) != n*d || len(b.Infos) != n {
			t.Fatalf("envtest: step %d resized the batch", s)
			return episodes
		}
		for i := range n {
			if b.Terminated[i] || b.Truncated[i] {
				episodes++
			}
		}
		if !checkBatch(t, b, "after step "+strconv.Itoa(s), true) {
			return episodes
		}
	}
	return episodes
}

// checkBatch reports the rows of b that break a rule; stepped says whether rewards, flags
// and terminal observations are meaningful. It returns false when stepping cannot go on (a
// row without a legal action).
func checkBatch(t testing.TB, b *env.Batch, when string, stepped bool) bool {
	t.Helper()
	n, d, k := b.N, b.ObsDim, b.NumActions
	ok := true
	for i := range n {
		row := b.Masks[i*k : (i+1)*k]
		if !row[0] {
			t.Errorf("envtest: %s: env %d: HOLD (action 0) is masked: %v", when, i, row)
		}
		if !slices.Contains(row, true) {
			t.Errorf("envtest: %s: env %d: no legal action", when, i)
			ok = false
		}
		if j, v, bad := nonFinite(b.Obs[i*d : (i+1)*d]); bad {
			t.Errorf("envtest: %s: env %d: observation[%d] = %v", when, i, j, v)
		}
		if !stepped {
			continue
		}
		if r := b.Rewards[i]; math.IsNaN(r) || math.IsInf(r, 0) {
			t.Errorf("envtest: %s: env %d: reward %v", when, i, r)
		}
		if b.Terminated[i] && b.Truncated[i] {
			t.Errorf("envtest: %s: env %d: terminated and truncated both set", when, i)
		}
		if b.Terminated[i] || b.Truncated[i] {
			if j, v, bad := nonFinite(b.TerminalObs[i*d : (i+1)*d]); bad {
				t.Errorf("envtest: %s: env %d: terminal observation[%d] = %v", when, i, j, v)
			}
		}
	}
	return ok
}

func nonFinite(x []float32) (int, float32, bool) {
	for j, v := range x {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return j, v, true
		}
	}
	return 0, 0, false
}
