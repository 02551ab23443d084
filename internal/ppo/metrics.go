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
// map's keys; the order here is the documented one) and reports non-finite values. It
// keeps the numeric values beside the text, so that the event file records exactly what
// the line says.
type line struct {
	b            []byte
	nonFiniteKey string   // first key whose value was NaN or Inf
	values       []metric // every number, boolean (0 or 1) included, in order
}

// metric is one numeric value of a metrics line.
type metric struct {
	key string
	v   float64
}

// newLine returns an empty line with room for every key.
func newLine() *line { return &line{values: make([]metric, 0, len(MetricsKeys))} }

func (l *line) key(k string) {
	if len(l.b) == 0 {
		l.b = append(l.b, '{')
	} else {
		l.b = append(l.b, ',')
	}
	l.b = strconv.AppendQuote(l.b, k)
	l.b = append(l.b, ':')
}

func (l *line) addString(k, v string) { l.key(k); l.b = strconv.AppendQuote(l.b, v) }
func (l *line) addInt(k string, v int64) {
	l.key(k)
	l.b = strconv.AppendInt(l.b, v, 10)
	l.values = append(l.values, metric{k, float64(v)})
}
func (l *line) addBool(k string, v bool) {
	l.key(k)
	l.b = strconv.AppendBool(l.b, v)
	x := 0.0
	if v {
		x = 1
	}
	l.values = append(l.values, metric{k, x})
}

// addFloat writes v with the shortest representation that reads back exactly; a non-finite
// value (which JSON cannot carry) is written as null and remembered.
func (l *line) addFloat(k string, v float64) {
	l.key(k)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if l.nonFiniteKey == "" {
			l.nonFiniteKey = k
		}
		l.b = append(l.b, "null"...)
		return
	}
	l.b = strconv.AppendFloat(l.b, v, 'g', -1, 64)
	l.values = append(l.values, metric{k, v})
}

func (l *line) end() []byte { return append(l.b, '}', '\n') }

// rolloutLine renders a rollout's metrics line.
func rolloutLine(m *RolloutMetrics) *line {
	l := newLine()
	l.addString("kind", "rollout")
	l.addInt("time/total_timesteps", m.Timesteps)
	l.addInt("time/iterations", m.Iterations)
	l.addInt("time/fps", m.FPS)
	l.addFloat("time/time_elapsed", m.Elapsed)
	if m.Episodes > 0 {
		l.addFloat("rollout/ep_rew_mean", m.EpRewMean)
		l.addFloat("rollout/ep_len_mean", m.EpLenMean)
	}
	l.addFloat("train/approx_kl", m.ApproxKL)
	l.addFloat("train/clip_fraction", m.ClipFraction)
	l.addFloat("train/entropy_loss", m.EntropyLoss)
	l.addFloat("train/policy_gradient_loss", m.PolicyGradientLoss)
	l.addFloat("train/value_loss", m.ValueLoss)
	l.addFloat("train/loss", m.Loss)
	if m.HasExplainedVariance {
		l.addFloat("train/explained_variance", m.ExplainedVariance)
	}
	l.addFloat("train/learning_rate", m.LearningRate)
	l.addInt("train/n_updates", m.NUpdates)
	l.addFloat("train/clip_range", m.ClipRange)
	l.addInt("train/minibatches", int64(m.Minibatches))
	l.addBool("train/early_stop", m.EarlyStopped)
	l.addBool("train/base_frozen", m.BaseFrozen)
	if a := m.Adapter; a != nil {
		adapterFields(l, a)
	}
	return l
}

func adapterFields(l *line, a *adapter.Stats) {
	l.addFloat("adapter/weight_mean", a.WeightMean)
	l.addFloat("adapter/weight_std", a.WeightStd)
	l.addFloat("adapter/weight_min", a.WeightMin)
	l.addFloat("adapter/weight_max", a.WeightMax)
	l.addFloat("adapter/bias_mean", a.BiasMean)
	l.addFloat("adapter/bias_std", a.BiasStd)
	l.addFloat("adapter/base_identity_deviation", a.BaseIdentityDeviation)
	l.addFloat("adapter/llm_features_learned", a.LLMFeaturesLearned)
}

// evalLine renders an evaluation's metrics line.
func evalLine(m *EvalMetrics) *line {
	l := newLine()
	l.addString("kind", "eval")
	l.addInt("time/total_timesteps", m.Timesteps)
	l.addInt("eval/episodes", int64(m.Episodes))
	l.addFloat("eval/mean_reward", m.MeanReward)
	l.addFloat("eval/std_reward", m.StdReward)
	l.addFloat("eval/mean_ep_length", m.MeanLength)
	l.addFloat("eval/mean_pnl", m.MeanPnL)
	l.addInt("eval/trades", int64(m.Trades))
	l.addFloat("eval/win_rate", m.WinRate)
	l.addFloat("eval/max_drawdown", m.MaxDrawdown)
	l.addInt("eval/masked_actions", m.MaskedActions)
	l.addBool("eval/best", m.Best)
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
