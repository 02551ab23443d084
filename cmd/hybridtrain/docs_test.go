package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"hybridtrain/configs"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md and docs/cli.md from the code")

// docsDir is the project's docs/ from this package's directory.
var docsDir = filepath.Join("..", "..", "docs")

// checkDoc compares a generated document with the file, or rewrites the file with -update.
func checkDoc(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(docsDir, name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with: go test ./cmd/hybridtrain -run %s -update)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("docs/%s is stale: regenerate it with: go test ./cmd/hybridtrain -run %s -update\n%s", name, t.Name(), firstDiff(string(want), got))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n file: %q\n code: %q", i+1, x, y)
		}
	}
	return ""
}

// TestConfigurationDoc: docs/configuration.md is generated from the table of keys and the
// embedded layers, so it cannot disagree with them.
func TestConfigurationDoc(t *testing.T) {
	checkDoc(t, "configuration.md", renderConfigurationDoc(t))
}

// TestConfigurationDocExample: the instruments example of docs/configuration.md loads, and
// its market can be used.
func TestConfigurationDocExample(t *testing.T) {
	_, rest, _ := strings.Cut(configDocInstrumentsExample, "```yaml\n")
	example, _, _ := strings.Cut(rest, "```")
	inTempDir(t)
	writeFile(t, "example.yaml", example)
	res, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t, "--market", "fdax"), configFile: "example.yaml"})
	if err != nil {
		t.Fatalf("%v\n%s", err, example)
	}
	in, err := res.settings.instrument()
	if err != nil {
		t.Fatal(err)
	}
	// 25 $/point x 0.5 points per tick = 12.50 $ per tick; two data-session ranges.
	if in.Symbol != "FDAX" || in.TickValue() != 12.5 || len(in.DataSession) != 2 || res.settings.Instruments["NQ"].CommissionPerSide != 1.9 {
		t.Errorf("got %+v, NQ %+v", in, res.settings.Instruments["NQ"])
	}
}

// TestCLIDoc: docs/cli.md is generated from the command tree (each command's Use, Short,
// Long, Example and flags).
func TestCLIDoc(t *testing.T) {
	checkDoc(t, "cli.md", renderCLIDoc(newRootCmd(newTestApp(t).app)))
}

// yamlScalar renders a layer value as the files write it.
func yamlScalar(t *testing.T, v any) string {
	if v == nil {
		return ""
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		t.Fatal(err)
	}
	if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
		n.Style = yaml.FlowStyle
	}
	out, err := yaml.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSpace(string(out))
	if s == `""` {
		return `""`
	}
	return s
}

func renderConfigurationDoc(t *testing.T) string {
	keys := configKeys()
	layer := func(name string) map[string]any {
		l, err := readEmbedded(configs.FS, name, keys)
		if err != nil {
			t.Fatal(err)
		}
		return l.values
	}
	p3, p2, overlay := layer(phase3File), layer(phase2File), layer(testFile)
	var b strings.Builder
	b.WriteString(configDocIntro)
	var p2keys []string
	for _, k := range keys {
		if _, ok := p2[k.Name]; ok {
			p2keys = append(p2keys, fmt.Sprintf("`%s: %s`", k.Name, yamlScalar(t, p2[k.Name])))
		}
	}
	fmt.Fprintf(&b, "`configs/phase2.yaml` sets only %s on top of `configs/phase3.yaml`.\n", strings.Join(p2keys, ", "))
	section := ""
	for _, k := range keys {
		if k.Type == typeInstruments {
			continue
		}
		if k.Section != section {
			section = k.Section
			fmt.Fprintf(&b, "\n## %s\n\n", sectionHeading(section))
			b.WriteString("| key | type | unit | default | test mode | range | flag | environment variable | meaning |\n")
			b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
		}
		flagText, test := "", ""
		if k.Flag != "" {
			flagText = "`--" + k.Flag + "`"
		}
		if v, ok := overlay[k.Name]; ok {
			test = "`" + yamlScalar(t, v) + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | `%s` | %s | %s | %s | `%s` | %s |\n",
			k.Name, k.Type, k.Unit, yamlScalar(t, p3[k.Name]), test, k.Range, flagText, k.EnvVar(), strings.ReplaceAll(k.Doc, "<", "&lt;"))
	}
	b.WriteString(configDocInstruments)
	b.WriteString("| field | type | unit | range |\n|---|---|---|---|\n")
	for _, f := range instrumentKeys() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, f.Type, f.Unit, f.Range)
	}
	b.WriteString(configDocInstrumentsExample)
	return b.String()
}

func sectionHeading(s string) string {
	switch s {
	case secRun:
		return "Run keys"
	case secNetwork:
		return "Network keys"
	case secPPO:
		return "PPO keys"
	case secEnv:
		return "Environment keys"
	}
	return s
}

const configDocIntro = `# Configuration

<!-- Generated by ` + "`go test ./cmd/hybridtrain -run TestConfigurationDoc -update`" + ` from the table of keys
(cmd/hybridtrain/keys.go) and configs/*.yaml; a test fails when this file is stale. -->

Every setting of ` + "`hybridtrain train`" + ` (and ` + "`test`" + `, ` + "`eval`" + `) is a key. A key has one value, chosen by
the first layer that sets it, highest first:

1. **flags**: the key in kebab case (` + "`n_envs`" + ` is ` + "`--n-envs`" + `); ` + "`--timesteps`" + ` is the one exception, for
   ` + "`total_timesteps`" + `. Only the keys with a flag column below have one.
2. **environment**: ` + "`HYBRIDTRAIN_`" + ` + the key in upper case (` + "`HYBRIDTRAIN_N_ENVS=4`" + `). Every key but
   ` + "`instruments`" + ` has one. An empty variable counts as unset. A ` + "`HYBRIDTRAIN_*`" + ` variable that names no
   key is reported as a warning (` + "`HYBRIDTRAIN_SLOW`" + `, the slow-test switch, is not a key).
3. **config file**: ` + "`--config FILE`" + `, else ` + "`./hybridtrain.yaml`" + ` when it exists (` + "`hybridtrain test`" + ` reads
   ` + "`./hybridtrain.yaml`" + ` only when ` + "`--config`" + ` names it). ` + "`train --resume CHECKPOINT`" + ` without ` + "`--config`" + ` reads
   the run's own ` + "`config.yaml`" + `, so a resumed run needs no other flag.
4. **test overlay**: ` + "`configs/test.yaml`" + `, with ` + "`--test`" + ` and always in ` + "`hybridtrain test`" + ` (the "test mode"
   column).
5. **phase defaults**: ` + "`configs/phase3.yaml`" + ` (every key), with ` + "`configs/phase2.yaml`" + ` on top for
   ` + "`phase: 2`" + `.

For ` + "`eval`" + `, the configuration recorded in the checkpoint sits between the test overlay and the
config file, so a model is evaluated with the settings it was trained with unless a file,
variable or flag says otherwise.

The ` + "`configs/*.yaml`" + ` files are compiled into the binary (go:embed, package ` + "`hybridtrain/configs`" + `);
the binary needs no file beside it.

Files are YAML mappings of ` + "`key: value`" + `. A key that does not exist, in any file and in the
fields of an instrument, is an error naming the file, the line and the closest known key
(` + "`config: my.yaml:3: unknown key \"n_env\" (did you mean \"n_envs\"?)`" + `). Every value is checked
against the range below; the message names the key and the layer it came from
(` + "`config: gamma: want a number (0, 1], got 1.5 (from my.yaml)`" + `). Besides each key's range:
` + "`batch_size`" + ` must be at most ` + "`n_envs x n_steps`" + `, ` + "`contracts`" + ` at most the plan's maximum, ` + "`data_tz`" + `
a time zone, and ` + "`market`" + ` a built-in symbol or one under ` + "`instruments`" + `.

Values from flags, the environment and files are read strictly: integers as ` + "`2048`" + `, ` + "`2e6`" + ` or
` + "`2_000_000`" + ` (a fraction is an error; ` + "`--timesteps 2e6`" + ` works), numbers as Go parses floats (no NaN or Inf), booleans as
` + "`true/false/1/0`" + `, layer lists as ` + "`64,32`" + ` or ` + "`[64, 32]`" + `. Market symbols are case-insensitive and
upper-cased.

The resolved configuration is printed on stderr when a run starts (each value that is not a
phase default marked ` + "`# from <layer>`" + `; ` + "`--quiet`" + ` hides it) and saved as ` + "`config.yaml`" + ` in the run
directory. ` + "`config.yaml`" + ` holds every key but ` + "`out`" + `, ` + "`resume`" + ` and ` + "`quiet`" + ` (they say where and how a run
was written, not what it trains), and ` + "`data`" + ` names the file the default picked; give it back
with ` + "`--config`" + ` to train the same thing again into a new directory.

`

const configDocInstruments = `
## Instruments (files only)

` + "`instruments`" + ` maps a symbol (letters and digits, starting with a letter; upper-cased) to an
instrument. A new symbol must give every field but ` + "`calendar`" + ` (without one, every date with
bars is an ordinary session); a built-in symbol (ES, NQ, YM, RTY, MES, MNQ, M2K, MYM, CL, GC)
may give only the fields it overrides, the others keep their built-in values, its calendar
included (` + "`cme-equity`" + `; ` + "`cme-energy-metals`" + ` for CL and GC). Layers merge field by field.
` + "`--market`" + ` may then name the symbol. The calendar (holidays and early closes) and its file
format are in [environment.md](environment.md#exchange-calendar); a file's path is relative
to the working directory.

`

// configDocInstrumentsExample follows the table of instrument fields.
const configDocInstrumentsExample = `
` + "```yaml" + `
instruments:
  FDAX:
    point_value: 25
    tick_size: 0.5
    commission_per_side: 2.0
    slippage_ticks: 1
    typical_price: 18000
    timezone: Europe/Berlin
    data_session: ["08:00-12:29", "13:00-17:29"]
    entry_start: "09:00"
    flatten_time: "17:29"
  NQ:
    commission_per_side: 1.9   # your broker's rate; the rest stays built in
` + "```" + `
`

// renderCLIDoc writes every command's help, in tree order.
func renderCLIDoc(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString(`# Command line

<!-- Generated by ` + "`go test ./cmd/hybridtrain -run TestCLIDoc -update`" + ` from the commands' own help
texts; a test fails when this file is stale. -->

` + "`hybridtrain`" + ` writes results on stdout (the final summary, the ` + "`test`" + ` check lines, ` + "`inspect`" + ` and
` + "`eval`" + ` output, ` + "`--json`" + ` documents) and everything else on stderr (the resolved configuration,
progress, warnings, errors). Progress is a bar on a terminal and one plain line per rollout
otherwise.

It prompts only when stdin and stderr are both terminals, ` + "`--non-interactive`" + ` is not given
and ` + "`CI`" + ` is unset or empty: ` + "`train`" + ` then asks for a missing ` + "`--market`" + ` (the markets with a
` + "`data/<SYM>_D1M.csv`" + ` file, and synthetic bars) and asks to confirm the resolved run. Otherwise it
never reads stdin (` + "`predict --stream`" + ` aside: stdin is its input), and a missing ` + "`--market`" + ` is
exit code 2.

| exit code | meaning |
|---|---|
| 0 | success |
| 1 | runtime failure, a failed ` + "`test`" + ` check, a declined confirmation ("aborted") |
| 2 | usage or configuration error: bad flag, argument, key or value, unknown market, ` + "`--out`" + ` not empty, changed settings on resume, ` + "`--device cuda`" + ` in a build without CUDA |
| 3 | bad or missing bar file |
| 4 | missing, corrupt or incompatible checkpoint |
| 130 | interrupted (Ctrl-C: the current update finishes and ` + "`interrupted/`" + ` is saved; a second Ctrl-C exits at once) |

A panic is reported as an internal error with exit code 1, never as a stack trace.
`)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" {
				continue
			}
			fmt.Fprintf(&b, "\n## %s\n\n%s.\n\n", sub.CommandPath(), sub.Short)
			if sub.Long != "" {
				fmt.Fprintf(&b, "```text\n%s\n```\n\n", strings.TrimRight(sub.Long, "\n"))
			}
			fmt.Fprintf(&b, "Usage: `%s`\n", sub.UseLine())
			if sub.Example != "" {
				fmt.Fprintf(&b, "\nExamples:\n\n```sh\n%s\n```\n", sub.Example)
			}
			if flags := sub.LocalNonPersistentFlags().FlagUsages(); flags != "" {
				fmt.Fprintf(&b, "\nFlags:\n\n```text\n%s```\n", flags)
			}
			walk(sub)
		}
	}
	walk(root)
	return b.String()
}

// TestREADMEConfigurationExample runs the configuration example of README.md as written:
// the command line (its environment variable, --config my.yaml, --n-envs 4 and
// --timesteps 2e6) with the my.yaml shown beside it, up to the trainer.
func TestREADMEConfigurationExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	var line string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.Contains(l, "hybridtrain train") && strings.Contains(l, "--config my.yaml") {
			line = l
		}
	}
	_, rest, ok := strings.Cut(text, "```yaml\n# my.yaml\n")
	myYAML, _, _ := strings.Cut(rest, "```")
	if line == "" || !ok {
		t.Fatalf("README.md has no configuration example (a `hybridtrain train ... --config my.yaml` line and a my.yaml block)")
	}
	inTempDir(t)
	writeFile(t, "my.yaml", myYAML)
	fields := strings.Fields(line)
	for len(fields) > 0 && strings.HasPrefix(fields[0], envPrefix) {
		name, val, _ := strings.Cut(fields[0], "=")
		t.Setenv(name, val)
		fields = fields[1:]
	}
	if len(fields) == 0 || fields[0] != "hybridtrain" {
		t.Fatalf("README.md example %q: want [VAR=value ...] hybridtrain train ...", line)
	}
	a := newTestApp(t)
	ft := &fakeTrainer{}
	a.train = ft.train
	if code := a.run(append(fields[1:], "--quiet")...); code != exitOK {
		t.Fatalf("%s: exit %d, stderr %q", line, code, a.err.String())
	}
	// The values README.md shows: HYBRIDTRAIN_N_STEPS=1024, --market ES, --n-envs 4,
	// --timesteps 2e6, and my.yaml's learning_rate, lr_schedule, pi_layers and plan.
	s := ft.setup
	if s.Market != "ES" || s.PPO.NSteps != 1024 || s.PPO.NEnvs != 4 || s.PPO.TotalTimesteps != 2_000_000 ||
		s.PPO.LearningRate != 0.0001 || s.PPO.LRSchedule != "linear" || !slices.Equal(s.Policy.PiLayers, []int{256, 128}) || s.Env.Plan != "100k" {
		t.Errorf("%s: got market %s, n_steps %d, n_envs %d, total_timesteps %d, learning_rate %g, lr_schedule %s, pi_layers %v, plan %s",
			line, s.Market, s.PPO.NSteps, s.PPO.NEnvs, s.PPO.TotalTimesteps, s.PPO.LearningRate, s.PPO.LRSchedule, s.Policy.PiLayers, s.Env.Plan)
	}
}
