package main

import (
	"fmt"

	"hybridtrain/internal/sweep"
)

// continueRun sets s up to bring the run in dir to its total_timesteps, continuing what an
// earlier process left there, as a sweep's trial and a walk-forward's fold do: nothing to
// train when final/ has them (sweep.Skip), else resume from the newest checkpoint
// (sweep.Resume, s.Resume set), else train from scratch in dir (s.Out set), after clearing
// what a run killed before its first checkpoint left (sweep.Restart). It returns the step,
// what dir held, and the step in words for the progress line.
func continueRun(dir string, s *resolvedConfig) (sweep.Step, sweep.Progress, string, error) {
	prog, err := sweep.Inspect(dir)
	if err != nil {
		return 0, prog, "", err
	}
	step := prog.Next(s.PPO.TotalTimesteps)
	how := ""
	switch step {
	case sweep.Skip:
		how = fmt.Sprintf("final/ already had %d timesteps", prog.Final.Timesteps)
	case sweep.Resume:
		s.Resume = prog.Newest.Dir
		how = fmt.Sprintf("resumed from %s", prog.Newest.Dir)
	case sweep.Restart:
		if err := sweep.Clear(dir); err != nil {
			return 0, prog, "", err
		}
		s.Out, how = dir, "started again (no checkpoint was saved)"
	case sweep.Start:
		s.Out, how = dir, "from scratch"
	}
	return step, prog, how, nil
}
