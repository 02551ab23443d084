package ppo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"hybridtrain/internal/policy"
)

// episodeWindow is SB3's ep_info_buffer length: rollout/ep_rew_mean covers the last 100
// finished episodes.
const episodeWindow = 100

// errStop is returned by collect when ctx ended collection.
var errStop = errors.New("stop")

// collect runs one rollout of n_steps vectorised steps into the buffer and computes GAE.
// When ctx ends it returns errStop at once; the partial rollout is discarded.
func (t *trainer) collect(ctx context.Context) error {
	done := ctx.Done()
	for step := range t.cfg.NSteps {
		select {
		case <-done:
			return errStop
		default:
		}
		if err := t.collectStep(step); err != nil {
			return err
		}
	}
	N := t.N
	t.normalize(t.scratchObs, t.batch.Obs, N)
	if err := t.pol.Values(t.scratchObs, N, t.lastV); err != nil {
		return t.forwardErr("values", err)
	}
	if err := checkValues(t.lastV); err != nil {
		return t.nonFinite("value", err)
	}
	computeGAE(t.buf.adv, t.buf.ret, t.buf.rewards, t.buf.values, t.buf.starts, t.lastV, t.starts,
		t.cfg.NSteps, N, t.cfg.Gamma, t.cfg.GAELambda)
	t.iterations++
	return nil
}

// collectStep acts and steps the envs once, into row step of the buffer: normalise the
// current observations, sample actions under their masks, step, check, update the
// normalisers, bootstrap truncations and keep the episode statistics. It allocates nothing
// itself (BenchmarkCollectStep).
func (t *trainer) collectStep(step int) error {
	N, d, a := t.N, t.dim, t.nAct
	b := t.batch
	lo, hi := step*N, (step+1)*N
	obs := t.buf.obs[lo*d : hi*d]
	masks := t.buf.masks[lo*a : hi*a]
	t.normalize(obs, b.Obs, N)
	copy(masks, b.Masks)
	copy(t.buf.starts[lo:hi], t.starts)
	t.act = policy.ActResult{Actions: t.buf.actions[lo:hi], Values: t.buf.values[lo:hi], LogProbs: t.buf.logp[lo:hi]}
	if err := t.pol.Act(obs, masks, N, false, t.sampleRng, &t.act); err != nil {
		return t.forwardErr("act", err)
	}
	if err := t.venv.Step(t.buf.actions[lo:hi], b); err != nil {
		return fmt.Errorf("ppo: step: %w", err)
	}
	t.timesteps += int64(N)
	for i, r := range b.Rewards {
		if !isFinite(r) {
			return t.nonFinite(fmt.Sprintf("reward of env %d", i), fmt.Errorf("%w: reward %v", policy.ErrNonFinite, r))
		}
		t.dones[i] = b.Terminated[i] || b.Truncated[i]
		if b.Infos[i].InvalidAction {
			t.invalid++
		}
	}
	if err := checkObs(b.Obs); err != nil {
		return t.nonFinite("observation", err)
	}
	if t.cfg.NormObs {
		t.obsRMS.Update(b.Obs, N)
	}
	rewards := t.buf.rewards[lo:hi]
	if t.cfg.NormReward {
		t.ret.Step(b.Rewards, t.dones, rewards, true)
	} else {
		copy(rewards, b.Rewards)
	}
	if err := t.bootstrap(rewards); err != nil {
		return err
	}
	for i, r := range b.Rewards {
		t.epRew[i] += r
		t.epLen[i]++
		if t.dones[i] {
			t.recordEpisode(t.epRew[i], t.epLen[i])
			t.epRew[i], t.epLen[i] = 0, 0
		}
	}
	copy(t.starts, t.dones)
	return nil
}

// bootstrap adds gamma x V(final observation) to the (normalised) reward of every env whose
// episode was truncated in this step (SB3's TimeLimit handling): the final observation is
// normalised with the statistics just updated, as SB3's VecNormalize does. The values are
// computed for all N rows at once (one batch size for the policy); rows of other envs are
// ignored.
func (t *trainer) bootstrap(rewards []float64) error {
	b := t.batch
	if !slices.Contains(b.Truncated, true) {
		return nil
	}
	t.normalize(t.scratchObs, b.TerminalObs, t.N)
	if err := checkObs(b.TerminalObs); err != nil {
		return t.nonFinite("final observation", err)
	}
	if err := t.pol.Values(t.scratchObs, t.N, t.scratchV); err != nil {
		return t.forwardErr("values", err)
	}
	for i, tr := range b.Truncated {
		if !tr {
			continue
		}
		v := float64(t.scratchV[i])
		if !isFinite(v) {
			return t.nonFinite(fmt.Sprintf("value of env %d's final observation", i), fmt.Errorf("%w: %v", policy.ErrNonFinite, v))
		}
		rewards[i] += t.cfg.Gamma * v
	}
	return nil
}

// normalize writes the observations the policy sees: normalised and clipped when norm_obs,
// else a copy.
func (t *trainer) normalize(dst, src []float32, rows int) {
	if t.cfg.NormObs {
		t.obsRMS.Normalize(dst, src, rows, t.cfg.ClipObs)
		return
	}
	copy(dst, src[:rows*t.dim])
}

// recordEpisode adds a finished episode to the statistics window, dropping the oldest.
func (t *trainer) recordEpisode(r float64, l int64) {
	if len(t.window) == episodeWindow {
		copy(t.window, t.window[1:])
		t.window = t.window[:episodeWindow-1]
	}
	t.window = append(t.window, episodeRec{Reward: r, Length: l})
}

// forwardErr classifies an error of the policy's forward pass during collection (op is
// "act" or "values", for the message): a non-finite output stops training as a
// *NonFiniteError of the update being prepared.
func (t *trainer) forwardErr(op string, err error) error {
	if errors.Is(err, policy.ErrNonFinite) {
		return t.nonFinite(op, err)
	}
	return fmt.Errorf("ppo: %s: %w", op, err)
}

// checkObs reports the first non-finite observation value.
func checkObs(obs []float32) error {
	for k, x := range obs {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: observation value %d is %v", policy.ErrNonFinite, k, x)
		}
	}
	return nil
}

// checkValues reports the first non-finite value.
func checkValues(v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: value of env %d is %v", policy.ErrNonFinite, i, x)
		}
	}
	return nil
}
