package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// Checkpoint is a checkpoint directory of a trial and the timesteps it holds.
type Checkpoint struct {
	Dir       string
	Timesteps int64
}

// Progress is how far a trial's run directory got.
type Progress struct {
	Dir    string
	Exists bool
	// Final is final/, nil when absent.
	Final *Checkpoint
	// Newest is the checkpoint with the most timesteps of final/, interrupted/, the periodic
	// checkpoints/ts-*/ and best/ (on a tie, the first in that order); nil when there is none.
	Newest *Checkpoint
}

// Step is what running a trial does next.
type Step int

const (
	// Start trains from scratch in a new or empty run directory.
	Start Step = iota
	// Restart clears what a run killed before its first checkpoint left (Clear) and trains
	// from scratch.
	Restart
	// Resume continues from Progress.Newest.
	Resume
	// Skip: final/ holds at least total_timesteps.
	Skip
)

func (s Step) String() string {
	switch s {
	case Start:
		return "start"
	case Restart:
		return "restart"
	case Resume:
		return "resume"
	case Skip:
		return "skip"
	}
	return fmt.Sprintf("Step(%d)", int(s))
}

// Next says what running the trial to total timesteps does: skip it when final/ has them,
// else resume from the newest checkpoint (final/ too, when total_timesteps grew), else
// start, in an empty directory or after clearing a run that saved nothing.
func (p Progress) Next(total int64) Step {
	switch {
	case p.Final != nil && p.Final.Timesteps >= total:
		return Skip
	case p.Newest != nil:
		return Resume
	case p.Exists && !p.empty():
		return Restart
	}
	return Start
}

func (p Progress) empty() bool {
	entries, err := os.ReadDir(p.Dir)
	return err == nil && len(entries) == 0
}

// Inspect reads how far the trial in dir got. A checkpoint whose metadata.json cannot be
// read is an error wrapping policy.ErrCheckpoint.
func Inspect(dir string) (Progress, error) {
	p := Progress{Dir: dir}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return p, nil
	case err != nil:
		return p, fmt.Errorf("sweep: trial %s: %w", dir, err)
	case !st.IsDir():
		return p, fmt.Errorf("sweep: trial %s is a file, want a run directory", dir)
	}
	p.Exists = true
	candidates := []string{ppo.FinalDir, ppo.InterruptedDir}
	periodic, err := periodicCheckpoints(filepath.Join(dir, ppo.CheckpointsDir))
	if err != nil {
		return p, err
	}
	candidates = append(candidates, periodic...)
	candidates = append(candidates, ppo.BestDir)
	for _, rel := range candidates {
		ck, err := readCheckpoint(filepath.Join(dir, rel))
		if err != nil {
			return p, err
		}
		if ck == nil {
			continue
		}
		if rel == ppo.FinalDir {
			p.Final = ck
		}
		if p.Newest == nil || ck.Timesteps > p.Newest.Timesteps {
			p.Newest = ck
		}
	}
	return p, nil
}

// periodicCheckpoints lists checkpoints/ts-*/ relative to the run directory, newest
// first (the names are zero-padded, so lexical order is numeric order).
func periodicCheckpoints(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "ts-") {
			out = append(out, filepath.Join(ppo.CheckpointsDir, e.Name()))
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// readCheckpoint reads the timesteps of the checkpoint in dir from its metadata.json;
// nil when dir is not there.
func readCheckpoint(dir string) (*Checkpoint, error) {
	data, err := os.ReadFile(filepath.Join(dir, policy.MetadataFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, statErr := os.Stat(dir); errors.Is(statErr, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("sweep: %s: %w: no %s", dir, policy.ErrCheckpoint, policy.MetadataFile)
	}
	if err != nil {
		return nil, fmt.Errorf("sweep: %w: %w", policy.ErrCheckpoint, err)
	}
	var meta policy.Metadata
	if err := json.Unmarshal(data, &meta); err != nil {
		return nil, fmt.Errorf("sweep: %s: %w: %w", filepath.Join(dir, policy.MetadataFile), policy.ErrCheckpoint, err)
	}
	return &Checkpoint{Dir: dir, Timesteps: meta.Timesteps}, nil
}

// Clear empties the run directory of a trial that saved no checkpoint (Progress.Next gave
// Restart), so that it starts again from scratch. The directory must hold the config.yaml
// a run writes first: a directory without one is not a run's, and nothing is deleted.
func Clear(dir string) error {
	p, err := Inspect(dir)
	if err != nil {
		return err
	}
	if p.Newest != nil {
		return fmt.Errorf("sweep: trial %s has a checkpoint (%s): resume it instead", dir, p.Newest.Dir)
	}
	if _, err := os.Stat(filepath.Join(dir, ppo.ConfigFile)); err != nil {
		return fmt.Errorf("sweep: trial %s is not empty and holds no %s: not a run directory; move it away", dir, ppo.ConfigFile)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
	}
	return nil
}
