// Package report backtests a trained policy and writes the evaluation report.
//
// It backtests a checkpoint over every session of a set of bars as ONE continuous account
// under the Apex rules, runs the baselines (flat, random, buy-and-hold) on the same bars
// and rules, and computes the metrics, the Apex verdict and the files a trader reads:
// report.json (schema "hybridtrain.report/1"), report.md, trades.csv, equity.csv and
// equity.png.
//
// The backtest is env.ModeContinuous: the entry window and the flatten always apply; the
// first breach of the trailing threshold decides the verdict (fail, and when), after which
// trading continues from the breached equity so that the strategy metrics cover every
// session. The model is an Actor: it acts on raw observations with their masks, and the
// command line passes a *ppo.Model, which acts deterministically (argmax of the masked
// logits) on the observations normalised with its frozen statistics.
//
// Every metric is defined in docs/report.md and in the doc comment of its field; the
// numbers are computed from two records the environment emits, the per-bar account
// (env.BarRecord) and the closed trades (env.Trade), so hand-built records test them
// exactly.
//
// Predict runs the same backtest for `predict --data` and returns, per bar, the decision
// with its probabilities and value (a Predictor, which *ppo.Model also is) and the account;
// Stream does it for `predict --stream` over bars that arrive one line at a time, on the
// live account of env.Live, and gives the same rows for the same bars (docs/predict.md).
//
// The package imports env, policy (the Predictor's ForwardResult) and atomicfile of this
// module (not ppo: the model comes in through Actor and Predictor) and gonum/plot for the
// picture; it never prints: the command line passes writers.
package report
