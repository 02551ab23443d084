package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"hybridtrain/internal/env"
)

// newDataCmd groups the bar-file commands: validate, info and synth.
func newDataCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Check, describe or generate bar files",
		Long: `Check, describe or generate 1-minute bar files (CSV; see docs/data.md).

The instrument (its zone, data session and typical price) is --market, else the
symbol a file name starts with (NQ_D1M.csv is NQ), else NQ. Custom instruments and
data_tz come from --config FILE (else ./hybridtrain.yaml) and the environment.`,
		Args: usageArgs(cobra.NoArgs),
		// Runnable, so that cobra checks the arguments: `data foo` is a usage error.
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDataValidateCmd(a), newDataInfoCmd(a), newDataSynthCmd(a))
	return cmd
}

// dataFlags are the flags the data commands share.
type dataFlags struct {
	configFile string
	flags      *pflag.FlagSet
}

func (o *dataFlags) addFlags(a *app, f *pflag.FlagSet) {
	f.StringVar(&o.configFile, "config", "", "config file (YAML) with instruments or data_tz; default ./hybridtrain.yaml when present")
	addKeyFlags(f, a.configs, phaseDefaults, "market")
	// The key's own help is train's ("instrument to train on"); here it names the bars'.
	f.Lookup("market").Usage = "instrument of the bars (zone, data session, typical price): a built-in symbol (ES, NQ, ...) or one defined under instruments; upper-cased; default the symbol the file name starts with, else " + defaultDataMarket + " (key market)"
}

// defaultDataMarket is the instrument of the data commands when neither --market nor the
// file name gives one.
const defaultDataMarket = "NQ"

// dataSettings resolves the configuration and the instrument of a data command: --market,
// else the symbol the file name starts with (NQ_D1M.csv), else NQ.
func (o *dataFlags) dataSettings(a *app, path string) (*resolvedConfig, env.Instrument, error) {
	res, err := loadSettings(a.configs, configRequest{flags: o.flags, configFile: o.configFile})
	if err != nil {
		return nil, env.Instrument{}, err
	}
	a.warn(res.warnings)
	s := res.settings
	if s.Market == "" {
		s.Market = marketFromFileName(path, s.knownMarkets())
	}
	inst, err := s.instrument()
	return s, inst, err
}

// marketFromFileName returns the known symbol a file's base name starts with, followed by
// "_" or "." (NQ_D1M.csv, es.csv), else defaultDataMarket.
func marketFromFileName(path string, known []string) string {
	base := strings.ToUpper(filepath.Base(path))
	best := ""
	for _, sym := range known {
		if len(sym) > len(best) && strings.HasPrefix(base, sym) && len(base) > len(sym) && strings.ContainsRune("_.-", rune(base[len(sym)])) {
			best = sym
		}
	}
	if best == "" {
		return defaultDataMarket
	}
	return best
}

// dataArgs reads the PATH arguments of validate and info as the data key reads its
// value: files or directories of .csv files, each argument possibly a comma-separated list.
// A missing path is a data error (exit 3).
func dataArgs(args []string) (dataSource, error) {
	var paths []string
	for _, a := range args {
		p, _ := toPaths(a) // a string always converts
		paths = append(paths, p...)
	}
	if len(paths) == 0 {
		return dataSource{}, configErrorf("data: no bar file given")
	}
	return dataPaths(paths)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
