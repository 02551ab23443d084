package ppo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// maxRunDirSuffix bounds the -2, -3, ... suffixes NewRunDir tries; reaching it means
// something is creating directories in a loop, not a user starting runs.
const maxRunDirSuffix = 1000

// NewRunDir creates and returns a fresh run directory under root named
// <phase>-<market>-<UTC yyyymmddThhmmssZ> (phase as the caller spells it, e.g. "phase3"),
// with a -2, -3, ... suffix when the name is taken. The directory is claimed with one
// os.Mkdir, so two runs started in the same second never share it.
func NewRunDir(root, phase, market string, now time.Time) (string, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("ppo: run directory: %w", err)
	}
	base := fmt.Sprintf("%s-%s-%s", phase, market, now.UTC().Format("20060102T150405Z"))
	for i := 1; i <= maxRunDirSuffix; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		dir := filepath.Join(root, name)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("ppo: run directory: %w", err)
		}
	}
	return "", fmt.Errorf("ppo: run directory: %s-2 ... -%d are all taken under %s", base, maxRunDirSuffix, root)
}

// CheckOutDir accepts dir as an explicit run directory (--out): it must not exist (it is
// then created) or be an empty directory. Anything else is a *ConfigError naming "out"
// (exit code 2), so that a run never mixes its files with another's.
func CheckOutDir(dir string) error {
	if strings.TrimSpace(dir) == "" {
		return configErrorf("out", "empty path: want a directory that does not exist or is empty")
	}
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("ppo: --out %s: %w", dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("ppo: --out %s: %w", dir, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("ppo: --out %s: %w", dir, err)
	}
	if !st.IsDir() {
		return configErrorf("out", "%s is a file: want a directory that does not exist or is empty", dir)
	}
	if _, err := f.Readdirnames(1); !errors.Is(err, io.EOF) {
		if err != nil {
			return fmt.Errorf("ppo: --out %s: %w", dir, err)
		}
		return configErrorf("out", "%s is not empty: want a directory that does not exist or is empty (continue a run with --resume CHECKPOINT)", dir)
	}
	return nil
}

// RunDirOf returns the run directory of a checkpoint directory, from the path alone: the
// parent of best/, final/ and interrupted/, the grandparent of checkpoints/ts-*/.
func RunDirOf(ckpt string) string {
	parent := filepath.Dir(filepath.Clean(ckpt))
	if filepath.Base(parent) == CheckpointsDir {
		return filepath.Dir(parent)
	}
	return parent
}

// Names inside a run directory (docs/training.md). Training writes config.yaml and
// metrics.jsonl once and then appends, writes one TensorBoard event file per process into
// TensorBoardDir, replaces its checkpoints, and deletes the oldest periodic ones; it never
// touches ReportsDir, where eval writes its reports by default.
const (
	ConfigFile     = "config.yaml"   // the resolved configuration
	MetricsFile    = "metrics.jsonl" // one line per rollout and per evaluation
	TensorBoardDir = "tb"            // events.out.tfevents.* (key tensorboard)
	CheckpointsDir = "checkpoints"   // periodic checkpoints, named by periodicName
	BestDir        = "best"          // replaced at each better evaluation
	FinalDir       = "final"
	InterruptedDir = "interrupted"
	ReportsDir     = "reports"
)

// periodicPrefix starts the name of every periodic checkpoint.
const periodicPrefix = "ts-"

// periodicName is the directory name of the periodic checkpoint at ts timesteps: the
// prefix and 9 zero-padded digits, so that lexical order is numeric order.
func periodicName(ts int64) string { return fmt.Sprintf(periodicPrefix+"%09d", ts) }

// pruneCheckpoints keeps the keep newest periodic checkpoints of dir (a run's
// checkpoints/) and deletes the others.
func pruneCheckpoints(dir string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("ppo: checkpoints: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), periodicPrefix) && len(e.Name()) == len(periodicName(0)) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // zero-padded: lexical order is numeric order
	for _, n := range names[:max(0, len(names)-keep)] {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return fmt.Errorf("ppo: checkpoints: %w", err)
		}
	}
	return nil
}
