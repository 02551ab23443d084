package ppo

import (
	"math"
	"math/rand/v2"

	"hybridtrain/internal/policy"
)

// rolloutBuffer holds one rollout of T steps of N envs, step-major (row t*N + i is env i at
// step t), allocated once per run: collecting a rollout allocates nothing.
type rolloutBuffer struct {
	T, N, obsDim, nAct int

	obs     []float32 // normalised observations the policy acted on
	masks   []bool    // the masks the actions were sampled under, reused in the update
	actions []int32
	logp    []float32
	values  []float32
	rewards []float64 // normalised, truncation bootstrap included
	starts  []bool    // the observation is the first of an episode

	adv, ret []float64 // GAE advantages and returns = adv + values
}

func newRolloutBuffer(T, N, obsDim, nAct int) *rolloutBuffer {
	n := T * N
	return &rolloutBuffer{
		T: T, N: N, obsDim: obsDim, nAct: nAct,
		obs: make([]float32, n*obsDim), masks: make([]bool, n*nAct),
		actions: make([]int32, n), logp: make([]float32, n), values: make([]float32, n),
		rewards: make([]float64, n), starts: make([]bool, n),
		adv: make([]float64, n), ret: make([]float64, n),
	}
}

// computeGAE fills adv and ret from the rollout as SB3's compute_returns_and_advantage:
//
//	delta_t = r_t + gamma V_{t+1} (1 - start_{t+1}) - V_t
//	A_t     = delta_t + gamma lambda (1 - start_{t+1}) A_{t+1}
//	R_t     = A_t + V_t
//
// per env, where start_{t+1} says the next observation begins a new episode (the step ended
// one); after the last step, V and start come from lastValues and lastStarts, the values and
// episode-start flags of the observations the next rollout begins with. Values are float32
// (as the policy returns them), the recursion runs in float64.
func computeGAE(adv, ret []float64, rewards []float64, values []float32, starts []bool,
	lastValues []float32, lastStarts []bool, T, N int, gamma, lambda float64) {
	for i := range N {
		var last float64
		for t := T - 1; t >= 0; t-- {
			k := t*N + i
			var nextV float64
			var nextStart bool
			if t == T-1 {
				nextV, nextStart = float64(lastValues[i]), lastStarts[i]
			} else {
				nextV, nextStart = float64(values[k+N]), starts[k+N]
			}
			nonTerminal := 1.0
			if nextStart {
				nonTerminal = 0
			}
			delta := rewards[k] + gamma*nextV*nonTerminal - float64(values[k])
			last = delta + gamma*lambda*nonTerminal*last
			adv[k] = last
			ret[k] = last + float64(values[k])
		}
	}
}

// explainedVariance is 1 - Var(ret - values)/Var(ret) over the rollout (population
// variances, as numpy's), and false when Var(ret) is 0 (SB3 returns NaN there).
func explainedVariance(values []float32, ret []float64) (float64, bool) {
	n := float64(len(ret))
	var sy, sd float64
	for k, y := range ret {
		sy += y
		sd += y - float64(values[k])
	}
	my, md := sy/n, sd/n
	var vy, vd float64
	for k, y := range ret {
		a := y - my
		b := y - float64(values[k]) - md
		vy += a * a
		vd += b * b
	}
	if vy == 0 {
		return 0, false
	}
	return 1 - vd/vy, true
}

// minibatcher draws shuffled minibatches of a rollout into reused memory.
type minibatcher struct {
	perm []int
	size int
	mb   policy.Minibatch

	// Full-size backing arrays; mb's slices are prefixes of them.
	obs                    []float32
	masks                  []bool
	actions                []int32
	logp, values, adv, ret []float32
}

func newMinibatcher(n, batchSize, obsDim, nAct int) *minibatcher {
	return &minibatcher{
		perm: make([]int, n), size: batchSize,
		obs: make([]float32, batchSize*obsDim), masks: make([]bool, batchSize*nAct),
		actions: make([]int32, batchSize), logp: make([]float32, batchSize),
		values: make([]float32, batchSize), adv: make([]float32, batchSize),
		ret: make([]float32, batchSize),
	}
}

// shuffle starts an epoch: a fresh uniform permutation of the rollout's rows from rng
// (identity, then Fisher-Yates, so the draw does not depend on the previous epoch).
func (m *minibatcher) shuffle(rng *rand.Rand) {
	for i := range m.perm {
		m.perm[i] = i
	}
	rng.Shuffle(len(m.perm), func(i, j int) { m.perm[i], m.perm[j] = m.perm[j], m.perm[i] })
}

// count is the number of minibatches per epoch; the last one is smaller when batch_size
// does not divide the rollout (as SB3).
func (m *minibatcher) count() int { return (len(m.perm) + m.size - 1) / m.size }

// gather fills the b-th minibatch of the current permutation from buf.
func (m *minibatcher) gather(b int, buf *rolloutBuffer) *policy.Minibatch {
	lo := b * m.size
	hi := min(lo+m.size, len(m.perm))
	rows := hi - lo
	d, a := buf.obsDim, buf.nAct
	for r, k := range m.perm[lo:hi] {
		copy(m.obs[r*d:(r+1)*d], buf.obs[k*d:(k+1)*d])
		copy(m.masks[r*a:(r+1)*a], buf.masks[k*a:(k+1)*a])
		m.actions[r] = buf.actions[k]
		m.logp[r] = buf.logp[k]
		m.values[r] = buf.values[k]
		m.adv[r] = float32(buf.adv[k])
		m.ret[r] = float32(buf.ret[k])
	}
	m.mb = policy.Minibatch{
		Rows: rows, Obs: m.obs[:rows*d], Masks: m.masks[:rows*a], Actions: m.actions[:rows],
		OldLogp: m.logp[:rows], OldValues: m.values[:rows], Adv: m.adv[:rows], Returns: m.ret[:rows],
	}
	return &m.mb
}

// learningRate is the schedule at progress p = timesteps / total_timesteps (clamped to
// [0, 1]): constant, or linear from learning_rate at p = 0 down to learning_rate x
// lr_final_fraction at p = 1 (SB3's get_linear_fn with progress_remaining = 1 - p; the
// original system passed p where progress_remaining was expected and so raised the rate).
func learningRate(c Config, p float64) float64 {
	if c.LRSchedule != "linear" {
		return c.LearningRate
	}
	p = max(0, min(1, p))
	return c.LearningRate * (1 - p*(1-c.LRFinalFraction))
}

// meanStd returns the mean and population standard deviation of xs (0, 0 when empty).
func meanStd(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(xs)))
}
