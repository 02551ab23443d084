package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"hybridtrain/internal/atomicfile"
	"hybridtrain/internal/env"
)

type dataSynthOptions struct {
	dataFlags
	sessions int
	seed     uint64
	out      string
}

func newDataSynthCmd(a *app) *cobra.Command {
	opts := &dataSynthOptions{}
	cmd := &cobra.Command{
		Use:   "synth",
		Short: "Generate seeded synthetic 1-minute bars as CSV",
		Long: `Generate seeded synthetic 1-minute bars for an instrument (sessions in exchange
time on the weekdays its calendar does not close, ending at the close on an early
close; U-shaped intraday volume and volatility, volatility clustering,
trending and reverting regimes, prices on the tick grid) and write them as CSV to
--out, or to stdout. The same market, sessions and seed give the same bytes; these
are the bars train uses when a market has no data file (120 sessions, seed 1).`,
		Example: "  hybridtrain data synth --market ES --sessions 250 --seed 7 --out data/ES_D1M.csv",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.flags = cmd.Flags()
			return runDataSynth(a, opts)
		},
	}
	opts.addFlags(a, cmd.Flags())
	cmd.Flags().IntVar(&opts.sessions, "sessions", synthSessions, "sessions (trading days from 2024-01-02) to generate (>= 1)")
	cmd.Flags().Uint64Var(&opts.seed, "seed", synthSeed, "generator seed")
	cmd.Flags().StringVar(&opts.out, "out", "", "output file (default stdout)")
	return cmd
}

func runDataSynth(a *app, opts *dataSynthOptions) error {
	if opts.sessions < 1 {
		return configErrorf("data synth: --sessions: want an integer >= 1, got %d", opts.sessions)
	}
	s, _, err := opts.dataSettings(a, "")
	if err != nil {
		return err
	}
	inst, err := s.instrument()
	if err != nil {
		return err
	}
	ds, err := env.Synthesize(inst, opts.sessions, opts.seed)
	if err != nil {
		return fmt.Errorf("data synth: %w", err)
	}
	if opts.out == "" {
		w := bufio.NewWriter(a.stdout)
		if err := env.WriteCSV(w, ds); err != nil {
			return fmt.Errorf("data synth: %w", err)
		}
		return w.Flush()
	}
	// --out may name a directory that does not exist yet (data/ in a fresh checkout).
	if err := os.MkdirAll(filepath.Dir(opts.out), 0o755); err != nil {
		return fmt.Errorf("data synth: %w", err)
	}
	if err := atomicfile.WriteFunc(opts.out, atomicfile.Perm, func(w io.Writer) error { return env.WriteCSV(w, ds) }); err != nil {
		return fmt.Errorf("data synth: %w", err)
	}
	fmt.Fprintf(a.stderr, "data synth: wrote %s (%s, %d bars, %s, seed %d)\n",
		opts.out, inst.Symbol, ds.Bars.Len(), plural(len(ds.Sessions), "session", "sessions"), opts.seed)
	return nil
}
