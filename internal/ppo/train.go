package ppo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
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

// trainer is one training run. Its methods live in files by concern: setup.go (a fresh
// run: the policy, from scratch or transferred, the normalisers, the envs), rollout.go
// (collection and GAE), update.go (the PPO epochs), boundary.go (metrics, evaluation and
// checkpoints at a rollout boundary, interruption) and snapshot.go (the state a checkpoint
// holds, and resume, which reads it back).
type trainer struct {
	// What the run is.
	s        Setup
	cfg      Config
	rec      Recorder // nil: nothing is reported
	now      func() time.Time
	set      RunSettings
	transfer bool // the policy was transferred from a base (the warm-up applies)

	// The network, the envs and their sizes.
	pol  *policy.Policy
	envs Envs
	venv Env
	N    int // envs
	dim  int // observation length
	nAct int

	obsRMS *RunningMeanStd
	ret    *RewardNormalizer

	// Rollout memory, allocated once by setupEnv.
	batch      *env.Batch // the env's output: after a step, the observations of the next one
	starts     []bool     // batch.Obs[i] begins an episode
	buf        *rolloutBuffer
	mbs        *minibatcher
	act        policy.ActResult
	scratchObs []float32 // N x dim: normalised terminal / last observations
	scratchV   []float32 // N values
	lastV      []float32
	dones      []bool

	// Generators: the PCGs are what a checkpoint saves; the Rands draw from them.
	samplePCG, shufflePCG *rand.PCG
	sampleRng, shuffleRng *rand.Rand

	// Episode statistics: each env's running raw return and length, and the window of the
	// last episodeWindow finished episodes.
	epRew  []float64
	epLen  []int64
	window []episodeRec

	// Counters and schedule (state.json).
	timesteps, iterations, nUpdates int64
	lr, progress                    float64
	best                            *float64
	nextEval, nextSave              int64
	evals, adapterReports, invalid  int64

	metrics   *metricsLog
	events    *eventLog // nil when the key tensorboard is off
	runDir    string
	startTS   int64 // timesteps and wall clock when this process started: time/fps
	startTime time.Time

	pendingMetrics RolloutMetrics // the update's metrics, completed at the boundary

	// snap is the state at the last rollout boundary, what interrupted/ holds.
	snap snapshot
	res  Result
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
	if t.rec != nil {
		t.rec.Start(t.cfg.TotalTimesteps, t.timesteps)
	}
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
		if err := t.writeCheckpoint(FinalDir); err != nil {
			return err
		}
		t.res.Final = filepath.Join(t.runDir, FinalDir)
	}
	t.res.Finished = true
	t.res.Model = &Model{Policy: t.pol, obsRMS: t.obsRMS.Clone(), normObs: t.cfg.NormObs, clipObs: t.cfg.ClipObs}
	if err := t.checkParams(); err != nil {
		t.res.Finite = false
		return err
	}
	return t.syncLogs()
}

// close closes the training envs, metrics.jsonl and the event file; it may be called more
// than once.
func (t *trainer) close() {
	if t.venv != nil {
		closeEnv(t.venv)
		t.venv = nil
	}
	if t.metrics != nil {
		t.metrics.close()
		t.metrics = nil
	}
	if t.events != nil {
		t.events.close()
		t.events = nil
	}
}

// nonFinite marks the run as not finite and returns the *NonFiniteError of the update
// being prepared for what was found, its cause made to wrap policy.ErrNonFinite.
func (t *trainer) nonFinite(what string, err error) error {
	t.res.Finite = false
	if !errors.Is(err, policy.ErrNonFinite) {
		err = fmt.Errorf("%w: %w", policy.ErrNonFinite, err)
	}
	return &NonFiniteError{Update: t.iterations + 1, Timesteps: t.timesteps, What: what, Err: err}
}
