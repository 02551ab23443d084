package ppo

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	"hybridtrain/internal/atomicfile"
	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// newTrainer checks s and sets up the run: a fresh one or one resumed from
// s.ResumeDir.
func newTrainer(s Setup, rec Recorder) (*trainer, error) {
	if err := s.PPO.Validate(); err != nil {
		return nil, err
	}
	if s.Phase != 2 && s.Phase != 3 {
		return nil, configErrorf("phase", "must be 2 or 3, got %d", s.Phase)
	}
	if s.BaseDir != "" && s.InitFrom != "" {
		return nil, configErrorf("init_from", "a run starts from one checkpoint: init_from fine-tunes a checkpoint's own network, base transfers a Phase 2 one into a new Phase 3 network; give one of them")
	}
	if s.BaseDir != "" && s.Phase != 3 {
		return nil, configErrorf("base", "a base checkpoint is transferred into Phase 3 only; this run is Phase %d", s.Phase)
	}
	t := &trainer{s: s, cfg: s.PPO, rec: rec, now: s.Now, envs: s.Envs}
	if t.now == nil {
		t.now = time.Now
	}
	pcfg := s.Policy
	if t.envs == nil {
		if s.Dataset == nil {
			return nil, configErrorf("data", "no dataset given")
		}
		if err := s.Env.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		obsDim := env.ObsDim
		if s.Phase == 2 {
			obsDim = env.BaseObsDim
		}
		// The trading env fixes the dimensions; the network's layers are the caller's.
		pcfg.ObsDim, pcfg.BaseDim, pcfg.NumActions = obsDim, env.BaseObsDim, env.NumActions
		te, err := newTradingEnvs(s.Dataset, s.Env, obsDim, s.PPO.Seed)
		if err != nil {
			return nil, err
		}
		t.envs = te
	}
	if s.Phase == 3 && !pcfg.HasAdapter() {
		return nil, configErrorf("phase", "Phase 3 needs observations longer than the base network's input (%d), got %d", pcfg.BaseDim, pcfg.ObsDim)
	}
	if s.Phase == 2 && pcfg.HasAdapter() {
		return nil, configErrorf("phase", "Phase 2 has no adapter: observation length %d must equal the base input %d", pcfg.ObsDim, pcfg.BaseDim)
	}
	if err := pcfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	t.set = RunSettings{Phase: s.Phase, Market: s.Market, Base: s.BaseDir, PPO: s.PPO, Policy: pcfg, Env: s.Env}
	if s.Dataset != nil {
		t.set.Data, t.set.DataBars = s.Dataset.Source, s.Dataset.Bars.Len()
		in := describeInstrument(s.Dataset.Instrument)
		t.set.Instrument = &in
	}

	var err error
	if s.ResumeDir != "" {
		err = t.resume(pcfg)
	} else {
		err = t.fresh(pcfg)
	}
	if err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// fresh sets up a new run: policy (from scratch, transferred from a base or fine-tuned from
// a checkpoint), normalisers, envs, run directory.
func (t *trainer) fresh(pcfg policy.Config) error {
	s := t.s
	if s.RunDir == "" {
		return configErrorf("out", "no run directory given (create one with NewRunDir or check --out with CheckOutDir)")
	}
	if err := CheckOutDir(s.RunDir); err != nil {
		return err
	}
	t.runDir = s.RunDir
	t.res.RunDir = t.runDir

	var baseRMS *RunningMeanStd
	var init *initStart
	switch {
	case s.InitFrom != "":
		var err error
		if init, err = t.readInitFrom(pcfg); err != nil {
			return err
		}
		t.pol = init.pol
		t.set.InitFrom = &init.record
	case s.BaseDir != "":
		c, err := policy.ReadCheckpoint(s.BaseDir)
		if err != nil {
			return fmt.Errorf("ppo: base: %w", err)
		}
		base, err := policy.FromCheckpoint(c)
		if err != nil {
			return fmt.Errorf("ppo: base %s: %w", s.BaseDir, err)
		}
		bc := base.Config()
		switch {
		case bc.HasAdapter():
			return fmt.Errorf("%w: base %s: a Phase %d checkpoint with an adapter (obs_dim %d); --base takes a Phase 2 checkpoint",
				policy.ErrCheckpoint, s.BaseDir, c.Meta.Phase, bc.ObsDim)
		case bc.ObsDim != pcfg.BaseDim:
			return fmt.Errorf("%w: base %s: obs_dim %d, this run's base input is %d", policy.ErrCheckpoint, s.BaseDir, bc.ObsDim, pcfg.BaseDim)
		case bc.NumActions != pcfg.NumActions:
			return fmt.Errorf("%w: base %s: num_actions %d, this run has %d", policy.ErrCheckpoint, s.BaseDir, bc.NumActions, pcfg.NumActions)
		}
		if baseRMS, err = readRMS(c, s.BaseDir, "obs_rms", bc.ObsDim); err != nil {
			return fmt.Errorf("ppo: base: %w", err)
		}
		if t.pol, err = policy.Transfer(base, pcfg.ObsDim); err != nil {
			return fmt.Errorf("ppo: transfer from %s: %w", s.BaseDir, err)
		}
		t.transfer = true
		// The architecture is the base's; record what actually trains.
		t.set.Policy = t.pol.Config()
	default:
		var err error
		if t.pol, err = policy.New(pcfg, rand.New(rand.NewPCG(t.cfg.Seed, streamInit))); err != nil {
			return fmt.Errorf("ppo: policy: %w", err)
		}
	}
	if err := t.pol.To(s.Device); err != nil {
		return fmt.Errorf("ppo: policy to %s: %w", s.Device, err)
	}
	if err := t.setupEnv(); err != nil {
		return err
	}

	t.obsRMS = NewRunningMeanStd(t.dim)
	t.ret = NewRewardNormalizer(t.N, t.cfg.Gamma, t.cfg.ClipReward)
	if init != nil {
		t.obsRMS, t.ret.RMS = init.obsRMS, init.retRMS
	}
	if baseRMS != nil {
		if err := t.transferStats(baseRMS); err != nil {
			return err
		}
	}
	t.samplePCG = rand.NewPCG(t.cfg.Seed, streamSample)
	t.shufflePCG = rand.NewPCG(t.cfg.Seed, streamShuffle)
	t.nextEval, t.nextSave = t.cfg.EvalFreq, t.cfg.SaveFreq

	if err := t.venv.Reset(t.batch); err != nil {
		return fmt.Errorf("ppo: reset: %w", err)
	}
	if err := checkObs(t.batch.Obs); err != nil {
		return &NonFiniteError{Update: 1, What: "observation after reset", Err: err}
	}
	if t.cfg.NormObs && init == nil {
		// SB3's VecNormalize.reset updates with the first observations. A fine-tuned run
		// takes the checkpoint's statistics as they are, so that its first decisions are
		// exactly the checkpoint's on the same observations; every rollout step updates
		// them from then on.
		t.obsRMS.Update(t.batch.Obs, t.N)
	}
	for i := range t.starts {
		t.starts[i] = true
	}

	if err := atomicfile.Write(filepath.Join(t.runDir, ConfigFile), s.ConfigYAML, atomicfile.Perm); err != nil {
		return fmt.Errorf("ppo: %w", err)
	}
	return t.openLogs()
}

// transferStats installs the base checkpoint's statistics for the first BaseDim features
// (frozen while freeze_base_norm) and measures the context features over a flat pass.
func (t *trainer) transferStats(base *RunningMeanStd) error {
	bd := base.Dim()
	copy(t.obsRMS.Mean, base.Mean)
	copy(t.obsRMS.Var, base.Var)
	copy(t.obsRMS.Count, base.Count)
	if t.cfg.FreezeBaseNorm {
		for j := range bd {
			t.obsRMS.Frozen[j] = true
		}
	}
	if !t.cfg.NormObs {
		return nil
	}
	mean, variance, n, err := flatPass(t.envs, t.dim, bd)
	if err != nil {
		return err
	}
	if n > 0 {
		// Merge as one batch into fresh statistics (mean 0, var 1, count 1e-4), as if SB3's
		// RunningMeanStd had been updated once with every flat observation.
		ctx := NewRunningMeanStd(t.dim)
		for j := range bd {
			ctx.Frozen[j] = true
		}
		ctx.UpdateFromMoments(mean, variance, float64(n))
		for j := bd; j < t.dim; j++ {
			t.obsRMS.Mean[j], t.obsRMS.Var[j], t.obsRMS.Count[j] = ctx.Mean[j], ctx.Var[j], ctx.Count[j]
		}
	}
	return nil
}

// flatPass steps the flat env with HOLD (action 0) over its episodes and returns the mean
// and population variance (Welford, in step order) of features from..dim-1 over every
// observation an episode starts from or moves to (final observations included, the first
// observation of the episode after the last excluded), and their number.
func flatPass(envs Envs, dim, from int) (mean, variance []float64, n int64, err error) {
	e, episodes, err := envs.Flat()
	if err != nil {
		return nil, nil, 0, err
	}
	defer closeEnv(e)
	if e.NumEnvs() != 1 || e.ObsDim() != dim {
		return nil, nil, 0, fmt.Errorf("ppo: flat pass env: %d envs of %d observations, want 1 of %d", e.NumEnvs(), e.ObsDim(), dim)
	}
	b := env.NewBatch(1, dim, e.NumActions())
	mean, m2 := make([]float64, dim), make([]float64, dim)
	add := func(obs []float32) {
		n++
		for j := from; j < dim; j++ {
			x := float64(obs[j])
			d := x - mean[j]
			mean[j] += d / float64(n)
			m2[j] += d * (x - mean[j])
		}
	}
	if err := e.Reset(b); err != nil {
		return nil, nil, 0, fmt.Errorf("ppo: flat pass: %w", err)
	}
	add(b.Obs)
	hold := []int32{0}
	for done := 0; done < episodes; {
		if err := e.Step(hold, b); err != nil {
			return nil, nil, 0, fmt.Errorf("ppo: flat pass: %w", err)
		}
		if b.Terminated[0] || b.Truncated[0] {
			add(b.TerminalObs)
			done++
			if done == episodes {
				break
			}
		}
		add(b.Obs)
	}
	if err := checkObs(b.Obs); err != nil {
		return nil, nil, 0, &NonFiniteError{Update: 1, What: "flat pass observation", Err: err}
	}
	for j := range m2 {
		m2[j] /= float64(n)
	}
	return mean, m2, n, nil
}

// setupEnv creates the training envs and the rollout memory.
func (t *trainer) setupEnv() error {
	pc := t.pol.Config()
	v, err := t.envs.Train(t.cfg.NEnvs, t.cfg.Seed)
	if err != nil {
		return err
	}
	t.venv = v
	if v.NumEnvs() != t.cfg.NEnvs || v.ObsDim() != pc.ObsDim || v.NumActions() != pc.NumActions {
		return fmt.Errorf("ppo: training env has %d envs, %d observations and %d actions; want %d, %d and %d",
			v.NumEnvs(), v.ObsDim(), v.NumActions(), t.cfg.NEnvs, pc.ObsDim, pc.NumActions)
	}
	t.N, t.dim, t.nAct = v.NumEnvs(), v.ObsDim(), v.NumActions()
	t.batch = env.NewBatch(t.N, t.dim, t.nAct)
	t.starts = make([]bool, t.N)
	t.buf = newRolloutBuffer(t.cfg.NSteps, t.N, t.dim, t.nAct)
	t.mbs = newMinibatcher(t.cfg.NSteps*t.N, t.cfg.BatchSize, t.dim, t.nAct)
	t.scratchObs = make([]float32, t.N*t.dim)
	t.scratchV = make([]float32, t.N)
	t.lastV = make([]float32, t.N)
	t.dones = make([]bool, t.N)
	t.epRew = make([]float64, t.N)
	t.epLen = make([]int64, t.N)
	t.window = make([]episodeRec, 0, episodeWindow)
	return nil
}

// openLogs opens metrics.jsonl for appending (created when missing) and, with the key
// tensorboard, a new event file in tb/.
func (t *trainer) openLogs() error {
	m, err := openMetrics(filepath.Join(t.runDir, MetricsFile))
	if err != nil {
		return err
	}
	t.metrics = m
	if t.cfg.TensorBoard {
		if t.events, err = openEventLog(filepath.Join(t.runDir, TensorBoardDir), t.now()); err != nil {
			return err
		}
	}
	return nil
}

// syncLogs makes metrics.jsonl and the event file durable.
func (t *trainer) syncLogs() error {
	if err := t.metrics.sync(); err != nil {
		return err
	}
	if t.events != nil {
		return t.events.sync()
	}
	return nil
}
