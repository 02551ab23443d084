package ppo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// Generator streams. Every random draw of a run comes from a math/rand/v2 PCG seeded with
// (seed, stream): one stream per purpose, so that adding draws to one purpose never shifts
// another's. The training envs get the run seed itself and derive env i's generator as
// (seed, i + env.EnvStream) in the env package.
const (
	streamTag     uint64 = 0x7070_6f00_0000_0000 // "ppo" in the high bytes: apart from the env's streams
	streamInit           = streamTag | 1         // policy weight init (from scratch)
	streamSample         = streamTag | 2         // action sampling in rollouts
	streamShuffle        = streamTag | 3         // minibatch shuffling
)

// episodeWindow is SB3's ep_info_buffer length: rollout/ep_rew_mean covers the last 100
// finished episodes.
const episodeWindow = 100

// errStop is returned by collect when ctx ended collection.
var errStop = errors.New("stop")

// Train runs maskable PPO as s describes, writing the run directory, until total_timesteps
// (at a rollout boundary), ctx's end (ErrInterrupted, with interrupted/ saved) or an error
// (a *NonFiniteError, a *ConfigError, or an error wrapping policy.ErrCheckpoint for a bad
// base or resume checkpoint). rec may be nil. The Result is nil when the run could not be
// set up (configuration, checkpoint or env errors); once training has started it is
// returned with every error, describing what was reached and saved.
func Train(ctx context.Context, s Setup, rec Recorder) (*Result, error) {
	t, err := newTrainer(s, rec)
	if err != nil {
		return nil, err
	}
	defer t.close()
	err = t.run(ctx)
	return &t.res, err
}

// trainer is one training run.
type trainer struct {
	s        Setup
	cfg      Config
	rec      Recorder
	now      func() time.Time
	set      settings
	transfer bool // the policy was transferred from a base (the warm-up applies)

	pol  *policy.Policy
	envs Envs
	venv Env
	N    int // envs
	dim  int // observation length
	nAct int

	obsRMS *RunningMeanStd
	ret    *RewardNormalizer

	batch      *env.Batch // the env's output: after a step, the observations of the next one
	starts     []bool     // batch.Obs[i] begins an episode
	buf        *rolloutBuffer
	mbs        *minibatcher
	act        policy.ActResult
	scratchObs []float32 // N x dim: normalised terminal / last observations
	scratchV   []float32 // N values
	lastV      []float32
	dones      []bool

	samplePCG, shufflePCG *rand.PCG
	sampleRng, shuffleRng *rand.Rand

	epRew  []float64
	epLen  []int64
	window []episodeRec

	timesteps, iterations, nUpdates int64
	lr, progress                    float64
	best                            *float64
	nextEval, nextSave              int64
	evals, adapterReports, invalid  int64

	metrics   *metricsLog
	runDir    string
	startTS   int64
	startTime time.Time

	pendingMetrics RolloutMetrics // the update's metrics, completed at the boundary

	// snap is the state at the last rollout boundary, what interrupted/ holds.
	snap snapshot
	res  Result
}

// snapshot is the trainer's state at a rollout boundary, ready to be written.
type snapshot struct {
	state  []byte
	obsRMS *RunningMeanStd
	retRMS *RunningMeanStd
	ts     int64
}

func newTrainer(s Setup, rec Recorder) (*trainer, error) {
	if err := s.PPO.Validate(); err != nil {
		return nil, err
	}
	if s.Phase != 2 && s.Phase != 3 {
		return nil, configErrorf("phase", "must be 2 or 3, got %d", s.Phase)
	}
	if s.BaseDir != "" && s.Phase != 3 {
		return nil, configErrorf("base", "a base checkpoint is transferred into Phase 3 only; this run is Phase %d", s.Phase)
	}
	t := &trainer{s: s, cfg: s.PPO, rec: rec, now: s.Now, envs: s.Envs}
	if t.now == nil {
		t.now = time.Now
	}
	if t.rec == nil {
		t.rec = nopRecorder{}
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
	t.set = settings{Phase: s.Phase, Market: s.Market, Base: s.BaseDir, PPO: s.PPO, Policy: pcfg, Env: s.Env}
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

// fresh sets up a new run: policy (from scratch or transferred), normalisers, envs, run
// directory.
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
	if s.BaseDir != "" {
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
	} else {
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
	if t.cfg.NormObs {
		t.obsRMS.Update(t.batch.Obs, t.N) // SB3's VecNormalize.reset updates with the first observations
	}
	for i := range t.starts {
		t.starts[i] = true
	}

	if err := writeFileAtomic(filepath.Join(t.runDir, configFile), s.ConfigYAML); err != nil {
		return err
	}
	return t.openMetrics()
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

// resume restores a run from a checkpoint of its run directory.
func (t *trainer) resume(pcfg policy.Config) error {
	s := t.s
	dir := filepath.Clean(s.ResumeDir)
	t.runDir = runDirOf(dir)
	if s.RunDir != "" && filepath.Clean(s.RunDir) != t.runDir {
		return configErrorf("out", "a resumed run continues in its own run directory %s, not %s", t.runDir, s.RunDir)
	}
	t.res.RunDir = t.runDir
	c, err := policy.ReadCheckpoint(dir)
	if err != nil {
		return fmt.Errorf("ppo: resume: %w", err)
	}
	st, err := decodeState(dir, c.State)
	if err != nil {
		return fmt.Errorf("ppo: resume: %w", err)
	}
	// The transfer happened in the original run; the base need not be given again.
	cur := t.set
	if cur.Base == "" {
		cur.Base = st.Settings.Base
	}
	if st.Settings.Base != "" {
		// The network's layers came from the base: compare the architecture trained.
		cur.Policy = st.Settings.Policy
		pc := pcfg
		if pc.ObsDim != cur.Policy.ObsDim || pc.NumActions != cur.Policy.NumActions {
			return configErrorf("phase", "the checkpoint's network takes %d observations and %d actions, this run %d and %d",
				cur.Policy.ObsDim, cur.Policy.NumActions, pc.ObsDim, pc.NumActions)
		}
	}
	if err := compareSettings(st.Settings, cur); err != nil {
		return err
	}
	t.set = cur
	t.set.PPO = s.PPO
	t.transfer = st.Settings.Base != ""

	if t.pol, err = policy.FromCheckpoint(c); err != nil {
		return fmt.Errorf("ppo: resume %s: %w", dir, err)
	}
	if err := t.pol.LoadOptimizer(c); err != nil {
		return fmt.Errorf("ppo: resume %s: %w", dir, err)
	}
	if err := t.pol.To(s.Device); err != nil {
		return fmt.Errorf("ppo: policy to %s: %w", s.Device, err)
	}
	if err := t.setupEnv(); err != nil {
		return err
	}
	if t.obsRMS, err = readRMS(c, dir, "obs_rms", t.dim); err != nil {
		return fmt.Errorf("ppo: resume: %w", err)
	}
	retRMS, err := readRMS(c, dir, "ret_rms", 1)
	if err != nil {
		return fmt.Errorf("ppo: resume: %w", err)
	}
	t.ret = NewRewardNormalizer(t.N, t.cfg.Gamma, t.cfg.ClipReward)
	t.ret.RMS = retRMS

	bad := func(field string) error {
		return fmt.Errorf("%w: %s: %s: %s does not fit %d envs of %d observations and %d actions",
			policy.ErrCheckpoint, dir, policy.StateFile, field, t.N, t.dim, t.nAct)
	}
	switch {
	case len(st.Obs) != t.N*t.dim:
		return bad("obs")
	case len(st.Masks) != t.N*t.nAct:
		return bad("masks")
	case len(st.EpisodeStarts) != t.N:
		return bad("episode_starts")
	case len(st.Returns) != t.N:
		return bad("returns")
	case len(st.ObsFrozen) != t.dim:
		return bad("obs_frozen")
	case len(st.EpReward) != t.N || len(st.EpLength) != t.N:
		return bad("ep_reward")
	}
	copy(t.batch.Obs, st.Obs)
	copy(t.batch.Masks, st.Masks)
	copy(t.starts, st.EpisodeStarts)
	copy(t.ret.Returns, st.Returns)
	copy(t.obsRMS.Frozen, st.ObsFrozen)
	copy(t.epRew, st.EpReward)
	copy(t.epLen, st.EpLength)
	if len(st.EpWindow) > episodeWindow {
		return bad("ep_window")
	}
	t.window = append(t.window[:0], st.EpWindow...)

	sm, ok := t.venv.(StateMarshaler)
	if !ok {
		return fmt.Errorf("ppo: resume: the training env cannot restore its state")
	}
	if err := sm.UnmarshalState(st.EnvState); err != nil {
		return fmt.Errorf("%w: %s: %s: env_state: %w", policy.ErrCheckpoint, dir, policy.StateFile, err)
	}
	t.samplePCG, t.shufflePCG = &rand.PCG{}, &rand.PCG{}
	if err := t.samplePCG.UnmarshalBinary(st.SampleRNG); err != nil {
		return fmt.Errorf("%w: %s: %s: rng_sample: %v", policy.ErrCheckpoint, dir, policy.StateFile, err)
	}
	if err := t.shufflePCG.UnmarshalBinary(st.ShuffleRNG); err != nil {
		return fmt.Errorf("%w: %s: %s: rng_shuffle: %v", policy.ErrCheckpoint, dir, policy.StateFile, err)
	}

	t.timesteps, t.iterations, t.nUpdates = st.Timesteps, st.Iterations, st.NUpdates
	t.lr, t.progress = st.LearningRate, st.Progress
	t.best = st.Best
	if b := filepath.Join(t.runDir, bestDir); t.best != nil {
		if _, err := os.Stat(filepath.Join(b, policy.MetadataFile)); err == nil {
			t.res.Best = b // written before the checkpoint resumed from
		}
	}
	t.evals, t.adapterReports, t.invalid = st.Evals, st.AdapterReports, st.InvalidActions
	// eval_freq and save_freq may have changed: the next ones are the first multiples past
	// the checkpoint (what the uninterrupted run has too when they did not change).
	t.nextEval = (t.timesteps/t.cfg.EvalFreq + 1) * t.cfg.EvalFreq
	t.nextSave = (t.timesteps/t.cfg.SaveFreq + 1) * t.cfg.SaveFreq

	if err := truncateMetrics(filepath.Join(t.runDir, metricsFile), t.timesteps); err != nil {
		return err
	}
	if len(s.ConfigYAML) > 0 {
		if err := writeFileAtomic(filepath.Join(t.runDir, configFile), s.ConfigYAML); err != nil {
			return err
		}
	}
	return t.openMetrics()
}

func (t *trainer) openMetrics() error {
	m, err := openMetrics(filepath.Join(t.runDir, metricsFile))
	if err != nil {
		return err
	}
	t.metrics = m
	return nil
}

func (t *trainer) close() {
	if t.venv != nil {
		closeEnv(t.venv)
		t.venv = nil
	}
	if t.metrics != nil {
		t.metrics.close()
		t.metrics = nil
	}
}

// run is the training loop: rollout, update, boundary work, until total_timesteps.
func (t *trainer) run(ctx context.Context) error {
	t.sampleRng, t.shuffleRng = rand.New(t.samplePCG), rand.New(t.shufflePCG)
	t.startTS, t.startTime = t.timesteps, t.now()
	t.res.Finite = true
	t.syncResult()
	if err := t.takeSnapshot(); err != nil {
		return err
	}
	t.rec.Start(t.cfg.TotalTimesteps, t.timesteps)
	for t.timesteps < t.cfg.TotalTimesteps {
		if err := t.collect(ctx); err != nil {
			if errors.Is(err, errStop) {
				return t.interrupt()
			}
			return err
		}
		if err := t.update(); err != nil {
			return err
		}
		if err := t.boundary(); err != nil {
			return err
		}
	}
	if t.res.Final == "" {
		// Resumed at or past total_timesteps: nothing to train; the checkpoint is final.
		if err := t.write(finalDir); err != nil {
			return err
		}
		t.res.Final = filepath.Join(t.runDir, finalDir)
	}
	t.res.Finished = true
	t.res.Model = &Model{Policy: t.pol, obsRMS: t.obsRMS.Clone(), normObs: t.cfg.NormObs, clipObs: t.cfg.ClipObs}
	if err := t.checkParams(); err != nil {
		t.res.Finite = false
		return err
	}
	return t.metrics.sync()
}

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
		return t.policyErr("values", err)
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
		return t.policyErr("act", err)
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
		return t.policyErr("values", err)
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

func (t *trainer) recordEpisode(r float64, l int64) {
	if len(t.window) == episodeWindow {
		copy(t.window, t.window[1:])
		t.window = t.window[:episodeWindow-1]
	}
	t.window = append(t.window, episodeRec{Reward: r, Length: l})
}

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
				return t.policyErr(fmt.Sprintf("update (epoch %d, minibatch %d)", epoch+1, k+1), err)
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

// boundary does the work of a rollout boundary: metrics, evaluation, checkpoints.
func (t *trainer) boundary() error {
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
	elapsed := t.now().Sub(t.startTime).Seconds()
	m.Elapsed = elapsed
	if elapsed > 0 {
		m.FPS = int64(float64(t.timesteps-t.startTS) / elapsed)
	}
	if m.Adapter != nil {
		t.adapterReports++
	}
	l := rolloutLine(m)
	if l.nonFinit != "" {
		t.res.Finite = false
		return t.nonFinite("metric "+l.nonFinit, policy.ErrNonFinite)
	}
	if err := t.metrics.write(l); err != nil {
		return err
	}
	t.rec.Rollout(*m)

	newBest := false
	if t.timesteps >= t.nextEval {
		em, err := t.evaluate()
		if err != nil {
			return err
		}
		if t.best == nil || em.MeanReward > *t.best {
			best := em.MeanReward
			t.best, em.Best, newBest = &best, true, true
		}
		t.evals++
		t.nextEval = (t.timesteps/t.cfg.EvalFreq + 1) * t.cfg.EvalFreq
		el := evalLine(&em)
		if el.nonFinit != "" {
			t.res.Finite = false
			return t.nonFinite("metric "+el.nonFinit, policy.ErrNonFinite)
		}
		if err := t.metrics.write(el); err != nil {
			return err
		}
		t.res.LastEval = &em
		t.rec.Eval(em)
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
		if err := t.metrics.sync(); err != nil {
			return err
		}
	}
	if newBest {
		if err := t.write(bestDir); err != nil {
			return err
		}
		t.res.Best = filepath.Join(t.runDir, bestDir)
	}
	if periodic {
		name := filepath.Join(checkpointsDir, periodicName(t.timesteps))
		if err := t.write(name); err != nil {
			return err
		}
		if err := pruneCheckpoints(filepath.Join(t.runDir, checkpointsDir), t.cfg.KeepCheckpoints); err != nil {
			return err
		}
	}
	if finished {
		if err := t.write(finalDir); err != nil {
			return err
		}
		t.res.Final = filepath.Join(t.runDir, finalDir)
	}
	return nil
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

// takeSnapshot records the state at this boundary: what every checkpoint written at this
// boundary holds, and what interrupted/ holds if the next rollout is interrupted.
func (t *trainer) takeSnapshot() error {
	st := trainState{
		Version: stateVersion, Settings: t.set,
		Timesteps: t.timesteps, Iterations: t.iterations, NUpdates: t.nUpdates,
		LearningRate: t.lr, Progress: t.progress,
		Obs: t.batch.Obs, Masks: t.batch.Masks, EpisodeStarts: t.starts,
		Returns: t.ret.Returns, ObsFrozen: t.obsRMS.Frozen,
		EpReward: t.epRew, EpLength: t.epLen, EpWindow: t.window,
		Best: t.best, NextEval: t.nextEval, NextSave: t.nextSave,
		Evals: t.evals, AdapterReports: t.adapterReports, InvalidActions: t.invalid,
	}
	var err error
	if st.SampleRNG, err = t.samplePCG.MarshalBinary(); err != nil {
		return fmt.Errorf("ppo: state: %w", err)
	}
	if st.ShuffleRNG, err = t.shufflePCG.MarshalBinary(); err != nil {
		return fmt.Errorf("ppo: state: %w", err)
	}
	if sm, ok := t.venv.(StateMarshaler); ok {
		if st.EnvState, err = sm.MarshalState(); err != nil {
			return fmt.Errorf("ppo: env state: %w", err)
		}
	}
	data, err := json.Marshal(&st)
	if err != nil {
		return fmt.Errorf("ppo: state: %w", err)
	}
	t.snap = snapshot{state: data, obsRMS: t.obsRMS.Clone(), retRMS: t.ret.RMS.Clone(), ts: t.timesteps}
	return nil
}

// write writes the boundary snapshot as the checkpoint rel (relative to the run
// directory). The policy's parameters and Adam's state have not changed since the
// snapshot: only collection runs between a boundary and the next update.
func (t *trainer) write(rel string) error {
	pc := t.pol.Config()
	meta := policy.Metadata{
		Phase: t.s.Phase, Market: t.s.Market,
		ObsDim: pc.ObsDim, BaseObsDim: pc.BaseDim, NumActions: pc.NumActions,
		Arch:      policy.Arch{PiLayers: pc.PiLayers, VfLayers: pc.VfLayers, Activation: pc.Activation, Adapter: pc.HasAdapter()},
		Timesteps: t.snap.ts, Seed: t.cfg.Seed, Config: t.s.Config, ToolVersion: t.s.ToolVersion,
		CreatedAt: t.now().UTC().Format(time.RFC3339),
	}
	if t.s.Dataset != nil {
		meta.Instrument = describeInstrument(t.s.Dataset.Instrument)
	}
	model, opt, err := t.pol.ExportTensors()
	if err != nil {
		return fmt.Errorf("ppo: checkpoint %s: %w", rel, err)
	}
	model = append(model, normTensors(t.snap.obsRMS, t.snap.retRMS)...)
	c := &policy.Checkpoint{Meta: meta, Model: model, Optimizer: opt, State: t.snap.state}
	dir := filepath.Join(t.runDir, rel)
	if err := policy.WriteCheckpoint(dir, c); err != nil {
		return fmt.Errorf("ppo: %w", err)
	}
	t.res.LastSaved = dir
	return nil
}

// interrupt saves interrupted/ from the last boundary and returns ErrInterrupted.
func (t *trainer) interrupt() error {
	// Undo the partial rollout's counters: the Result describes the saved state.
	var st trainState
	if err := json.Unmarshal(t.snap.state, &st); err != nil {
		return fmt.Errorf("ppo: state: %w", err)
	}
	t.timesteps = st.Timesteps
	t.iterations = st.Iterations
	t.invalid = st.InvalidActions
	t.syncResult()
	t.res.InvalidActions = st.InvalidActions
	if err := t.metrics.sync(); err != nil {
		return err
	}
	if err := t.write(interruptedDir); err != nil {
		return err
	}
	t.res.Interrupted = filepath.Join(t.runDir, interruptedDir)
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

func (t *trainer) nonFinite(what string, err error) error {
	t.res.Finite = false
	if !errors.Is(err, policy.ErrNonFinite) {
		err = fmt.Errorf("%w: %w", policy.ErrNonFinite, err)
	}
	return &NonFiniteError{Update: t.iterations + 1, Timesteps: t.timesteps, What: what, Err: err}
}

// policyErr classifies an error of the policy: non-finite values become a *NonFiniteError.
func (t *trainer) policyErr(op string, err error) error {
	if errors.Is(err, policy.ErrNonFinite) {
		if op == "act" || op == "values" {
			return t.nonFinite(op, err)
		}
		t.res.Finite = false
		return &NonFiniteError{Update: t.iterations, Timesteps: t.timesteps, What: op, Err: err}
	}
	return fmt.Errorf("ppo: %s: %w", op, err)
}

// pruneCheckpoints keeps the keep newest ts-* directories of dir.
func pruneCheckpoints(dir string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("ppo: checkpoints: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "ts-") && len(e.Name()) == len("ts-000000000") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // 9-digit zero-padded: lexical order is numeric order
	for _, n := range names[:max(0, len(names)-keep)] {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return fmt.Errorf("ppo: checkpoints: %w", err)
		}
	}
	return nil
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

func checkValues(v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: value of env %d is %v", policy.ErrNonFinite, i, x)
		}
	}
	return nil
}

type nopRecorder struct{}

func (nopRecorder) Start(int64, int64)     {}
func (nopRecorder) Rollout(RolloutMetrics) {}
func (nopRecorder) Eval(EvalMetrics)       {}
