package ppo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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

// runDirOf returns the run directory of a checkpoint directory: the parent of best/,
// final/ and interrupted/, the grandparent of checkpoints/ts-*/.
func runDirOf(ckpt string) string {
	parent := filepath.Dir(filepath.Clean(ckpt))
	if filepath.Base(parent) == checkpointsDir {
		return filepath.Dir(parent)
	}
	return parent
}

// Names inside a run directory.
const (
	configFile     = "config.yaml"
	metricsFile    = "metrics.jsonl"
	checkpointsDir = "checkpoints"
	bestDir        = "best"
	finalDir       = "final"
	interruptedDir = "interrupted"
)

// periodicName is the directory name of the periodic checkpoint at ts timesteps.
func periodicName(ts int64) string { return fmt.Sprintf("ts-%09d", ts) }
