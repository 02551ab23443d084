package ppo

import (
	"errors"
	"fmt"

	"hybridtrain/internal/policy"
)

// updateStats accumulates the means logged for an update.
type updateStats struct {
	n                           int
	kl, clip, ent, pg, vf, loss float64
	skipped                     policy.UpdateStats
	stopped                     bool
}

func (u *updateStats) add(s policy.UpdateStats) {
	u.n++
	u.kl += s.ApproxKL
	u.clip += s.ClipFraction
	u.ent += s.EntropyLoss
	u.pg += s.PolicyLoss
	u.vf += s.ValueLoss
	u.loss += s.Loss
}

// update runs n_epochs epochs of shuffled minibatches over the rollout.
func (t *trainer) update() error {
	c := t.cfg
	t.progress = float64(t.timesteps) / float64(c.TotalTimesteps)
	t.lr = learningRate(c, t.progress)
	frozen := t.transfer && t.timesteps < c.AdapterWarmupSteps
	t.pol.SetBaseFrozen(frozen)
	hp := policy.UpdateParams{
		LR: t.lr, ClipRange: c.ClipRange, ClipRangeVF: c.ClipRangeVF, EntCoef: c.EntCoef, VfCoef: c.VfCoef,
		MaxGradNorm: c.MaxGradNorm, TargetKL: c.TargetKL, NormalizeAdvantage: c.NormalizeAdvantage,
	}
	var u updateStats
	for epoch := 0; epoch < c.NEpochs && !u.stopped; epoch++ {
		t.mbs.shuffle(t.shuffleRng)
		for k := range t.mbs.count() {
			st, err := t.pol.Update(t.mbs.gather(k, t.buf), hp)
			if err != nil {
				return t.minibatchErr(epoch, k, err)
			}
			if !st.Applied {
				u.stopped, u.skipped = true, st
				break
			}
			u.add(st)
		}
		t.nUpdates++ // SB3 counts epochs, the one that stopped early included
	}
	m := &t.pendingMetrics
	*m = RolloutMetrics{
		Timesteps: t.timesteps, Iterations: t.iterations, LearningRate: t.lr, ClipRange: c.ClipRange,
		NUpdates: t.nUpdates, Minibatches: u.n, EarlyStopped: u.stopped, BaseFrozen: frozen,
	}
	if u.n == 0 {
		// The first minibatch already exceeded the KL limit: log what it measured.
		u.add(u.skipped)
	}
	n := float64(u.n)
	m.ApproxKL, m.ClipFraction, m.EntropyLoss = u.kl/n, u.clip/n, u.ent/n
	m.PolicyGradientLoss, m.ValueLoss, m.Loss = u.pg/n, u.vf/n, u.loss/n
	m.ExplainedVariance, m.HasExplainedVariance = explainedVariance(t.buf.values, t.buf.ret)
	if a := t.pol.Adapter(); a != nil {
		as, err := a.Stats()
		if err != nil {
			return fmt.Errorf("ppo: adapter statistics: %w", err)
		}
		m.Adapter = &as
	}
	return nil
}

// minibatchErr classifies an error of the update's step on minibatch k of epoch (both
// 0-based): a non-finite loss, gradient or parameter stops training as a *NonFiniteError
// of this update (iterations already counts its rollout).
func (t *trainer) minibatchErr(epoch, k int, err error) error {
	op := fmt.Sprintf("update (epoch %d, minibatch %d)", epoch+1, k+1)
	if errors.Is(err, policy.ErrNonFinite) {
		t.res.Finite = false
		return &NonFiniteError{Update: t.iterations, Timesteps: t.timesteps, What: op, Err: err}
	}
	return fmt.Errorf("ppo: %s: %w", op, err)
}
