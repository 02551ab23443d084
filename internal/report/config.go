package report

import "fmt"

// Config holds the report's settings. DefaultConfig returns the defaults.
type Config struct {
	// RandomSeeds is the number of runs of the random baseline, each with its own generator
	// (10). The report gives their mean and sample standard deviation.
	RandomSeeds int
	// Seed seeds the random baseline: run i (0-based) draws from
	// rand.New(rand.NewPCG(Seed, RandomStream+i)) (1).
	Seed uint64
	// PlotWidth and PlotHeight are the size of equity.png in pixels (1200 x 800).
	PlotWidth, PlotHeight int
	// Baselines runs the flat, random and buy-and-hold baselines (true). Off, the report
	// holds the policy alone.
	Baselines bool
	// Resamples and Confidence set the paired bootstrap of each comparison (Input.Compare):
	// 10,000 resamples of the sessions, a 95% interval. The generator is
	// rand.New(rand.NewPCG(Seed, BootstrapStream)).
	Resamples  int
	Confidence float64
}

// DefaultConfig returns the defaults: 10 random seeds from seed 1, a 1200 x 800 px plot,
// baselines on, comparisons judged by a 95% interval from 10,000 bootstrap resamples.
func DefaultConfig() Config {
	return Config{RandomSeeds: 10, Seed: 1, PlotWidth: 1200, PlotHeight: 800, Baselines: true,
		Resamples: 10_000, Confidence: 0.95}
}

// Plot size limits, pixels: below the minimum the axes' labels do not fit; above the
// maximum the PNG is tens of megabytes for no gain.
const (
	minPlotPx = 300
	maxPlotPx = 8000
)

// maxRandomSeeds bounds the random baseline's runs: each is a full backtest.
const maxRandomSeeds = 1000

// maxResamples bounds the bootstrap: a million resamples of a year of sessions is already
// seconds of work for an interval that stopped moving long before.
const maxResamples = 1_000_000

// Validate checks every field and names the one at fault.
func (c Config) Validate() error {
	switch {
	case c.RandomSeeds < 1 || c.RandomSeeds > maxRandomSeeds:
		return fmt.Errorf("report: random_seeds must be in [1, %d], got %d", maxRandomSeeds, c.RandomSeeds)
	case c.PlotWidth < minPlotPx || c.PlotWidth > maxPlotPx:
		return fmt.Errorf("report: plot_width must be in [%d, %d] pixels, got %d", minPlotPx, maxPlotPx, c.PlotWidth)
	case c.PlotHeight < minPlotPx || c.PlotHeight > maxPlotPx:
		return fmt.Errorf("report: plot_height must be in [%d, %d] pixels, got %d", minPlotPx, maxPlotPx, c.PlotHeight)
	case c.Resamples < 1 || c.Resamples > maxResamples:
		return fmt.Errorf("report: resamples must be in [1, %d], got %d", maxResamples, c.Resamples)
	case !(c.Confidence > 0 && c.Confidence < 1):
		return fmt.Errorf("report: confidence must be in (0, 1), got %g", c.Confidence)
	}
	return nil
}
