package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// roundtripRows is how many validation observations the roundtrip check compares.
const roundtripRows = 256

// smokeRun is what the checks of `test` look at: the trainer's Result and error, what the
// command line received from it (seen) and, read on demand, the files of the run directory.
type smokeRun struct {
	settings *resolvedConfig
	dataset  *env.Dataset
	result   *ppo.Result // nil when training could not start
	trainErr error       // why training failed
	seen     *smokeRecorder

	// lines caches metrics.jsonl once a check has read it.
	lines     []metricsLine
	linesErr  error
	linesRead bool
}

// smokeCheck is one check of `test`: it returns the PASS detail, or an error whose text is
// the FAIL detail.
type smokeCheck struct {
	name string
	run  func(ctx context.Context, r *smokeRun) (string, error)
}

// defaultChecks are the checks of spec cli.md, in order.
func defaultChecks() []smokeCheck {
	return []smokeCheck{
		{"finished", checkFinished},
		{"finite", checkFinite},
		{"masks", checkMasks},
		{"adapter", checkAdapter},
		{"roundtrip", checkRoundtrip},
		{"eval", checkEval},
	}
}

// smokeRecorder passes progress on and keeps a copy of every rollout's and evaluation's
// metrics as the command line received them: the checks compare these with the trainer's
// counts and with metrics.jsonl instead of trusting either alone.
type smokeRecorder struct {
	next     recorder
	rollouts []ppo.RolloutMetrics
	evals    []ppo.EvalMetrics
}

func (r *smokeRecorder) Start(total, start int64) { r.next.Start(total, start) }

func (r *smokeRecorder) Rollout(m ppo.RolloutMetrics) {
	if m.Adapter != nil {
		// Keep the statistics as they were reported, whatever later becomes of the
		// trainer's copy.
		a := *m.Adapter
		m.Adapter = &a
	}
	r.rollouts = append(r.rollouts, m)
	r.next.Rollout(m)
}

func (r *smokeRecorder) Eval(m ppo.EvalMetrics) {
	r.evals = append(r.evals, m)
	r.next.Eval(m)
}

// trained returns the result, or the training error as the check's failure.
func (r *smokeRun) trained() (*ppo.Result, error) {
	if r.result == nil || r.trainErr != nil {
		return nil, fmt.Errorf("training failed: %v", r.trainErr)
	}
	return r.result, nil
}

// metricsLine is one line of metrics.jsonl: its 1-based number, its kind ("rollout" or
// "eval") and its values, numbers kept as written.
type metricsLine struct {
	n      int
	kind   string
	values map[string]any
}

// metricsFile reads and caches the run's metrics.jsonl.
func (r *smokeRun) metricsFile() ([]metricsLine, error) {
	if !r.linesRead {
		r.lines, r.linesErr = readMetricsLines(filepath.Join(r.result.RunDir, ppo.MetricsFile))
		r.linesRead = true
	}
	return r.lines, r.linesErr
}

// readMetricsLines parses metrics.jsonl: every line must be a JSON object with a string
// "kind" of rollout or eval.
func readMetricsLines(path string) ([]metricsLine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var lines []metricsLine
	for i, raw := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(raw) == 0 && len(data) == 0 {
			break // an empty file has no lines
		}
		where := fmt.Sprintf("%s:%d", ppo.MetricsFile, i+1)
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber() // keep numbers as written: a value out of float64's range must show
		var v map[string]any
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		kind, _ := v["kind"].(string)
		if kind != "rollout" && kind != "eval" {
			return nil, fmt.Errorf("%s: kind %v, want rollout or eval", where, v["kind"])
		}
		delete(v, "kind")
		lines = append(lines, metricsLine{n: i + 1, kind: kind, values: v})
	}
	return lines, nil
}

// countKinds returns how many rollout and eval lines there are.
func countKinds(lines []metricsLine) (rollouts, evals int64) {
	for _, l := range lines {
		if l.kind == "rollout" {
			rollouts++
		} else {
			evals++
		}
	}
	return rollouts, evals
}

// finiteValue says what is wrong with a metrics.jsonl value, "" when it is a finite number
// or a boolean. ppo writes a NaN or Inf as null, since JSON cannot carry it.
func finiteValue(v any) string {
	switch v := v.(type) {
	case bool:
		return ""
	case json.Number:
		f, err := strconv.ParseFloat(v.String(), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return v.String() + " (not a finite float64)"
		}
		return ""
	case nil:
		return "null (a NaN or Inf)"
	}
	return fmt.Sprintf("%v (not a number)", v)
}

// nonFiniteFields returns "where: Field = value" for every float64 field of the struct v
// that is NaN or Inf. It reads the fields by reflection so that a metric added later is
// covered without changing the check.
func nonFiniteFields(where string, v any) []string {
	var bad []string
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		f := rv.Field(i)
		if f.Kind() == reflect.Float64 && !isFinite(f.Float()) {
			bad = append(bad, fmt.Sprintf("%s: %s = %v", where, rv.Type().Field(i).Name, f.Float()))
		}
	}
	return bad
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// nonFiniteTensors returns "file: name[i] = value" for the first NaN or Inf of every
// floating-point tensor of ts, and the number of values looked at.
func nonFiniteTensors(file string, ts []policy.NamedTensor) (bad []string, values int) {
	for _, t := range ts {
		values += len(t.F32) + len(t.F64)
		for i, x := range t.F32 {
			if !isFinite(float64(x)) {
				bad = append(bad, fmt.Sprintf("%s: %s[%d] = %v", file, t.Name, i, x))
				break
			}
		}
		for i, x := range t.F64 {
			if !isFinite(x) {
				bad = append(bad, fmt.Sprintf("%s: %s[%d] = %v", file, t.Name, i, x))
				break
			}
		}
	}
	return bad, values
}

func checkFinished(_ context.Context, r *smokeRun) (string, error) {
	res, err := r.trained()
	if err != nil {
		return "", err
	}
	want := r.settings.PPO.TotalTimesteps
	switch {
	case !res.Finished || res.Timesteps < want:
		return "", fmt.Errorf("reached %d of %d timesteps", res.Timesteps, want)
	case res.Final == "":
		return "", fmt.Errorf("reached %d timesteps but wrote no final/ checkpoint", res.Timesteps)
	}
	return fmt.Sprintf("%d of %d timesteps in %d rollouts", res.Timesteps, want, res.Rollouts), nil
}

// checkFinite looks for a NaN or Inf in what reaches the user: the trainer's own stop on
// one (it stops before logging it, so only its error shows it), the metrics the command
// line received, every line of metrics.jsonl, the last evaluation, and every tensor of
// final/ as it reads back from disk.
func checkFinite(_ context.Context, r *smokeRun) (string, error) {
	if nf := (*ppo.NonFiniteError)(nil); errors.As(r.trainErr, &nf) {
		return "", fmt.Errorf("training stopped on a non-finite value: %v", r.trainErr)
	}
	res, err := r.trained()
	if err != nil {
		return "", err
	}
	var bad []string
	for _, m := range r.seen.rollouts {
		where := fmt.Sprintf("rollout %d", m.Iterations)
		bad = append(bad, nonFiniteFields(where, m)...)
		if m.Adapter != nil {
			bad = append(bad, nonFiniteFields(where+" adapter", *m.Adapter)...)
		}
	}
	for _, m := range r.seen.evals {
		bad = append(bad, nonFiniteFields(fmt.Sprintf("evaluation at %d", m.Timesteps), m)...)
	}
	if res.LastEval != nil {
		bad = append(bad, nonFiniteFields("last evaluation", *res.LastEval)...)
	}
	lines, err := r.metricsFile()
	if err != nil {
		return "", err
	}
	// Every rollout and evaluation must have its line: a missing one would pass unseen.
	if nr, ne := countKinds(lines); nr != res.Rollouts || ne != res.Evals {
		return "", fmt.Errorf("%s has %d rollout and %d eval lines, the run had %d rollouts and %d evaluations",
			ppo.MetricsFile, nr, ne, res.Rollouts, res.Evals)
	}
	for _, l := range lines {
		for _, k := range slices.Sorted(maps.Keys(l.values)) {
			if why := finiteValue(l.values[k]); why != "" {
				bad = append(bad, fmt.Sprintf("%s:%d: %s = %s", ppo.MetricsFile, l.n, k, why))
			}
		}
	}
	if res.Final == "" {
		return "", errors.New("no final/ checkpoint to look at")
	}
	c, err := policy.ReadCheckpoint(res.Final)
	if err != nil {
		return "", err
	}
	badModel, nModel := nonFiniteTensors("final/"+policy.ModelFile, c.Model)
	badOpt, nOpt := nonFiniteTensors("final/"+policy.OptimizerFile, c.Optimizer)
	bad = append(append(bad, badModel...), badOpt...)
	if len(bad) > 0 {
		return "", fmt.Errorf("%d non-finite values, first %s", len(bad), bad[0])
	}
	if !res.Finite {
		return "", errors.New("the trainer saw a NaN or Inf in a metric or a final parameter")
	}
	return fmt.Sprintf("no NaN or Inf in %d rollouts' and %d evaluations' metrics (as reported and in %s) or in final/'s %d values",
		len(r.seen.rollouts), len(r.seen.evals), ppo.MetricsFile, nModel+nOpt), nil
}

// checkMasks counts the masked actions taken: in training, as the training envs counted
// them (Result.InvalidActions); in every evaluation, as the command line received it and
// as metrics.jsonl records it.
func checkMasks(_ context.Context, r *smokeRun) (string, error) {
	res, err := r.trained()
	if err != nil {
		return "", err
	}
	var evalMasked, loggedMasked int64
	for _, m := range r.seen.evals {
		evalMasked += m.MaskedActions
	}
	lines, err := r.metricsFile()
	if err != nil {
		return "", err
	}
	for _, l := range lines {
		if l.kind != "eval" {
			continue
		}
		n, err := jsonInt(l.values["eval/masked_actions"])
		if err != nil {
			return "", fmt.Errorf("%s:%d: eval/masked_actions: %v", ppo.MetricsFile, l.n, err)
		}
		loggedMasked += n
	}
	if res.InvalidActions != 0 || evalMasked != 0 || loggedMasked != 0 {
		return "", fmt.Errorf("masked actions taken: %d in training, %d in %d evaluations (%d in %s)",
			res.InvalidActions, evalMasked, len(r.seen.evals), loggedMasked, ppo.MetricsFile)
	}
	return fmt.Sprintf("0 masked actions in training and in %d evaluations", len(r.seen.evals)), nil
}

// jsonInt reads a metrics.jsonl integer.
func jsonInt(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		if v == nil {
			return 0, errors.New("missing or null")
		}
		return 0, fmt.Errorf("%v is not a number", v)
	}
	return n.Int64()
}

// adapterKeys are the adapter/* metrics every Phase 3 rollout line carries.
func adapterKeys() []string {
	var keys []string
	for _, k := range ppo.MetricsKeys {
		if strings.HasPrefix(k, "adapter/") {
			keys = append(keys, k)
		}
	}
	return keys
}

// checkAdapter verifies that every rollout carried the adapter's statistics, all finite:
// the trainer's count, each rollout the command line received, and each rollout line of
// metrics.jsonl.
func checkAdapter(_ context.Context, r *smokeRun) (string, error) {
	res, err := r.trained()
	if err != nil {
		return "", err
	}
	switch {
	case res.Rollouts < 1:
		return "", errors.New("no rollout was collected")
	case res.AdapterReports != res.Rollouts:
		return "", fmt.Errorf("adapter statistics in %d of %d rollouts (trainer's count)", res.AdapterReports, res.Rollouts)
	case int64(len(r.seen.rollouts)) != res.Rollouts:
		return "", fmt.Errorf("%d of %d rollouts reported to the command line", len(r.seen.rollouts), res.Rollouts)
	}
	for _, m := range r.seen.rollouts {
		if m.Adapter == nil {
			return "", fmt.Errorf("rollout %d: no adapter statistics reported", m.Iterations)
		}
		if bad := nonFiniteFields(fmt.Sprintf("rollout %d", m.Iterations), *m.Adapter); len(bad) > 0 {
			return "", fmt.Errorf("non-finite adapter statistic: %s", bad[0])
		}
	}
	lines, err := r.metricsFile()
	if err != nil {
		return "", err
	}
	keys := adapterKeys()
	logged := 0
	for _, l := range lines {
		if l.kind != "rollout" {
			continue
		}
		logged++
		for _, k := range keys {
			v, ok := l.values[k]
			if !ok {
				return "", fmt.Errorf("%s:%d: no %s", ppo.MetricsFile, l.n, k)
			}
			if why := finiteValue(v); why != "" {
				return "", fmt.Errorf("%s:%d: %s = %s", ppo.MetricsFile, l.n, k, why)
			}
		}
	}
	if int64(logged) != res.Rollouts {
		return "", fmt.Errorf("%s has %d rollout lines, the run had %d rollouts", ppo.MetricsFile, logged, res.Rollouts)
	}
	return fmt.Sprintf("%d finite statistics in all %d rollouts (as reported and in %s)", len(keys), res.Rollouts, ppo.MetricsFile), nil
}

func checkEval(_ context.Context, r *smokeRun) (string, error) {
	res, err := r.trained()
	if err != nil {
		return "", err
	}
	if res.Evals < 1 || res.LastEval == nil || res.LastEval.Episodes < 1 || len(r.seen.evals) < 1 {
		return "", fmt.Errorf("%d evaluations ran (want at least 1 with an episode)", res.Evals)
	}
	e := res.LastEval
	return fmt.Sprintf("%d evaluations on the validation split with masks; last at %d: %d episodes, mean reward %.4g",
		res.Evals, e.Timesteps, e.Episodes, e.MeanReward), nil
}

// checkRoundtrip loads final/ and compares its deterministic actions with those of the
// policy still in memory (Result.Model) on the first 256 validation observations. When the
// last training-time evaluation ran on the final parameters, the loaded model must also
// reproduce its metrics exactly.
func checkRoundtrip(ctx context.Context, r *smokeRun) (string, error) {
	res, err := r.trained()
	if err != nil {
		return "", err
	}
	switch {
	case res.Final == "":
		return "", errors.New("no final/ checkpoint")
	case res.Model == nil:
		return "", errors.New("the trainer returned no in-memory model to compare with")
	}
	loaded, err := ppo.LoadModel(res.Final)
	if err != nil {
		return "", fmt.Errorf("load %s: %w", res.Final, err)
	}
	_, val := r.dataset.Split(r.settings.Env)
	obs, masks, want, err := validationActions(res.Model, r.dataset, val, r.settings.Env, roundtripRows)
	if err != nil {
		return "", err
	}
	rows := len(want)
	got := make([]int32, rows)
	if err := loaded.Act(obs, masks, rows, got); err != nil {
		return "", fmt.Errorf("final/: act: %w", err)
	}
	for i := range want {
		if got[i] != want[i] {
			return "", fmt.Errorf("validation observation %d: action %d from final/, %d from the trained policy", i, got[i], want[i])
		}
	}
	detail := fmt.Sprintf("final/ and the trained policy agree on %d validation observations", rows)
	if e := res.LastEval; e != nil && e.Timesteps == res.Timesteps && loaded.Meta.Timesteps == res.Timesteps {
		m, err := ppo.Evaluate(ctx, loaded, r.dataset, val, r.settings.Env, e.Episodes)
		if err != nil {
			return "", fmt.Errorf("evaluate final/: %w", err)
		}
		if m.MeanReward != e.MeanReward || m.MeanPnL != e.MeanPnL || m.Trades != e.Trades {
			return "", fmt.Errorf("final/ evaluates to mean reward %v, P&L %v, %d trades; the last training-time evaluation gave %v, %v, %d",
				m.MeanReward, m.MeanPnL, m.Trades, e.MeanReward, e.MeanPnL, e.Trades)
		}
		detail += fmt.Sprintf(", and final/ reproduces the last evaluation (mean reward %.4g)", m.MeanReward)
	}
	return detail, nil
}

// validationActions steps one env over the validation sessions in order with m's own
// deterministic actions and returns the first rows observations, their masks and the
// actions.
func validationActions(m *ppo.Model, ds *env.Dataset, val []int, cfg env.Config, rows int) ([]float32, []bool, []int32, error) {
	dim := m.ObsDim()
	e, err := env.New(ds, cfg, env.Options{Sessions: val, Mode: env.ModeOrdered, ObsDim: dim}, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("validation env: %w", err)
	}
	obs := make([]float32, rows*dim)
	masks := make([]bool, rows*env.NumActions)
	acts := make([]int32, rows)
	if err := e.Reset(obs[:dim], masks[:env.NumActions]); err != nil {
		return nil, nil, nil, fmt.Errorf("validation env: %w", err)
	}
	next := make([]float32, dim)
	nextMask := make([]bool, env.NumActions)
	for i := range rows {
		o, mk := obs[i*dim:(i+1)*dim], masks[i*env.NumActions:(i+1)*env.NumActions]
		if err := m.Act(o, mk, 1, acts[i:i+1]); err != nil {
			return nil, nil, nil, fmt.Errorf("trained policy: act: %w", err)
		}
		if i+1 == rows {
			break
		}
		st := e.Step(env.Action(acts[i]), next, nextMask)
		if st.Terminated || st.Truncated {
			if err := e.Reset(next, nextMask); err != nil {
				return nil, nil, nil, fmt.Errorf("validation env: %w", err)
			}
		}
		copy(obs[(i+1)*dim:], next)
		copy(masks[(i+1)*env.NumActions:], nextMask)
	}
	return obs, masks, acts, nil
}
