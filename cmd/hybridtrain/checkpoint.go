package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"hybridtrain/internal/policy"
)

// checkCheckpointDir turns a missing or non-directory checkpoint path into a checkpoint
// error (exit 4) naming flag, before any package reads it.
func checkCheckpointDir(flag, dir string) error {
	if dir == "" {
		return configErrorf("%s is required: give a checkpoint directory (best/, final/, interrupted/ or checkpoints/ts-*/ of a run)", flag)
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: %w: no such directory", flag, dir, policy.ErrCheckpoint)
	case err != nil:
		return fmt.Errorf("%s %s: %w: %w", flag, dir, policy.ErrCheckpoint, err)
	case !st.IsDir():
		return fmt.Errorf("%s %s: %w: not a directory", flag, dir, policy.ErrCheckpoint)
	}
	return nil
}
