package ppo

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"hybridtrain/internal/policy"
)

// benchTrainer sets up a trainer over the trading env (synthetic NQ, the default Phase 3
// network) without running it.
func benchTrainer(b *testing.B, nEnvs, nSteps int) *trainer {
	b.Helper()
	s := tradingSetup(b, synthNQ(b, 12), 3)
	s.PPO.NEnvs, s.PPO.NSteps, s.PPO.BatchSize = nEnvs, nSteps, 64
	s.Policy.PiLayers, s.Policy.VfLayers = []int{512, 256, 128}, []int{512, 256, 128}
	t, err := newTrainer(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(t.close)
	t.sampleRng, t.shuffleRng = rand.New(t.samplePCG), rand.New(t.shufflePCG)
	return t
}

// BenchmarkCollectStep is one vectorised rollout step (2 envs, the default Phase 3
// network): normalise, Act, env step, normaliser updates, bookkeeping. allocs/op counts
// the policy's forward pass too; the trainer's own share is zero.
func BenchmarkCollectStep(b *testing.B) {
	t := benchTrainer(b, 2, 256)
	b.ReportAllocs()
	step := 0
	for b.Loop() {
		if err := t.collectStep(step); err != nil {
			b.Fatal(err)
		}
		step = (step + 1) % t.cfg.NSteps
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(t.N), "ns/env-step")
}

// BenchmarkTestMode trains the spec's test mode end to end (total_timesteps 50,000, n_envs
// 2, n_steps 1,024, the default Phase 3 network and PPO settings, evaluation every 10,000
// on 3 validation sessions, checkpoints) on synthetic NQ bars and reports env-steps/s, the
// training figure of docs/performance.md, and cpu-s/op, the process CPU time of a run (all
// threads; on a shared machine it leaves out the time spent waiting for a core). One op is
// a whole run of several seconds, so run it once:
//
//	go test ./internal/ppo -run XXX -bench TestMode -benchtime 1x
//
// HYBRIDTRAIN_TESTMODE_STEPS shortens the run (for profiling).
func BenchmarkTestMode(b *testing.B) {
	ds := synthNQ(b, 60)
	var steps int64
	var cpu time.Duration
	for range b.N {
		b.StopTimer() // the setup (a run directory) is not the training
		s := tradingSetup(b, ds, 3)
		c := DefaultConfig()
		c.TotalTimesteps, c.NEnvs, c.NSteps = int64(envOr("HYBRIDTRAIN_TESTMODE_STEPS", 50_000)), 2, 1024
		c.EvalFreq, c.NEvalEpisodes, c.SaveFreq, c.AdapterWarmupSteps = 10_000, 3, 10_000, 5_000
		s.PPO = c
		s.Policy.PiLayers, s.Policy.VfLayers = []int{512, 256, 128}, []int{512, 256, 128}
		b.StartTimer()
		cpu0 := processCPU()
		res, err := Train(context.Background(), s, nil)
		cpu += processCPU() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		if !res.Finished {
			b.Fatalf("test-mode run stopped at %d of %d timesteps", res.Timesteps, c.TotalTimesteps)
		}
		steps += res.Timesteps
	}
	b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "env-steps/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// processCPU is the user + system CPU time of the process so far (all threads): on a
// shared machine it leaves out the time spent waiting for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPolicyActRollout is the policy's share of BenchmarkCollectStep: the same Act
// call alone. The difference between the two is the trainer's and the env's.
func BenchmarkPolicyActRollout(b *testing.B) {
	t := benchTrainer(b, 2, 256)
	obs := make([]float32, t.N*t.dim)
	t.normalize(obs, t.batch.Obs, t.N)
	b.ReportAllocs()
	for b.Loop() {
		t.act = policyActResult(t, 0)
		if err := t.pol.Act(obs, t.batch.Masks, t.N, false, t.sampleRng, &t.act); err != nil {
			b.Fatal(err)
		}
	}
}

func policyActResult(t *trainer, step int) policy.ActResult {
	lo, hi := step*t.N, (step+1)*t.N
	return policy.ActResult{Actions: t.buf.actions[lo:hi], Values: t.buf.values[lo:hi], LogProbs: t.buf.logp[lo:hi]}
}

// BenchmarkUpdate is one PPO update in test mode's shape: a rollout of 2 envs x 1,024
// steps, batch 256, 10 epochs (80 minibatches; no KL stop), the default Phase 3 network.
// Its cost is the policy's: gather is a copy per row.
func BenchmarkUpdate(b *testing.B) {
	t := benchTrainer(b, 2, 1024)
	t.cfg.BatchSize, t.cfg.NEpochs, t.cfg.TargetKL = 256, 10, 0
	t.mbs = newMinibatcher(t.cfg.NSteps*t.N, t.cfg.BatchSize, t.dim, t.nAct)
	if err := t.collect(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := t.update(); err != nil {
			b.Fatal(err)
		}
	}
}

// envOr reads an integer from the environment (for shortened profiling runs).
func envOr(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}
