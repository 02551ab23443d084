package ppo

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hybridtrain/internal/atomicfile"
	"hybridtrain/internal/tfevents"
)

// Histograms the event file carries beside the metrics (they have no metrics.jsonl line).
const (
	// HistActionProb is the probability the policy gave each action it sampled in the
	// rollout: how sure the policy is of what it does.
	HistActionProb = "rollout/action_prob"
	// HistContextWeights is the adapter's weights from the 33 context features (Phase 3):
	// how much the context is used, beyond adapter/llm_features_learned's mean.
	HistContextWeights = "adapter/context_weights"
)

// histogramBuckets is the number of equal-width buckets of each histogram.
const histogramBuckets = 30

// eventLog is a run's TensorBoard event file: every numeric value of every metrics.jsonl
// line as a scalar under the line's key, at step time/total_timesteps, and the histograms
// above. Records are held until flush, which writes those of a boundary in one Write; sync
// makes them durable with metrics.jsonl before each checkpoint.
type eventLog struct {
	f    *os.File
	path string
	w    *tfevents.Writer

	values []tfevents.Value // scratch for one event's summary
	probs  []float32        // scratch for the rollout's action probabilities
	ctxW   []float32        // scratch for the adapter's context weights
}

// openEventLog creates a new event file in dir, named for now and this host (with a .2,
// .3, ... suffix when a file of that name exists: a resume in the same second), and writes
// its file-version record. Each process writes its own file, as TensorFlow's writers do;
// TensorBoard reads a directory's files in name order.
func openEventLog(dir string, now time.Time) (*eventLog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ppo: tensorboard: %w", err)
	}
	host, err := os.Hostname()
	if err != nil {
		host = "" // tfevents.FileName names it localhost
	}
	base := tfevents.FileName(now, host)
	for i := 1; i <= maxRunDirSuffix; i++ {
		path := filepath.Join(dir, base)
		if i > 1 {
			path = fmt.Sprintf("%s.%d", path, i)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ppo: tensorboard: %w", err)
		}
		l := &eventLog{f: f, path: path, w: tfevents.NewWriter(f)}
		if err := l.w.Write(&tfevents.Event{WallTime: unixSeconds(now), FileVersion: tfevents.FileVersion}); err != nil {
			f.Close()
			return nil, fmt.Errorf("ppo: tensorboard: %s: %w", path, err)
		}
		if err := l.flush(); err != nil {
			f.Close()
			return nil, err
		}
		return l, nil
	}
	return nil, fmt.Errorf("ppo: tensorboard: %s and its suffixes .2 ... .%d all exist in %s", base, maxRunDirSuffix, dir)
}

// unixSeconds is an event's wall_time.
func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// scalars records values as one event at step.
func (l *eventLog) scalars(step int64, wall time.Time, values []metric) error {
	vs := l.values[:0]
	for _, m := range values {
		vs = append(vs, tfevents.Value{Tag: m.key, SimpleValue: float32(m.v)})
	}
	l.values = vs
	return l.write(&tfevents.Event{WallTime: unixSeconds(wall), Step: step, Summary: vs})
}

// histograms records, at step, the histogram of the probabilities of the actions sampled
// in the rollout (their log-probabilities logp) and, when the run has an adapter, of its
// context weights (appended by ctxWeights).
func (l *eventLog) histograms(step int64, wall time.Time, logp []float32, ctxWeights func([]float32) ([]float32, error)) error {
	l.probs = l.probs[:0]
	for _, lp := range logp {
		l.probs = append(l.probs, float32(math.Exp(float64(lp))))
	}
	vs := append(l.values[:0], tfevents.Value{Tag: HistActionProb, Histo: tfevents.NewHistogram(l.probs, histogramBuckets)})
	if ctxWeights != nil {
		var err error
		if l.ctxW, err = ctxWeights(l.ctxW[:0]); err != nil {
			return fmt.Errorf("ppo: tensorboard: %w", err)
		}
		vs = append(vs, tfevents.Value{Tag: HistContextWeights, Histo: tfevents.NewHistogram(l.ctxW, histogramBuckets)})
	}
	l.values = vs
	return l.write(&tfevents.Event{WallTime: unixSeconds(wall), Step: step, Summary: vs})
}

func (l *eventLog) write(e *tfevents.Event) error {
	if err := l.w.Write(e); err != nil {
		return fmt.Errorf("ppo: tensorboard: %s: %w", l.path, err)
	}
	return nil
}

// flush writes the records held since the last flush.
func (l *eventLog) flush() error {
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("ppo: tensorboard: %s: %w", l.path, err)
	}
	return nil
}

// sync flushes and makes the file durable; called with metrics.jsonl's sync before each
// checkpoint, so that a checkpoint never refers to records a crash could lose.
func (l *eventLog) sync() error {
	if err := l.flush(); err != nil {
		return err
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("ppo: tensorboard: %s: %w", l.path, err)
	}
	return nil
}

// close writes what is held (the records of a boundary that failed half-way, which
// metrics.jsonl has too) and closes the file.
func (l *eventLog) close() error {
	err := l.flush()
	if cerr := l.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("ppo: tensorboard: %s: %w", l.path, cerr)
	}
	return err
}

// isEventFile says whether TensorBoard reads a file of this name as an event file.
func isEventFile(name string) bool { return strings.Contains(name, "tfevents") }

// truncateEvents keeps, in every event file of dir, the records whose step is at most ts
// (the resumed checkpoint's), as truncateMetrics keeps metrics lines, rewriting a file
// atomically when it loses any. A file's records are read up to the first one that is
// incomplete or damaged (a tail torn by a kill), which is dropped with everything after
// it: TensorBoard stops reading there too. A missing dir is no error.
func truncateEvents(dir string, ts int64) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ppo: resume: tensorboard: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !isEventFile(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("ppo: resume: tensorboard: %w", err)
		}
		if keep := eventsUpTo(data, ts); len(keep) != len(data) {
			if err := atomicfile.Write(path, keep, atomicfile.Perm); err != nil {
				return fmt.Errorf("ppo: resume: tensorboard: %w", err)
			}
		}
	}
	return nil
}

// eventsUpTo returns the records of the event file data whose step is at most ts, up to
// the first record that cannot be read.
func eventsUpTo(data []byte, ts int64) []byte {
	r := tfevents.NewReader(bytes.NewReader(data))
	keep := make([]byte, 0, len(data))
	for {
		rec, err := r.Next()
		if err != nil {
			// The end (io.EOF), or a torn or damaged tail: what was whole before it stays.
			return keep
		}
		e, err := tfevents.ParseEvent(rec)
		if err != nil {
			return keep
		}
		if e.Step <= ts {
			keep = tfevents.AppendRecord(keep, rec)
		}
	}
}
