// Package env is the futures trading environment of hybridtrain.
//
// It holds the instruments and their exchange calendars (holidays, early closes), 1-minute
// bar loading and validation (one file or several merged in time order), sessions and the
// chronological split, market features, the trading simulator with Apex-style rules,
// rewards, action masks and the vectorised environment that writes observations into
// caller-owned host buffers. BarStream and Live do the same for bars that arrive one line
// at a time (predict --stream): the loader's rules, the features one bar at a time, and one
// account stepped bar by bar with the simulator's own code.
//
// It sits at the start of the data flow (env -> device -> adapter -> policy -> ppo) and imports
// no other internal package: observations leave it as plain []float32 in host memory, laid out
// as documented in docs/observation.md and by the index constants in layout.go. Normalisation
// never happens here.
//
// The exact rules are those of the project's environment specification: a decision for bar t
// is taken at open[t] having seen bars up to t-1; stops are tested before targets; commission
// is charged on exactly two sides; every position is flat at the flatten time; the Apex
// threshold trails live equity at the bar's favourable extreme.
package env
