// Package walkforward tests a training configuration across time: train on the past, test
// on what follows, fold after fold.
//
// A Plan cuts a dataset's sessions into K+1 consecutive blocks; fold i trains on blocks
// 0..i (or, with a window of N, on the N blocks before its test block) and is tested on
// block i+1, which it never saw:
//
//	blocks   | 0 | 1 | 2 | 3 |
//	fold 0   | T | t |   |   |     T: trains (its own train_fraction validates inside it)
//	fold 1   | T | T | t |   |     t: tested
//	fold 2   | T | T | T | t |
//
// Each fold is an ordinary training run in its own directory under the walk-forward's
// (fold-00, fold-01, ...), confined to its training sessions by the first_session and
// last_session keys, so a fold's config.yaml repeats it with `hybridtrain train`. Run
// records the plan (walkforward.json), has a Runner train and test each fold in turn,
// writes each test report into the fold's reports/final-test/ and stitches the test blocks
// into one out-of-sample account: the Summary's report.json, report.md, equity.csv and
// equity.png. A walk-forward that stopped continues when run again: the Runner resumes or
// skips each fold's run as a sweep does its trials (internal/sweep's Inspect), and a
// directory planned differently is refused (ErrOtherPlan).
//
// The package imports env, ppo (the run directory's names), report and atomicfile, and
// gonum/plot for the picture. It never prints: the command line implements the Runner
// with train's code path and passes a callback for each fold's result.
package walkforward
