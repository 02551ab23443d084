package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"hybridtrain/internal/env"
	"hybridtrain/internal/ppo"
)

// testKeyFlags are the configuration keys `test` has flags for: the flags of train that
// apply to a from-scratch Phase 3 run in test mode.
var testKeyFlags = []string{"market", "data", "device", "total_timesteps", "n_envs", "seed", "out", "plan", "quiet"}

// testMarket is the market of `test` unless --market (or a layer) says otherwise.
const testMarket = "NQ"

// roundtripRows is how many validation observations the roundtrip check compares.
const roundtripRows = 256

type testOptions struct {
	runFlags
	flags *pflag.FlagSet
}

func newTestCmd(a *app) *cobra.Command {
	opts := &testOptions{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the smoke pipeline: test-mode training, evaluation and checks (what CI runs)",
		Long: `Run the smoke pipeline: train Phase 3 from scratch in test mode (configs/test.yaml:
50,000 timesteps, 2 envs, ...), then check the run and print one line per check
on stdout, "PASS <name>: <detail>" or "FAIL <name>: <detail>":

  finished   training reached total_timesteps and wrote final/
  finite     no NaN or Inf in any metric or in the final parameters
  masks      no masked action was taken in training or in evaluation
  adapter    adapter statistics were reported every rollout
  roundtrip  final/ loads and gives the trained policy's deterministic actions
             on the first 256 validation observations (and reproduces the last
             training-time evaluation exactly)
  eval       at least one evaluation ran on the validation split

Market NQ; data/NQ_D1M.csv if present, else the built-in synthetic bars. It
never prompts, ignores ./hybridtrain.yaml unless --config names a file, and runs
in a temporary directory that is removed when every check passes (kept, and its
path printed, when one fails); with --out the run directory is kept. Exit 0 when
every check passes, 1 when one fails.`,
		Example: "  hybridtrain test --non-interactive",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.flags = cmd.Flags()
			return runTest(cmd.Context(), a, opts)
		},
	}
	opts.addFlags(cmd.Flags(), false)
	addKeyFlags(cmd.Flags(), a.configs, testDefaults, testKeyFlags...)
	return cmd
}

// smokeRun is what the checks of `test` look at.
type smokeRun struct {
	settings *settings
	dataset  *env.Dataset
	result   *ppo.Result // nil when training failed
	trainErr error       // why training failed
	seen     *countingRecorder
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

func runTest(ctx context.Context, a *app, opts *testOptions) error {
	res, err := loadSettings(a.configs, configRequest{
		flags: opts.flags, configFile: opts.configFile, testMode: true, ignoreLocal: true,
	})
	if err != nil {
		return err
	}
	a.warn(res.warnings)
	s := res.settings
	if s.Market == "" {
		s.Market = testMarket
	}
	// The smoke pipeline is always Phase 3 from scratch.
	for _, c := range []struct {
		key string
		set bool
	}{{"phase", s.Phase != 3}, {"base", s.Base != ""}, {"resume", s.Resume != ""}} {
		if c.set {
			fmt.Fprintf(a.stderr, "test: ignoring %s (from %s): the smoke pipeline trains Phase 3 from scratch\n", c.key, s.source(c.key))
		}
	}
	s.Phase, s.Base, s.Resume = 3, "", ""
	s.Policy.ObsDim = env.ObsDim
	plan, err := planRun(s)
	if err != nil {
		return err
	}
	inst, err := s.instrument()
	if err != nil {
		return err
	}
	ds, err := loadData(plan.data, inst, s.Env, a.stderr)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // Ctrl-C while the bars loaded: exit 130 before any run directory
	}
	runDir, cleanup, err := testRunDir(s)
	if err != nil {
		return err
	}
	if !s.Quiet {
		if err := a.printConfig(s); err != nil {
			return err
		}
	}
	cfgYAML, err := renderConfig(s, renderOptions{})
	if err != nil {
		return err
	}
	seen := &countingRecorder{next: a.newRecorder(s.Quiet)}
	setup := ppo.Setup{
		Phase: 3, Market: s.Market, Dataset: ds, Env: s.Env, Policy: s.Policy, PPO: s.PPO,
		Device: plan.device, RunDir: runDir, ConfigYAML: cfgYAML, Config: configValues(s),
		ToolVersion: toolVersion(), Now: a.now,
	}
	fmt.Fprintf(a.stderr, "test: run directory %s\n", runDir)
	result, trainErr := a.train(ctx, setup, seen)
	seen.next.Close()
	if errors.Is(trainErr, ppo.ErrInterrupted) || ctx.Err() != nil {
		return errors.Join(trainErr, ctx.Err())
	}
	run := &smokeRun{settings: s, dataset: ds, result: result, trainErr: trainErr, seen: seen}
	failed := 0
	for _, c := range a.checks {
		detail, err := c.run(ctx, run)
		if err != nil {
			failed++
			fmt.Fprintf(a.stdout, "FAIL %s: %v\n", c.name, err)
			continue
		}
		fmt.Fprintf(a.stdout, "PASS %s: %s\n", c.name, detail)
	}
	if failed > 0 {
		fmt.Fprintf(a.stderr, "test: run directory kept for inspection: %s\n", runDir)
		return fmt.Errorf("%w: %d of %d failed", errChecksFailed, failed, len(a.checks))
	}
	cleanup()
	fmt.Fprintf(a.stderr, "test: all %d checks passed\n", len(a.checks))
	return nil
}

// testRunDir returns --out (checked, kept) or a new temporary directory and the function
// that removes it.
func testRunDir(s *settings) (string, func(), error) {
	if s.Out != "" {
		if err := ppo.CheckOutDir(s.Out); err != nil {
			return "", nil, err
		}
		return s.Out, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "hybridtrain-test-*")
	if err != nil {
		return "", nil, fmt.Errorf("test: run directory: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// countingRecorder passes progress on and keeps what the checks need to verify on their
// own: rollouts seen, adapter reports, non-finite metrics, evaluations and their masked
// actions.
type countingRecorder struct {
	next           recorder
	rollouts       int64
	adapterReports int64
	evals          int64
	evalMasked     int64
	nonFinite      []string
}

func (r *countingRecorder) Start(total, start int64) { r.next.Start(total, start) }

func (r *countingRecorder) Rollout(m ppo.RolloutMetrics) {
	r.rollouts++
	if m.Adapter != nil {
		r.adapterReports++
		r.scan(fmt.Sprintf("rollout %d adapter", m.Iterations), *m.Adapter)
	}
	r.scan(fmt.Sprintf("rollout %d", m.Iterations), m)
	r.next.Rollout(m)
}

func (r *countingRecorder) Eval(m ppo.EvalMetrics) {
	r.evals++
	r.evalMasked += m.MaskedActions
	r.scan(fmt.Sprintf("eval at %d", m.Timesteps), m)
	r.next.Eval(m)
}

// scan records every float64 field of a metrics struct that is NaN or Inf.
func (r *countingRecorder) scan(where string, v any) {
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		f := rv.Field(i)
		if f.Kind() == reflect.Float64 && (math.IsNaN(f.Float()) || math.IsInf(f.Float(), 0)) {
			r.nonFinite = append(r.nonFinite, fmt.Sprintf("%s: %s = %v", where, rv.Type().Field(i).Name, f.Float()))
		}
	}
}

// trained returns the result, or the training error as the check's failure.
func (r *smokeRun) trained() (*ppo.Result, error) {
	if r.result == nil || r.trainErr != nil {
		return nil, fmt.Errorf("training failed: %v", r.trainErr)
	}
	return r.result, nil
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

func checkFinite(_ context.Context, r *smokeRun) (string, error) {
	res, err := r.trained()
	if err != nil {
		return "", err
	}
	if len(r.seen.nonFinite) > 0 {
		return "", fmt.Errorf("%d non-finite metrics, first %s", len(r.seen.nonFinite), r.seen.nonFinite[0])
	}
	if !res.Finite {
		return "", errors.New("the trainer saw a NaN or Inf in a metric or a final parameter")
	}
	return fmt.Sprintf("no NaN or Inf in %d rollouts' metrics, %d evaluations or the final parameters", r.seen.rollouts, r.seen.evals), nil
}

func checkMasks(_ context.Context, r *smokeRun) (string, error) {
	res, err := r.trained()
	if err != nil {
		return "", err
	}
	if res.InvalidActions != 0 || r.seen.evalMasked != 0 {
		return "", fmt.Errorf("masked actions taken: %d in training, %d in evaluation", res.InvalidActions, r.seen.evalMasked)
	}
	return fmt.Sprintf("0 masked actions in training and in %d evaluations", r.seen.evals), nil
}

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
	case r.seen.adapterReports != r.seen.rollouts:
		return "", fmt.Errorf("adapter statistics in %d of %d rollouts reported to the command line", r.seen.adapterReports, r.seen.rollouts)
	}
	return fmt.Sprintf("statistics in all %d rollouts", res.Rollouts), nil
}

func checkEval(_ context.Context, r *smokeRun) (string, error) {
	res, err := r.trained()
	if err != nil {
		return "", err
	}
	if res.Evals < 1 || res.LastEval == nil || res.LastEval.Episodes < 1 || r.seen.evals < 1 {
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
	_, val := r.dataset.SplitSessions(r.settings.Env.TrainFraction)
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
