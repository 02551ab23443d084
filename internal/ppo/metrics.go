package ppo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"

	"hybridtrain/internal/adapter"
	"hybridtrain/internal/atomicfile"
)

// MetricsKeys lists, in the order they are written, every key a metrics.jsonl line may
// carry besides "kind". Rollout lines: time/*, rollout/*, train/*, adapter/* (Phase 3);
// eval lines: time/total_timesteps and eval/*. rollout/ep_rew_mean and rollout/ep_len_mean
// are absent before the first finished episode, train/explained_variance when the returns
// of the rollout have zero variance; time/fps and time/time_elapsed are the only wall-clock
// values.
var MetricsKeys = []string{
	"time/total_timesteps", "time/iterations", "time/fps", "time/time_elapsed",
	"rollout/ep_rew_mean", "rollout/ep_len_mean",
	"train/approx_kl", "train/clip_fraction", "train/entropy_loss", "train/policy_gradient_loss",
	"train/value_loss", "train/loss", "train/explained_variance", "train/learning_rate",
	"train/n_updates", "train/clip_range", "train/minibatches", "train/early_stop", "train/base_frozen",
	"adapter/weight_mean", "adapter/weight_std", "adapter/weight_min", "adapter/weight_max",
	"adapter/bias_mean", "adapter/bias_std", "adapter/base_identity_deviation", "adapter/llm_features_learned",
	"eval/episodes", "eval/mean_reward", "eval/std_reward", "eval/mean_ep_length", "eval/mean_pnl",
	"eval/trades", "eval/win_rate", "eval/max_drawdown", "eval/masked_actions", "eval/best",
}

// WallClockKeys are the metrics that differ between two runs with the same seed.
var WallClockKeys = []string{"time/fps", "time/time_elapsed"}

// line builds one JSON object with keys in insertion order (encoding/json would sort a
// map's keys; the order here is the documented one) and reports non-finite values.
type line struct {
	b        []byte
	nonFinit string // first key whose value was NaN or Inf
}

func (l *line) key(k string) {
	if len(l.b) == 0 {
		l.b = append(l.b, '{')
	} else {
		l.b = append(l.b, ',')
	}
	l.b = strconv.AppendQuote(l.b, k)
	l.b = append(l.b, ':')
}

func (l *line) str(k, v string) { l.key(k); l.b = strconv.AppendQuote(l.b, v) }
func (l *line) int(k string, v int64) {
	l.key(k)
	l.b = strconv.AppendInt(l.b, v, 10)
}
func (l *line) bool(k string, v bool) { l.key(k); l.b = strconv.AppendBool(l.b, v) }

// float writes v with the shortest representation that reads back exactly; a non-finite
// value (which JSON cannot carry) is written as null and remembered.
func (l *line) float(k string, v float64) {
	l.key(k)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if l.nonFinit == "" {
			l.nonFinit = k
		}
		l.b = append(l.b, "null"...)
		return
	}
	l.b = strconv.AppendFloat(l.b, v, 'g', -1, 64)
}

func (l *line) end() []byte { return append(l.b, '}', '\n') }

// rolloutLine renders a rollout's metrics line.
func rolloutLine(m *RolloutMetrics) *line {
	l := &line{}
	l.str("kind", "rollout")
	l.int("time/total_timesteps", m.Timesteps)
	l.int("time/iterations", m.Iterations)
	l.int("time/fps", m.FPS)
	l.float("time/time_elapsed", m.Elapsed)
	if m.Episodes > 0 {
		l.float("rollout/ep_rew_mean", m.EpRewMean)
		l.float("rollout/ep_len_mean", m.EpLenMean)
	}
	l.float("train/approx_kl", m.ApproxKL)
	l.float("train/clip_fraction", m.ClipFraction)
	l.float("train/entropy_loss", m.EntropyLoss)
	l.float("train/policy_gradient_loss", m.PolicyGradientLoss)
	l.float("train/value_loss", m.ValueLoss)
	l.float("train/loss", m.Loss)
	if m.HasExplainedVariance {
		l.float("train/explained_variance", m.ExplainedVariance)
	}
	l.float("train/learning_rate", m.LearningRate)
	l.int("train/n_updates", m.NUpdates)
	l.float("train/clip_range", m.ClipRange)
	l.int("train/minibatches", int64(m.Minibatches))
	l.bool("train/early_stop", m.EarlyStopped)
	l.bool("train/base_frozen", m.BaseFrozen)
	if a := m.Adapter; a != nil {
		adapterFields(l, a)
	}
	return l
}

func adapterFields(l *line, a *adapter.Stats) {
	l.float("adapter/weight_mean", a.WeightMean)
	l.float("adapter/weight_std", a.WeightStd)
	l.float("adapter/weight_min", a.WeightMin)
	l.float("adapter/weight_max", a.WeightMax)
	l.float("adapter/bias_mean", a.BiasMean)
	l.float("adapter/bias_std", a.BiasStd)
	l.float("adapter/base_identity_deviation", a.BaseIdentityDeviation)
	l.float("adapter/llm_features_learned", a.LLMFeaturesLearned)
}

// evalLine renders an evaluation's metrics line.
func evalLine(m *EvalMetrics) *line {
	l := &line{}
	l.str("kind", "eval")
	l.int("time/total_timesteps", m.Timesteps)
	l.int("eval/episodes", int64(m.Episodes))
	l.float("eval/mean_reward", m.MeanReward)
	l.float("eval/std_reward", m.StdReward)
	l.float("eval/mean_ep_length", m.MeanLength)
	l.float("eval/mean_pnl", m.MeanPnL)
	l.int("eval/trades", int64(m.Trades))
	l.float("eval/win_rate", m.WinRate)
	l.float("eval/max_drawdown", m.MaxDrawdown)
	l.int("eval/masked_actions", m.MaskedActions)
	l.bool("eval/best", m.Best)
	return l
}

// metricsLog appends lines to metrics.jsonl, one Write per line.
type metricsLog struct {
	f    *os.File
	path string
}

func openMetrics(path string) (*metricsLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ppo: metrics: %w", err)
	}
	return &metricsLog{f: f, path: path}, nil
}

func (m *metricsLog) write(l *line) error {
	if _, err := m.f.Write(l.end()); err != nil {
		return fmt.Errorf("ppo: metrics: %s: %w", m.path, err)
	}
	return nil
}

// sync makes the lines written so far durable; called before each checkpoint, so that a
// checkpoint never refers to metrics a crash could lose.
func (m *metricsLog) sync() error {
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("ppo: metrics: %s: %w", m.path, err)
	}
	return nil
}

func (m *metricsLog) close() error { return m.f.Close() }

// truncateMetrics keeps the lines of path whose time/total_timesteps is at most ts (the
// resumed checkpoint's) and drops the rest, rewriting the file atomically. A final line
// without its newline (a crash mid-write) is dropped; any other unreadable line is an
// error naming its line number.
func truncateMetrics(path string, ts int64) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ppo: resume: %w", err)
	}
	var keep bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n, complete := 0, len(data) == 0 || data[len(data)-1] == '\n'
	lines := bytes.Count(data, []byte{'\n'})
	for sc.Scan() {
		n++
		var v struct {
			TS *int64 `json:"time/total_timesteps"`
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil || v.TS == nil {
			if n == lines+1 && !complete {
				break // a torn last line
			}
			return fmt.Errorf("ppo: resume: %s:%d: not a metrics line with time/total_timesteps", path, n)
		}
		if *v.TS <= ts {
			keep.Write(sc.Bytes())
			keep.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("ppo: resume: %s: %w", path, err)
	}
	if err := atomicfile.Write(path, keep.Bytes(), atomicfile.Perm); err != nil {
		return fmt.Errorf("ppo: %w", err)
	}
	return nil
}
