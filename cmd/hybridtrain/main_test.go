package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func fixedNow() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

// commandPaths lists every command of the tree (but cobra's own help command).
func commandPaths(root *cobra.Command) [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" {
				continue
			}
			p := append(slices.Clone(path), sub.Name())
			out = append(out, p)
			walk(sub, p)
		}
	}
	walk(root, nil)
	return out
}

func TestEveryCommandExists(t *testing.T) {
	a := newTestApp(t)
	var got []string
	for _, p := range commandPaths(newRootCmd(a.app)) {
		got = append(got, strings.Join(p, " "))
	}
	want := []string{"completion", "data", "data info", "data synth", "data validate", "device", "eval", "import", "import sb3", "inspect", "plot", "predict", "sweep", "sweep k8s", "sweep plan", "sweep report", "sweep run", "test", "train", "version", "walkforward"}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("commands: got %v, want %v", got, want)
	}
}

// TestHelp runs --help on the root and on every command of the tree: exit 0, the usage on
// stdout, nothing on stderr.
func TestHelp(t *testing.T) {
	inTempDir(t)
	paths := append([][]string{nil}, commandPaths(newRootCmd(newTestApp(t).app))...)
	for _, p := range paths {
		name := strings.Join(append([]string{"hybridtrain"}, p...), " ")
		t.Run(name, func(t *testing.T) {
			a := newTestApp(t)
			code := a.run(append(slices.Clone(p), "--help")...)
			if code != exitOK {
				t.Fatalf("exit code: got %d, want 0; stderr %q", code, a.err.String())
			}
			if !strings.Contains(a.out.String(), "Usage:") || !strings.Contains(a.out.String(), name) {
				t.Errorf("stdout does not show the usage of %q:\n%s", name, a.out.String())
			}
			if a.err.Len() != 0 {
				t.Errorf("stderr: got %q, want nothing", a.err.String())
			}
		})
	}
}

// TestFlagsParse parses a full set of flags for every command and checks each value, and
// that no command misses a flag the spec gives it.
func TestFlagsParse(t *testing.T) {
	cases := []struct {
		args []string
		want map[string]string // flag -> value after parsing
	}{
		{
			args: []string{"train", "--market", "ES", "--data", "d.csv", "--phase", "2", "--base", "b", "--test", "--non-interactive",
				"--config", "c.yaml", "--device", "cpu", "--timesteps", "1000", "--n-envs", "4", "--seed", "7", "--out", "o",
				"--resume", "r", "--plan", "25k", "--quiet"},
			want: map[string]string{"market": "ES", "data": "[d.csv]", "phase": "2", "base": "b", "test": "true", "non-interactive": "true",
				"config": "c.yaml", "device": "cpu", "timesteps": "1000", "n-envs": "4", "seed": "7", "out": "o", "resume": "r",
				"plan": "25k", "quiet": "true"},
		},
		{
			args: []string{"test", "--non-interactive", "--config", "c.yaml", "--market", "ES", "--data", "d.csv", "--device", "cpu",
				"--timesteps", "64", "--n-envs", "1", "--seed", "3", "--out", "o", "--plan", "100k", "--quiet"},
			want: map[string]string{"non-interactive": "true", "config": "c.yaml", "market": "ES", "data": "[d.csv]", "device": "cpu",
				"timesteps": "64", "n-envs": "1", "seed": "3", "out": "o", "plan": "100k", "quiet": "true"},
		},
		{
			args: []string{"eval", "--model", "m", "--data", "d.csv", "--split", "all", "--episodes", "5", "--json", "--config", "c.yaml",
				"--market", "ES", "--non-interactive"},
			want: map[string]string{"model": "m", "data": "[d.csv]", "split": "all", "episodes": "5", "json": "true", "config": "c.yaml",
				"market": "ES", "non-interactive": "true"},
		},
		{
			args: []string{"data", "validate", "x.csv", "--market", "ES", "--config", "c.yaml"},
			want: map[string]string{"market": "ES", "config": "c.yaml"},
		},
		{
			args: []string{"data", "info", "x.csv", "--json", "--market", "CL"},
			want: map[string]string{"json": "true", "market": "CL"},
		},
		{
			args: []string{"data", "synth", "--market", "GC", "--sessions", "10", "--seed", "9", "--out", "f.csv"},
			want: map[string]string{"market": "GC", "sessions": "10", "seed": "9", "out": "f.csv"},
		},
		{args: []string{"inspect", "dir", "--json"}, want: map[string]string{"json": "true"}},
		{
			args: []string{"import", "sb3", "m.zip", "--vecnormalize", "v.pkl", "--out", "o", "--market", "NQ"},
			want: map[string]string{"vecnormalize": "v.pkl", "out": "o", "market": "NQ"},
		},
		{
			args: []string{"predict", "--model", "m", "--obs", "o.csv", "--masks", "k.csv", "--json"},
			want: map[string]string{"model": "m", "obs": "o.csv", "masks": "k.csv", "json": "true"},
		},
		{args: []string{"device", "--json"}, want: map[string]string{"json": "true"}},
		{args: []string{"version", "--json"}, want: map[string]string{"json": "true"}},
		{args: []string{"completion", "bash"}, want: map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			root := newRootCmd(newTestApp(t).app)
			cmd, rest, err := root.Find(tc.args)
			if err != nil {
				t.Fatalf("find: %v", err)
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Fatalf("parse: %v", err)
			}
			for name, want := range tc.want {
				f := cmd.Flags().Lookup(name)
				if f == nil {
					t.Errorf("--%s: no such flag on %q", name, cmd.CommandPath())
					continue
				}
				if got := f.Value.String(); got != want {
					t.Errorf("--%s: got %q, want %q", name, got, want)
				}
				if !f.Changed {
					t.Errorf("--%s: not marked as set", name)
				}
			}
		})
	}
}

// TestKeyFlagsFollowTheTable checks that every key with a flag is offered by train under
// its kebab-case name, and that the flag names in the table are the kebab-case of the key
// (--timesteps for total_timesteps being the one documented exception).
func TestKeyFlagsFollowTheTable(t *testing.T) {
	train, _, err := newRootCmd(newTestApp(t).app).Find([]string{"train"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range configKeys() {
		if k.Flag == "" {
			continue
		}
		want := strings.ReplaceAll(k.Name, "_", "-")
		if k.Name == "total_timesteps" {
			want = "timesteps"
		}
		if k.Flag != want {
			t.Errorf("key %s: flag %q, want %q", k.Name, k.Flag, want)
		}
		if train.Flags().Lookup(k.Flag) == nil {
			t.Errorf("train has no --%s for key %s", k.Flag, k.Name)
		}
	}
}

// TestHelpShowsTheDefaultsThatApply: the defaults a command's help shows are the ones it
// runs with: `test` runs in test mode (spec training.md section 5: total_timesteps 50,000,
// n_envs 2), train without --test has the Phase 3 defaults (5,000,000 and 8), and eval
// takes the plan of the checkpoint, so its --plan shows no default of its own.
func TestHelpShowsTheDefaultsThatApply(t *testing.T) {
	cases := []struct {
		cmd  []string
		flag string
		want string // "" = no default shown
	}{
		{[]string{"test"}, "timesteps", "50000"},
		{[]string{"test"}, "n-envs", "2"},
		{[]string{"train"}, "timesteps", "5000000"},
		{[]string{"train"}, "n-envs", "8"},
		{[]string{"eval"}, "plan", ""},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.cmd, " ")+" --"+tc.flag, func(t *testing.T) {
			a := newTestApp(t)
			if code := a.run(append(tc.cmd, "--help")...); code != exitOK {
				t.Fatalf("exit %d", code)
			}
			var line string
			for l := range strings.SplitSeq(a.out.String(), "\n") {
				if strings.Contains(l, "--"+tc.flag+" ") {
					line = l
				}
			}
			if line == "" {
				t.Fatalf("no --%s in the help:\n%s", tc.flag, a.out.String())
			}
			if tc.want != "" && !strings.HasSuffix(line, "(default "+tc.want+")") {
				t.Errorf("help line %q: want (default %s)", line, tc.want)
			}
			if tc.want == "" && strings.Contains(line, "(default") {
				t.Errorf("help line %q: want no default", line)
			}
		})
	}
}
