package ppo

import (
	"context"
	"fmt"
	"math"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// Model is a trained policy with its frozen observation normaliser, loaded from a
// checkpoint: what inference and the `eval` command use. Not safe for concurrent use.
type Model struct {
	Policy *policy.Policy
	Meta   policy.Metadata

	obsRMS  *RunningMeanStd // frozen: Act and evaluation never update it
	normObs bool
	clipObs float64

	norm    []float32 // scratch: normalised observations (Act)
	fwdNorm []float32 // scratch: normalised observations (Forward)
	act     policy.ActResult
	actions []int32
}

// LoadModel reads a checkpoint directory (best/, final/, interrupted/ or
// checkpoints/ts-*/): the policy on the CPU, the observation normaliser's statistics and the
// metadata. Whether and how observations are normalised comes from state.json's settings
// (norm_obs, clip_obs); a checkpoint without state.json (one `import sb3` wrote) takes them
// from its metadata's configuration, else the defaults (on, clip 10). Errors wrap
// policy.ErrCheckpoint and name the file or field at fault.
func LoadModel(dir string) (*Model, error) {
	c, err := policy.ReadCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	pol, err := policy.FromCheckpoint(c)
	if err != nil {
		return nil, fmt.Errorf("ppo: %s: %w", dir, err)
	}
	normObs, clip, err := checkpointNorm(c, dir)
	if err != nil {
		return nil, err
	}
	rms, err := readRMS(c, dir, "obs_rms", pol.Config().ObsDim)
	if err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	return &Model{Policy: pol, Meta: c.Meta, obsRMS: rms, normObs: normObs, clipObs: clip}, nil
}

// checkpointNorm says whether and how the checkpoint c (read from dir) normalises
// observations: from state.json's settings (norm_obs, clip_obs), else, for a checkpoint
// without state.json (one `import sb3` wrote), from its metadata's configuration, else the
// defaults (on, clip 10). Errors wrap policy.ErrCheckpoint and name the field.
func checkpointNorm(c *policy.Checkpoint, dir string) (normObs bool, clip float64, err error) {
	def := DefaultConfig()
	normObs, clip = def.NormObs, def.ClipObs
	source := policy.StateFile + ": settings.ppo.clip_obs"
	if len(c.State) > 0 {
		st, err := decodeState(dir, c.State)
		if err != nil {
			return false, 0, fmt.Errorf("ppo: %w", err)
		}
		normObs, clip = st.Settings.PPO.NormObs, st.Settings.PPO.ClipObs
	} else if cfg, ok := c.Meta.Config.(map[string]any); ok {
		source = policy.MetadataFile + ": config.clip_obs"
		if v, ok := cfg["norm_obs"]; ok {
			b, isBool := v.(bool)
			if !isBool {
				return false, 0, fmt.Errorf("%w: %s: %s: config.norm_obs %v, want true or false", policy.ErrCheckpoint, dir, policy.MetadataFile, v)
			}
			normObs = b
		}
		if v, ok := cfg["clip_obs"]; ok {
			f, isNum := v.(float64)
			if !isNum {
				return false, 0, fmt.Errorf("%w: %s: %s: config.clip_obs %v, want a number", policy.ErrCheckpoint, dir, policy.MetadataFile, v)
			}
			clip = f
		}
	}
	if normObs && !(clip > 0) {
		return false, 0, fmt.Errorf("%w: %s: %s %g, want > 0", policy.ErrCheckpoint, dir, source, clip)
	}
	return normObs, clip, nil
}

// ObsDim is the observation length the model takes (261 in Phase 3, 228 in Phase 2).
func (m *Model) ObsDim() int { return m.Policy.Config().ObsDim }

// Normalize writes the observations the network sees for rows raw observations: normalised
// with the frozen statistics and clipped, or a copy when the model was trained without
// observation normalisation.
func (m *Model) Normalize(dst, obs []float32, rows int) {
	if m.normObs {
		m.obsRMS.Normalize(dst, obs, rows, m.clipObs)
		return
	}
	copy(dst, obs[:rows*m.ObsDim()])
}

// Forward runs the network on rows RAW observations (rows x ObsDim), normalised with the
// frozen statistics first, with their masks (nil: every action legal): the logits, masked
// probabilities, values and deterministic actions of policy.Forward.
func (m *Model) Forward(obs []float32, masks []bool, rows int, out *policy.ForwardResult) error {
	d := m.ObsDim()
	if rows < 1 || len(obs) < rows*d {
		return fmt.Errorf("ppo: forward: %d observation floats for %d rows of %d", len(obs), rows, d)
	}
	if cap(m.fwdNorm) < rows*d {
		m.fwdNorm = make([]float32, rows*d)
	}
	m.Normalize(m.fwdNorm[:rows*d], obs, rows)
	if err := m.Policy.Forward(m.fwdNorm[:rows*d], masks, rows, out); err != nil {
		return fmt.Errorf("ppo: forward: %w", err)
	}
	return nil
}

// Act writes the deterministic masked action (argmax of the masked logits) for rows RAW
// observations (rows x ObsDim, as the env emits them) into out; it normalises them with the
// frozen statistics first. A row with no legal action is an error.
func (m *Model) Act(obs []float32, masks []bool, rows int, out []int32) error {
	d := m.ObsDim()
	if len(obs) < rows*d || len(out) < rows {
		return fmt.Errorf("ppo: act: %d observation floats and %d outputs for %d rows of %d", len(obs), len(out), rows, d)
	}
	if cap(m.norm) < rows*d {
		m.norm = make([]float32, rows*d)
		m.act = policy.ActResult{Values: make([]float32, rows), LogProbs: make([]float32, rows)}
	}
	m.Normalize(m.norm[:rows*d], obs, rows)
	m.act.Actions = out[:rows]
	if err := m.Policy.Act(m.norm[:rows*d], masks, rows, true, nil, &m.act); err != nil {
		return fmt.Errorf("ppo: act: %w", err)
	}
	return nil
}

// Evaluate runs episodes single-session episodes over sessions (indices into ds.Sessions,
// in order, cycling; untradable sessions are skipped) with m: deterministic, masked,
// frozen normaliser, raw reward, a fresh account per episode. ctx ends it early with ctx's
// error. Metrics.Timesteps is the model's (from its metadata).
func Evaluate(ctx context.Context, m *Model, ds *env.Dataset, sessions []int, cfg env.Config, episodes int) (EvalMetrics, error) {
	if episodes < 1 {
		return EvalMetrics{}, configErrorf("n_eval_episodes", "must be >= 1, got %d", episodes)
	}
	v, err := env.NewVec(ds, cfg, env.Options{Sessions: sessions, Mode: env.ModeOrdered, ObsDim: m.ObsDim()}, 1, m.Meta.Seed)
	if err != nil {
		return EvalMetrics{}, fmt.Errorf("ppo: evaluate: %w", err)
	}
	defer v.Close()
	em, err := m.evaluate(ctx, v, episodes)
	em.Timesteps = m.Meta.Timesteps
	return em, err
}

// evaluate runs episodes episodes of the single env e with deterministic masked actions.
// Rewards are e's raw rewards; P&L, trades, wins and drawdown come from the Info of each
// episode's last step. MaskedActions counts actions the mask forbade: those the env
// reported (its counter, or Info.InvalidAction) and, independently, any chosen action the
// mask given to the policy did not allow; the larger count is reported.
func (m *Model) evaluate(ctx context.Context, e Env, episodes int) (EvalMetrics, error) {
	if e.NumEnvs() != 1 || e.ObsDim() != m.ObsDim() {
		return EvalMetrics{}, fmt.Errorf("ppo: evaluation env: %d envs of %d observations, want 1 of %d", e.NumEnvs(), e.ObsDim(), m.ObsDim())
	}
	nAct := e.NumActions()
	b := env.NewBatch(1, m.ObsDim(), nAct)
	if err := e.Reset(b); err != nil {
		return EvalMetrics{}, fmt.Errorf("ppo: evaluation: %w", err)
	}
	var counter0 int64
	counter, hasCounter := e.(InvalidActionCounter)
	if hasCounter {
		counter0 = counter.InvalidActions()
	}
	if cap(m.actions) < 1 {
		m.actions = make([]int32, 1)
	}
	act := m.actions[:1]
	rewards := make([]float64, 0, episodes)
	var lenSum, pnlSum, maxDD float64
	var trades, wins int
	var reported, illegal int64
	var epR float64
	var epL int64
	done := ctx.Done()
	for len(rewards) < episodes {
		select {
		case <-done:
			return EvalMetrics{}, ctx.Err()
		default:
		}
		if err := m.Act(b.Obs, b.Masks, 1, act); err != nil {
			return EvalMetrics{}, err
		}
		if a := act[0]; a < 0 || int(a) >= nAct || !b.Masks[a] {
			illegal++
		}
		if err := e.Step(act, b); err != nil {
			return EvalMetrics{}, fmt.Errorf("ppo: evaluation: %w", err)
		}
		r := b.Rewards[0]
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return EvalMetrics{}, fmt.Errorf("ppo: evaluation: %w: reward %v", policy.ErrNonFinite, r)
		}
		epR += r
		epL++
		info := &b.Infos[0]
		if info.InvalidAction {
			reported++
		}
		if b.Terminated[0] || b.Truncated[0] {
			rewards = append(rewards, epR)
			lenSum += float64(epL)
			pnlSum += info.EpisodePnL
			trades += info.EpisodeTrades
			wins += info.EpisodeWins
			maxDD = max(maxDD, info.EpisodeMaxDD)
			epR, epL = 0, 0
		}
	}
	if hasCounter {
		reported = max(reported, counter.InvalidActions()-counter0)
	}
	em := EvalMetrics{
		Episodes: episodes, MeanLength: lenSum / float64(episodes), MeanPnL: pnlSum / float64(episodes),
		Trades: trades, MaxDrawdown: maxDD, MaskedActions: max(reported, illegal),
	}
	em.MeanReward, em.StdReward = meanStd(rewards)
	if trades > 0 {
		em.WinRate = float64(wins) / float64(trades)
	}
	return em, nil
}
