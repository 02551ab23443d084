// Package curves draws training curves from metrics.jsonl files as one PNG.
//
// Read loads a run's metrics.jsonl (ppo.MetricsFile), skipping the lines it cannot use and
// saying which (file:line); WritePNG draws one or more runs over each other, one colour per
// run, in a grid of panels: the episode reward of the rollouts and of the evaluations, then
// train/approx_kl, train/clip_fraction, train/value_loss, train/entropy_loss,
// train/explained_variance, adapter/llm_features_learned and time/fps, each against
// time/total_timesteps. The command line's `plot` draws any runs; `train` draws its own run
// into curves.png when it ends.
//
// It sits beside report, after ppo (whose file names it uses), and draws with
// gonum.org/v1/plot as report's equity.png does.
package curves
