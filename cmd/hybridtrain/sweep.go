package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"hybridtrain/internal/sweep"
)

// newSweepCmd groups the sweep commands: plan, run, k8s and report.
func newSweepCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Plan, run, schedule on Kubernetes and rank a grid of training runs",
		Long: `A sweep trains every combination of a grid of settings (markets x seeds x
learning rates ...), one ordinary training run per trial, each in its own run
directory under the sweep's out. The sweep file (YAML):

  name: nq-lr                     # names the Kubernetes Job too
  out: runs/sweeps/nq-lr          # one run directory per trial below it
  settings:                       # configuration keys every trial shares
    total_timesteps: 2000000
  grid:                           # the cartesian product
    market: [NQ, ES]
    seed: [1, 2, 3]
    learning_rate: [0.0003, 0.0001]

Trials are numbered from 0 as nested loops visit the grid, the first key
outermost; a trial's directory carries its index and values (000-NQ-s1-lr0.0003).
settings and grid go through the same checks as a config file, and a mistake names
the sweep file, line and key before anything runs. A trial's configuration is its
sweep file alone: ./hybridtrain.yaml is not read and a set HYBRIDTRAIN_<KEY>
variable is an error. See docs/sweeps.md.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSweepPlanCmd(a), newSweepRunCmd(a), newSweepK8sCmd(a), newSweepReportCmd(a))
	return cmd
}

// loadedSweep is a sweep file with every trial's configuration resolved and checked.
type loadedSweep struct {
	file   *sweep.File
	trials []sweepTrial
	plan   *sweep.Plan
}

// sweepTrial is one trial and its resolved configuration.
type sweepTrial struct {
	sweep.Trial
	dir      string
	settings *resolvedConfig
}

// loadSweep reads the sweep file at path and resolves every trial's configuration: the
// phase defaults, the file's settings, then the trial's grid values, each checked as a
// config file's value is, so that any mistake stops the sweep before a trial runs. Errors
// are configuration errors (exit 2) naming the file, line and key.
func loadSweep(a *app, path string) (*loadedSweep, error) {
	if err := checkSweepEnv(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, configErrorf("sweep: %s: no such file", path)
		}
		return nil, configErrorf("sweep: %w", err)
	}
	f, err := sweep.Parse(path, data)
	if err != nil {
		return nil, &configError{err}
	}
	keys := configKeys()
	settings, err := settingsLayer(f, keys)
	if err != nil {
		return nil, err
	}
	if err := checkGridKeys(f, keys, settings); err != nil {
		return nil, err
	}
	ls := &loadedSweep{file: f}
	trials := f.Trials()
	warned := false
	for _, t := range trials {
		grid := configLayer{name: path, values: map[string]any{}, lines: map[string]int{}}
		for _, v := range t.Values {
			grid.values[v.Key], grid.lines[v.Key] = v.Raw, v.Line
		}
		res, err := loadSettings(a.configs, configRequest{ignoreLocal: true, extra: []configLayer{settings, grid}})
		if err != nil {
			return nil, fmt.Errorf("sweep: trial %s: %w", t.Name, err)
		}
		if !warned {
			a.warn(res.warnings)
			warned = true
		}
		s := res.settings
		if s.Market == "" {
			return nil, configErrorf("sweep: %s: market: no trial has a market: set market under settings, or list markets in the grid", path)
		}
		ls.trials = append(ls.trials, sweepTrial{Trial: t, dir: f.Dir(t), settings: s})
	}
	ls.plan = sweep.NewPlan(f, trials, func(t sweep.Trial) (string, uint64, int64) {
		s := ls.trials[t.Index].settings
		return s.Market, s.PPO.Seed, s.PPO.TotalTimesteps
	})
	return ls, nil
}

// checkSweepEnv refuses HYBRIDTRAIN_<KEY> variables: they would override the sweep file
// (the environment is above config files), so that a trial run here differed from the same
// trial on a cluster, or in another shell.
func checkSweepEnv() error {
	for _, k := range configKeys() {
		if k.Type == typeInstruments {
			continue
		}
		if v, ok := os.LookupEnv(k.EnvVar()); ok && v != "" {
			return configErrorf("sweep: %s is set: a sweep's trials take their configuration from the sweep file alone, so that each runs the same here and on a cluster; unset it, or write %s under settings", k.EnvVar(), k.Name)
		}
	}
	return nil
}

// sweepOwnKeys are the keys a sweep sets itself: each trial's run directory is out/<trial>,
// and a trial resumes from its own newest checkpoint.
var sweepOwnKeys = []string{"out", "resume"}

// settingsLayer checks the file's settings as a config file's keys and returns them as a
// layer that names the sweep file and each value's line.
func settingsLayer(f *sweep.File, keys []configKey) (configLayer, error) {
	if f.Settings == nil {
		return configLayer{name: f.Path, values: map[string]any{}}, nil
	}
	l, err := parseLayerNode(f.Path, f.Settings, keys)
	if err != nil {
		return l, err
	}
	l.lines = valueLines(f.Settings)
	for _, k := range sweepOwnKeys {
		if l.has(k) {
			return l, configErrorf("sweep: %s:%d: settings.%s: a sweep sets %s itself (each trial's run directory is out/<trial>, and a trial resumes from its newest checkpoint)",
				f.Path, l.lines[k], k, k)
		}
	}
	return l, nil
}

// valueLines records the line of each top-level value of a mapping node, and of each field
// of its instruments as instruments.SYM.field.
func valueLines(m *yaml.Node) map[string]int {
	lines := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		lines[k.Value] = v.Line
		if k.Value != instrumentsKey || v.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			sym, spec := v.Content[j], v.Content[j+1]
			for f := 0; f+1 < len(spec.Content); f += 2 {
				// Symbols are matched in upper case (readInstruments), and has() in any case.
				lines[instrumentsKey+"."+strings.ToUpper(sym.Value)+"."+spec.Content[f].Value] = spec.Content[f+1].Line
			}
		}
	}
	return lines
}

// checkGridKeys checks that every grid key is a configuration key that may vary: not
// instruments (a map), not out or resume (the sweep's), and not also under settings.
func checkGridKeys(f *sweep.File, keys []configKey, settings configLayer) error {
	for _, ax := range f.Grid {
		k, ok := lookupKey(keys, ax.Key)
		switch {
		case !ok:
			return configErrorf("sweep: %s:%d: grid: unknown key %q%s", f.Path, ax.Line, ax.Key, suggestKey(ax.Key, keys))
		case k.Type == typeInstruments:
			return configErrorf("sweep: %s:%d: grid.%s: instruments cannot vary: define them under settings, and list their symbols under grid.market", f.Path, ax.Line, ax.Key)
		case slices.Contains(sweepOwnKeys, ax.Key):
			return configErrorf("sweep: %s:%d: grid.%s: a sweep sets %s itself", f.Path, ax.Line, ax.Key, ax.Key)
		case settings.has(ax.Key):
			return configErrorf("sweep: %s:%d: grid.%s: also under settings (line %d): give it in one place", f.Path, ax.Line, ax.Key, settings.lines[ax.Key])
		}
	}
	return nil
}

// trial returns trial i, or a usage error naming where i came from.
func (ls *loadedSweep) trial(i int, from string) (sweepTrial, error) {
	if i < 0 || i >= len(ls.trials) {
		return sweepTrial{}, configErrorf("sweep: %s %d: %s has %s (0 to %d)", from, i, ls.file.Path, plural(len(ls.trials), "trial", "trials"), len(ls.trials)-1)
	}
	return ls.trials[i], nil
}
