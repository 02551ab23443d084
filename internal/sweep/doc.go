// Package sweep expands a sweep file's grid into numbered training trials and ranks them.
//
// A sweep file names the sweep, the directory its trials are written under, the settings
// every trial shares and a grid of values:
//
//	name: nq-lr
//	out: runs/sweeps/nq-lr
//	settings:
//	  total_timesteps: 2000000
//	grid:
//	  market: [NQ, ES]
//	  seed: [1, 2, 3]
//	  learning_rate: [0.0003, 0.0001]
//
// The trials are the cartesian product of the grid, numbered 0..N-1 in the order nested
// loops over the grid's keys would visit them, the first key outermost and each key's
// values in the order written (Trials). A trial's directory name carries its index and its
// values: 000-NQ-s1-lr0.0003, 001-NQ-s1-lr0.0001, 002-NQ-s2-lr0.0003, ... (TrialName).
//
// The package knows the file's structure, not the configuration keys: Parse checks the
// layout and keeps the line of every value, and the command line validates the settings
// and each trial's values with the table of keys that config files go through, naming the
// sweep file and line. A trial is an ordinary training run in its own run directory;
// Inspect says how far one got (finished, resumable from its newest checkpoint, or not
// started), Job builds the Indexed Job that runs one trial per index on a cluster, and
// Collect reads the trials' final evaluations into a Leaderboard.
//
// Like the rest of internal/, the package never prints: the command line passes writers.
package sweep
