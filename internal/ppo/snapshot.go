package ppo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"hybridtrain/internal/atomicfile"
	"hybridtrain/internal/policy"
)

// snapshot is the trainer's state at a rollout boundary (takeSnapshot), encoded and ready
// to be written. The counters the Result reports are kept beside the encoded state, so
// that an interruption rolls back to them without decoding it.
type snapshot struct {
	state  []byte // state.json
	obsRMS *RunningMeanStd
	retRMS *RunningMeanStd

	timesteps, iterations, invalid int64
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
	t.snap = snapshot{
		state: data, obsRMS: t.obsRMS.Clone(), retRMS: t.ret.RMS.Clone(),
		timesteps: t.timesteps, iterations: t.iterations, invalid: t.invalid,
	}
	return nil
}

// writeCheckpoint writes the boundary snapshot as the checkpoint rel (relative to the run
// directory). The policy's parameters and Adam's state have not changed since the
// snapshot: only collection runs between a boundary and the next update.
func (t *trainer) writeCheckpoint(rel string) error {
	pc := t.pol.Config()
	meta := policy.Metadata{
		Phase: t.s.Phase, Market: t.s.Market,
		ObsDim: pc.ObsDim, BaseObsDim: pc.BaseDim, NumActions: pc.NumActions,
		Arch:      policy.Arch{PiLayers: pc.PiLayers, VfLayers: pc.VfLayers, Activation: pc.Activation, Adapter: pc.HasAdapter()},
		Timesteps: t.snap.timesteps, Seed: t.cfg.Seed, Config: t.s.Config, ToolVersion: t.s.ToolVersion,
		CreatedAt: t.now().UTC().Format(time.RFC3339),
	}
	if t.s.Dataset != nil {
		meta.Instrument = describeInstrument(t.s.Dataset.Instrument)
	}
	if t.set.InitFrom != nil {
		meta.InitFrom = t.set.InitFrom
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

// resume restores a run from a checkpoint of its run directory.
func (t *trainer) resume(pcfg policy.Config) error {
	s := t.s
	dir := filepath.Clean(s.ResumeDir)
	t.runDir = RunDirOf(dir)
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
	cur.InitFrom = st.Settings.InitFrom // a record of how the run started: kept, never compared
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
	if err := compareSettings(st.Settings, cur, s.ConfigKeys); err != nil {
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
	if b := filepath.Join(t.runDir, BestDir); t.best != nil {
		if _, err := os.Stat(filepath.Join(b, policy.MetadataFile)); err == nil {
			t.res.Best = b // written before the checkpoint resumed from
		}
	}
	t.evals, t.adapterReports, t.invalid = st.Evals, st.AdapterReports, st.InvalidActions
	// eval_freq and save_freq may have changed: the next ones are the first multiples past
	// the checkpoint (what the uninterrupted run has too when they did not change).
	t.nextEval = (t.timesteps/t.cfg.EvalFreq + 1) * t.cfg.EvalFreq
	t.nextSave = (t.timesteps/t.cfg.SaveFreq + 1) * t.cfg.SaveFreq

	if err := truncateMetrics(filepath.Join(t.runDir, MetricsFile), t.timesteps); err != nil {
		return err
	}
	// Whatever the key tensorboard says now: the event files of the run's earlier
	// processes must not show steps the resumed run is about to write again.
	if err := truncateEvents(filepath.Join(t.runDir, TensorBoardDir), t.timesteps); err != nil {
		return err
	}
	if len(s.ConfigYAML) > 0 {
		if err := atomicfile.Write(filepath.Join(t.runDir, ConfigFile), s.ConfigYAML, atomicfile.Perm); err != nil {
			return fmt.Errorf("ppo: %w", err)
		}
	}
	return t.openLogs()
}
