package main

import (
	"fmt"
	"io/fs"
	"strconv"

	"github.com/spf13/pflag"
)

// runFlags are the flags of train, test and eval that are not configuration keys.
type runFlags struct {
	configFile     string // --config
	test           bool   // --test (train only)
	nonInteractive bool   // --non-interactive
}

func (o *runFlags) addFlags(f *pflag.FlagSet, withTest bool) {
	f.StringVar(&o.configFile, "config", "", "config file (YAML); default ./hybridtrain.yaml when present")
	f.BoolVar(&o.nonInteractive, "non-interactive", false, "never prompt or read stdin (also when CI is set or stdin/stderr is not a terminal)")
	if withTest {
		f.BoolVar(&o.test, "test", false, "test mode: apply configs/test.yaml (50,000 timesteps, 2 envs, ...)")
	}
}

// flagDefaults says which defaults a command's key flags show in its help. The value a
// flag gives is read only when the user set it (config.go), so this is the help alone.
type flagDefaults int

const (
	phaseDefaults flagDefaults = iota // configs/phase3.yaml (train, data)
	testDefaults                      // configs/phase3.yaml under configs/test.yaml (test)
	noDefaults                        // none: eval takes the checkpoint's configuration
)

// addKeyFlags registers the flags of the named configuration keys, typed by the key, with
// the defaults shown in the help. Their values are read through viper (config.go), which
// takes a flag only when the user set it.
func addKeyFlags(flags *pflag.FlagSet, configs fs.FS, shown flagDefaults, names ...string) {
	defaults := map[string]any{}
	if shown != noDefaults {
		defaults = embeddedDefaults(configs, shown == testDefaults)
	}
	keys := configKeys()
	for _, name := range names {
		k, ok := lookupKey(keys, name)
		if !ok || k.Flag == "" {
			panic("cmd: no flag for key " + name) // a programming error: every test that builds the command tree fails
		}
		usage := fmt.Sprintf("%s (key %s)", k.Doc, k.Name)
		def := defaults[k.Name]
		switch k.Type {
		case typeInt:
			n, _ := toInt64(def)
			flags.Var(&intFlag{n}, k.Flag, usage)
		case typeBool:
			b, _ := toBool(def)
			flags.Bool(k.Flag, b, usage)
		case typePaths:
			// Given once with commas, or repeated: --data a.csv,b.csv or --data a.csv --data b.csv.
			p, _ := toPaths(def)
			flags.StringSlice(k.Flag, p, usage)
		default:
			s, _ := def.(string)
			flags.String(k.Flag, s, usage)
		}
	}
}

// embeddedDefaults returns the Phase 3 defaults, with the test overlay on top when
// testMode, as parsed values (empty on a broken file: loading the configuration reports
// that error properly).
func embeddedDefaults(configs fs.FS, testMode bool) map[string]any {
	keys := configKeys()
	l, err := readEmbedded(configs, phase3File, keys)
	if err != nil {
		return map[string]any{}
	}
	if testMode {
		overlay, err := readEmbedded(configs, testFile, keys)
		if err != nil {
			return map[string]any{}
		}
		for k, v := range overlay.values {
			l.values[k] = v
		}
	}
	return l.values
}

// intFlag is the value of an integer key's flag. It reads what the key reads in files and
// the environment (2048, 2e6, 2_000_000; a fraction is an error), so that `--timesteps 2e6`
// works as README.md and `train --help` write it; pflag's own integer flags refuse 2e6.
type intFlag struct{ n int64 }

func (f *intFlag) String() string { return strconv.FormatInt(f.n, 10) }

// Set parses s; viper reads the flag back through String.
func (f *intFlag) Set(s string) error {
	n, err := toInt64(s)
	if err != nil {
		return err
	}
	f.n = n
	return nil
}

// Type is "int", as pflag names integer flags in the help.
func (f *intFlag) Type() string { return "int" }
