package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"hybridtrain/internal/ppo"
)

// recorder is a ppo.Recorder the command closes when training returns.
type recorder interface {
	ppo.Recorder
	Close()
}

var (
	_ ppo.Recorder = (*barRecorder)(nil)
	_ ppo.Recorder = (*lineRecorder)(nil)
	_ ppo.Recorder = nopRecorder{}
)

// newRecorder reports progress on stderr: a progress bar on a terminal, else one plain line
// per rollout (no control characters); nothing with --quiet.
func (a *app) newRecorder(quiet bool) recorder {
	switch {
	case quiet:
		return nopRecorder{}
	case a.term.StderrIsTerminal():
		return &barRecorder{w: a.stderr}
	}
	return &lineRecorder{w: a.stderr}
}

// nopRecorder reports nothing (--quiet).
type nopRecorder struct{}

func (nopRecorder) Start(int64, int64)         {}
func (nopRecorder) Rollout(ppo.RolloutMetrics) {}
func (nopRecorder) Eval(ppo.EvalMetrics)       {}
func (nopRecorder) Close()                     {}

// lineRecorder writes one line per rollout and per evaluation.
type lineRecorder struct {
	w     io.Writer
	total int64
}

func (r *lineRecorder) Start(total, start int64) {
	r.total = total
	if start > 0 {
		fmt.Fprintf(r.w, "resuming at %d of %d timesteps\n", start, total)
	}
}

func (r *lineRecorder) Rollout(m ppo.RolloutMetrics) {
	fmt.Fprintln(r.w, rolloutLine(m, r.total))
}

func (r *lineRecorder) Eval(m ppo.EvalMetrics) { fmt.Fprintln(r.w, evalLine(m)) }

func (r *lineRecorder) Close() {}

// rolloutLine is the plain progress line of one rollout: timesteps, steps/s, ETA, mean
// episode reward and the adapter's llm_features_learned.
func rolloutLine(m ppo.RolloutMetrics, total int64) string {
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(m.Timesteps) / float64(total)
	}
	return fmt.Sprintf("rollout %d: timesteps %d/%d (%.0f%%), %d steps/s, ETA %s, ep_rew_mean %s, llm_features_learned %s, approx_kl %.4g",
		m.Iterations, m.Timesteps, total, pct, m.FPS, eta(m, total), epReward(m), llmFeatures(m), m.ApproxKL)
}

func evalLine(m ppo.EvalMetrics) string {
	best := ""
	if m.Best {
		best = " (best so far)"
	}
	return fmt.Sprintf("eval at %d: %d episodes, mean reward %.4g +- %.4g, mean P&L %.2f, %d trades, win rate %.1f%%, max drawdown %.2f, masked actions %d%s",
		m.Timesteps, m.Episodes, m.MeanReward, m.StdReward, m.MeanPnL, m.Trades, 100*m.WinRate, m.MaxDrawdown, m.MaskedActions, best)
}

func epReward(m ppo.RolloutMetrics) string {
	if m.Episodes == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.4g", m.EpRewMean)
}

func llmFeatures(m ppo.RolloutMetrics) string {
	if m.Adapter == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3g", m.Adapter.LLMFeaturesLearned)
}

// eta estimates the time left from the run's own rate (fps counts the steps of this
// process only, so a resumed run's estimate is right too).
func eta(m ppo.RolloutMetrics, total int64) string {
	if m.FPS <= 0 || m.Timesteps >= total {
		return "0s"
	}
	left := time.Duration(float64(total-m.Timesteps) / float64(m.FPS) * float64(time.Second))
	return left.Round(time.Second).String()
}

// barRecorder draws a progress bar on a terminal stderr: the timesteps as the bar's count,
// then the trainer's own steps/s and the ETA from it (time/fps counts this process's steps
// only; the bar's own rate would count the timesteps a resumed run starts from as just
// made), the mean episode reward and llm_features_learned.
type barRecorder struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	total int64
}

func (r *barRecorder) Start(total, start int64) {
	r.total = total
	r.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(r.w),
		progressbar.OptionSetDescription("training"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(false), // the ETA is in the description
		progressbar.OptionSetWidth(30),
		// No throttle: the bar changes once per rollout (seconds apart), and a throttle
		// dropped the count set right after the description, so it lagged a rollout.
		progressbar.OptionShowDescriptionAtLineEnd(),
	)
	_ = r.bar.Set64(start) // drawing errors on a terminal are not worth stopping a run
}

func (r *barRecorder) Rollout(m ppo.RolloutMetrics) {
	if r.bar == nil {
		return
	}
	r.bar.Describe(fmt.Sprintf("%d steps/s, ETA %s, ep_rew_mean %s, llm_features_learned %s",
		m.FPS, eta(m, r.total), epReward(m), llmFeatures(m)))
	_ = r.bar.Set64(m.Timesteps)
}

func (r *barRecorder) Eval(m ppo.EvalMetrics) {
	if r.bar != nil {
		_ = r.bar.Clear()
	}
	fmt.Fprintln(r.w, evalLine(m))
}

func (r *barRecorder) Close() {
	if r.bar != nil {
		_ = r.bar.Close()
		fmt.Fprintln(r.w)
	}
}
