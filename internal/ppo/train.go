package ppo

import (
	"context"
	"errors"
)

var errTODO = errors.New("ppo: not implemented yet")

// Train runs maskable PPO as s describes, writing the run directory, until total_timesteps
// (at a rollout boundary), ctx's end (ErrInterrupted, with interrupted/ saved) or an error
// (a *NonFiniteError, a *ConfigError, or an error wrapping policy.ErrCheckpoint for a bad
// base or resume checkpoint). rec may be nil.
func Train(ctx context.Context, s Setup, rec Recorder) (*Result, error) {
	return nil, errTODO
}
