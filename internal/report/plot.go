package report

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"hybridtrain/internal/pngplot"
)

// Colours of the picture (pngplot's Okabe-Ito palette).
var (
	colEquity    = pngplot.Blue
	colThreshold = pngplot.Vermillion
	colTarget    = pngplot.BluishGreen
	colStart     = pngplot.Grey
	colBench     = pngplot.LightGrey
	colBreach    = pngplot.Orange
	colDrawdown  = pngplot.WithAlpha(pngplot.Vermillion, 80)
	// The checkpoints compared with the policy, in turn: the rest of Okabe-Ito's palette.
	colContenders = []color.Color{pngplot.ReddishPurple, pngplot.SkyBlue, pngplot.Black, pngplot.Yellow}
)

// WritePlot writes equity.png: Config.PlotWidth x PlotHeight pixels at 96 dpi; the top
// panel holds the policy's equity at each bar's close, the Apex trailing threshold, the
// profit target, the start balance, the equity of each checkpoint compared with it, the
// buy-and-hold baseline's equity (when the baselines ran) and a vertical mark at the breach;
// the bottom panel the drawdown from the running equity peak, dollars. The x axis counts the
// bars stepped (sessions joined without their overnight gaps), labelled with session dates.
func (r *Report) WritePlot(w io.Writer) error {
	top, bottom, err := r.plots()
	if err != nil {
		return err
	}
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 2 * vg.Millimeter,
		PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadLeft: vg.Millimeter, PadRight: 3 * vg.Millimeter}
	if err := pngplot.WriteGrid(w, r.cfg.PlotWidth, r.cfg.PlotHeight, pngplot.DPI, tiles, [][]*plot.Plot{{top}, {bottom}}); err != nil {
		return fmt.Errorf("report: plot: %w", err)
	}
	return nil
}

// plots builds the two panels.
func (r *Report) plots() (top, bottom *plot.Plot, err error) {
	a := r.account
	n := len(a.Bars)
	eq := make(plotter.XYs, n)
	th := make(plotter.XYs, n)
	dd := make(plotter.XYs, n)
	peak := a.Start
	for i, b := range a.Bars {
		x := float64(i)
		peak = max(peak, b.Equity)
		eq[i] = plotter.XY{X: x, Y: b.Equity}
		th[i] = plotter.XY{X: x, Y: b.Threshold}
		dd[i] = plotter.XY{X: x, Y: b.Equity - peak}
	}
	xmax := math.Max(float64(n-1), 1)
	ticks := sessionTicks(a)

	top = plot.New()
	top.Title.Text = fmt.Sprintf("%s phase %d, %s: equity under the Apex %s plan (%s)",
		r.Model.Market, r.Model.Phase, r.Data.Split, r.Rules.Plan, r.Policy.Verdict.verdictWord())
	top.Y.Label.Text = "equity ($)"
	top.X.Tick.Marker = ticks
	top.Legend.Top, top.Legend.Left = true, true

	hline := func(y float64) plotter.XYs { return plotter.XYs{{X: 0, Y: y}, {X: xmax, Y: y}} }
	add := func(p *plot.Plot, name string, xys plotter.XYs, c color.Color, width vg.Length, dashes ...vg.Length) error {
		if err := pngplot.AddLine(p, name, xys, c, width, dashes...); err != nil {
			return fmt.Errorf("report: plot %s: %w", name, err)
		}
		return nil
	}
	if n == 0 {
		// No bars: an empty frame at the start balance, so the file still exists.
		eq = hline(a.Start)
		th, dd = hline(a.Start-r.Rules.TrailingAmount), hline(0)
	}
	lines := []series{
		{"start balance", hline(a.Start), colStart, 0.75, []vg.Length{vg.Points(1), vg.Points(3)}},
		{fmt.Sprintf("profit target %s", dollars(r.Rules.StartBalance+r.Rules.ProfitTarget)),
			hline(r.Rules.StartBalance + r.Rules.ProfitTarget), colTarget, 1.25, []vg.Length{vg.Points(6), vg.Points(3)}},
	}
	for i, acc := range r.contenders {
		ce := make(plotter.XYs, len(acc.Bars))
		for j, b := range acc.Bars {
			ce[j] = plotter.XY{X: float64(j), Y: b.Equity}
		}
		lines = append(lines, series{r.Comparisons[i].Model.Dir + " equity", ce, colContenders[i%len(colContenders)], 1.25, nil})
	}
	if r.benchmark != nil && len(r.benchmark.Bars) > 0 {
		bh := make(plotter.XYs, len(r.benchmark.Bars))
		for i, b := range r.benchmark.Bars {
			bh[i] = plotter.XY{X: float64(i), Y: b.Equity}
		}
		lines = append(lines, series{"buy-and-hold equity", bh, colBench, 1, nil})
	}
	for _, s := range lines {
		if err := add(top, s.name, s.xys, s.c, s.width, s.dashes...); err != nil {
			return nil, nil, err
		}
	}
	if err := add(top, "trailing threshold", th, colThreshold, 1.25); err != nil {
		return nil, nil, err
	}
	if err := add(top, "policy equity", eq, colEquity, 1.5); err != nil {
		return nil, nil, err
	}

	bottom = plot.New()
	bottom.Y.Label.Text = "drawdown from peak ($)"
	bottom.X.Label.Text = "bars stepped (sessions joined; ticks at session starts)"
	bottom.X.Tick.Marker = ticks
	bottom.Y.Tick.Marker = dollarTicks{}
	bottom.Legend.Top, bottom.Legend.Left = false, true
	if err := pngplot.AddDrawdown(bottom, dd, colDrawdown, colThreshold); err != nil {
		return nil, nil, fmt.Errorf("report: plot drawdown: %w", err)
	}
	// The trailing amount: a close-marked drawdown this deep is about where the threshold
	// (which trails the intrabar peak) is met.
	if err := add(bottom, fmt.Sprintf("trailing amount %s", dollars(r.Rules.TrailingAmount)),
		hline(-r.Rules.TrailingAmount), colStart, 1, vg.Points(6), vg.Points(3)); err != nil {
		return nil, nil, err
	}
	bottom.Y.Max = 0
	top.Y.Tick.Marker = dollarTicks{}
	// Head room for the legend above the curves.
	top.Y.Max += 0.3 * (top.Y.Max - top.Y.Min)

	// The breach: a vertical line through both panels.
	for i, b := range a.Bars {
		if !b.Breach {
			continue
		}
		for _, p := range []*plot.Plot{top, bottom} {
			v, err := plotter.NewLine(plotter.XYs{{X: float64(i), Y: p.Y.Min}, {X: float64(i), Y: p.Y.Max}})
			if err != nil {
				return nil, nil, fmt.Errorf("report: plot breach: %w", err)
			}
			v.Color, v.Width = colBreach, 1.25
			p.Add(v)
			if p == top {
				p.Legend.Add("breach", v)
			}
		}
	}
	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Min, p.X.Max = 0, xmax
		p.Add(plotter.NewGrid())
	}
	return top, bottom, nil
}

// series is one line of the equity panel.
type series struct {
	name   string
	xys    plotter.XYs
	c      color.Color
	width  vg.Length
	dashes []vg.Length
}

// dollarTicks are gonum's default ticks labelled as whole dollars ($57,500).
type dollarTicks struct{}

// Ticks returns the default ticks of [lo, hi] with dollar labels.
func (dollarTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			d := dollars(ts[i].Value)
			ts[i].Label = d[:len(d)-3] // whole dollars: the tick values are round
		}
	}
	return ts
}

// verdictWord is PASS or FAIL.
func (v Verdict) verdictWord() string {
	if v.Passed {
		return "PASS"
	}
	return "FAIL"
}

// maxDateTicks is the most session dates the x axis labels; sessions between labelled ones
// get unlabelled ticks.
const maxDateTicks = 8

// sessionTicks puts a tick at the first bar of every session and labels at most
// maxDateTicks of them, evenly spaced, with the session's date.
func sessionTicks(a *Account) plot.ConstantTicks {
	var starts []int
	for i, b := range a.Bars {
		if i == 0 || b.Session != a.Bars[i-1].Session {
			starts = append(starts, i)
		}
	}
	every := (len(starts) + maxDateTicks - 1) / maxDateTicks
	ticks := make(plot.ConstantTicks, len(starts))
	for k, i := range starts {
		ticks[k] = plot.Tick{Value: float64(i)}
		if every > 0 && k%every == 0 {
			ticks[k].Label = a.date(a.Bars[i].Session)
		}
	}
	return ticks
}
