package ppo

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"hybridtrain/internal/policy"
)

// boundary does the work of a rollout boundary, in this order: the rollout's metrics line,
// the evaluation when one is due, the flush of their event records, the snapshot, then the
// checkpoints it is written to.
func (t *trainer) boundary() error {
	if err := t.logRollout(); err != nil {
		return err
	}
	newBest := false
	if t.timesteps >= t.nextEval {
		var err error
		if newBest, err = t.evalAndLog(); err != nil {
			return err
		}
	}
	if t.events != nil {
		if err := t.events.flush(); err != nil {
			return err
		}
	}
	periodic := t.timesteps >= t.nextSave
	if periodic {
		t.nextSave = (t.timesteps/t.cfg.SaveFreq + 1) * t.cfg.SaveFreq
	}
	finished := t.timesteps >= t.cfg.TotalTimesteps
	t.syncResult()
	if err := t.takeSnapshot(); err != nil {
		return err
	}
	if newBest || periodic || finished {
		if err := t.syncLogs(); err != nil {
			return err
		}
	}
	if newBest {
		if err := t.writeCheckpoint(BestDir); err != nil {
			return err
		}
		t.res.Best = filepath.Join(t.runDir, BestDir)
	}
	if periodic {
		name := filepath.Join(CheckpointsDir, periodicName(t.timesteps))
		if err := t.writeCheckpoint(name); err != nil {
			return err
		}
		if err := pruneCheckpoints(filepath.Join(t.runDir, CheckpointsDir), t.cfg.KeepCheckpoints); err != nil {
			return err
		}
	}
	if finished {
		if err := t.writeCheckpoint(FinalDir); err != nil {
			return err
		}
		t.res.Final = filepath.Join(t.runDir, FinalDir)
	}
	return nil
}

// logRollout completes the update's metrics with the episode window and the wall clock,
// writes its metrics line and reports it.
func (t *trainer) logRollout() error {
	m := &t.pendingMetrics
	if len(t.window) > 0 {
		var r, l float64
		for _, e := range t.window {
			r += e.Reward
			l += float64(e.Length)
		}
		m.Episodes = len(t.window)
		m.EpRewMean, m.EpLenMean = r/float64(len(t.window)), l/float64(len(t.window))
	}
	now := t.now()
	elapsed := now.Sub(t.startTime).Seconds()
	m.Elapsed = elapsed
	if elapsed > 0 {
		m.FPS = int64(float64(t.timesteps-t.startTS) / elapsed)
	}
	if m.Adapter != nil {
		t.adapterReports++
	}
	l := rolloutLine(m)
	if l.nonFiniteKey != "" {
		t.res.Finite = false
		return t.nonFinite("metric "+l.nonFiniteKey, policy.ErrNonFinite)
	}
	if err := t.metrics.write(l); err != nil {
		return err
	}
	if t.events != nil {
		if err := t.events.scalars(m.Timesteps, now, l.values); err != nil {
			return err
		}
		var ctxWeights func([]float32) ([]float32, error)
		if a := t.pol.Adapter(); a != nil {
			ctxWeights = a.AppendContextWeights
		}
		if err := t.events.histograms(m.Timesteps, now, t.buf.logp, ctxWeights); err != nil {
			return err
		}
	}
	if t.rec != nil {
		t.rec.Rollout(*m)
	}
	return nil
}

// evalAndLog runs the evaluation that is due, writes its metrics line and reports it;
// newBest says whether its mean reward beat every earlier evaluation's.
func (t *trainer) evalAndLog() (newBest bool, err error) {
	em, err := t.evaluate()
	if err != nil {
		return false, err
	}
	if t.best == nil || em.MeanReward > *t.best {
		best := em.MeanReward
		t.best, em.Best, newBest = &best, true, true
	}
	t.evals++
	t.nextEval = (t.timesteps/t.cfg.EvalFreq + 1) * t.cfg.EvalFreq
	el := evalLine(&em)
	if el.nonFiniteKey != "" {
		t.res.Finite = false
		return false, t.nonFinite("metric "+el.nonFiniteKey, policy.ErrNonFinite)
	}
	if err := t.metrics.write(el); err != nil {
		return false, err
	}
	if t.events != nil {
		// time/total_timesteps is the step itself, recorded once with the rollout's line.
		values := slices.DeleteFunc(el.values, func(m metric) bool { return m.key == "time/total_timesteps" })
		if err := t.events.scalars(em.Timesteps, t.now(), values); err != nil {
			return false, err
		}
	}
	t.res.LastEval = &em
	if t.rec != nil {
		t.rec.Eval(em)
	}
	return newBest, nil
}

// evaluate runs the training-time evaluation with the current policy and a frozen copy of
// the observation statistics.
func (t *trainer) evaluate() (EvalMetrics, error) {
	e, err := t.envs.Eval()
	if err != nil {
		return EvalMetrics{}, err
	}
	defer closeEnv(e)
	m := &Model{Policy: t.pol, obsRMS: t.obsRMS.Clone(), normObs: t.cfg.NormObs, clipObs: t.cfg.ClipObs}
	// Evaluation is short and consumes no training generator: it runs to completion even
	// when ctx ends meanwhile, so that a boundary is always whole.
	em, err := m.evaluate(context.Background(), e, t.cfg.NEvalEpisodes)
	if err != nil {
		return em, err
	}
	em.Timesteps = t.timesteps
	return em, nil
}

// syncResult copies the counters into the Result.
func (t *trainer) syncResult() {
	t.res.Timesteps = t.timesteps
	t.res.Rollouts = t.iterations
	t.res.AdapterReports = t.adapterReports
	t.res.Evals = t.evals
	t.res.InvalidActions = t.invalid
	if c, ok := t.venv.(InvalidActionCounter); ok {
		// The env's own counter is authoritative; on resume it continues from the state.
		t.res.InvalidActions = max(t.invalid, c.InvalidActions())
	}
}

// interrupt saves interrupted/ from the last boundary and returns ErrInterrupted.
func (t *trainer) interrupt() error {
	// Undo the partial rollout's counters: the Result describes the saved state. The env's
	// own masked-action counter ran on through the partial rollout, so the snapshot's count
	// replaces it too.
	t.timesteps, t.iterations, t.invalid = t.snap.timesteps, t.snap.iterations, t.snap.invalid
	t.syncResult()
	t.res.InvalidActions = t.snap.invalid
	if err := t.syncLogs(); err != nil {
		return err
	}
	if err := t.writeCheckpoint(InterruptedDir); err != nil {
		return err
	}
	t.res.Interrupted = filepath.Join(t.runDir, InterruptedDir)
	return ErrInterrupted
}

// checkParams verifies every parameter is finite.
func (t *trainer) checkParams() error {
	model, _, err := t.pol.ExportTensors()
	if err != nil {
		return fmt.Errorf("ppo: parameters: %w", err)
	}
	for _, p := range model {
		for _, x := range p.F32 {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return t.nonFinite("parameter "+p.Name, policy.ErrNonFinite)
			}
		}
	}
	return nil
}
