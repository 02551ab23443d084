package walkforward

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

// The picture: 1200 x 800 px at 96 dpi (pngplot.DPI), as eval's equity.png.
const (
	plotWidth  = 1200
	plotHeight = 800
)

// Colours (pngplot's Okabe-Ito palette, as internal/report's pictures): the folds' segments
// take turns.
var (
	colFolds    = []color.Color{pngplot.Blue, pngplot.ReddishPurple, pngplot.BluishGreen, pngplot.Orange}
	colStart    = pngplot.Grey
	colBoundary = pngplot.LightGrey
	colDrawdown = pngplot.WithAlpha(pngplot.Vermillion, 80)
	colDDLine   = pngplot.Vermillion
)

// WritePlot writes equity.png: on top the out-of-sample equity, each fold's test block in
// its own colour, with the start balance and a vertical line where each fold begins; below,
// the drawdown from the stitched equity's running peak. The x axis counts the bars of the
// test blocks, ticks labelled with each block's first date.
func (s *Summary) WritePlot(w io.Writer) error {
	top, bottom, err := s.plots()
	if err != nil {
		return err
	}
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 2 * vg.Millimeter,
		PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadLeft: vg.Millimeter, PadRight: 3 * vg.Millimeter}
	if err := pngplot.WriteGrid(w, plotWidth, plotHeight, pngplot.DPI, tiles, [][]*plot.Plot{{top}, {bottom}}); err != nil {
		return fmt.Errorf("walkforward: plot: %w", err)
	}
	return nil
}

func (s *Summary) plots() (top, bottom *plot.Plot, err error) {
	a := s.stitched
	n := len(a.Bars)
	xmax := math.Max(float64(n-1), 1)
	ticks := make(plot.ConstantTicks, 0, len(s.foldStart))
	for k, i := range s.foldStart {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: s.Folds[k].Test.First})
	}
	line := func(p *plot.Plot, name string, xys plotter.XYs, c color.Color, width vg.Length, dashes ...vg.Length) error {
		if err := pngplot.AddLine(p, name, xys, c, width, dashes...); err != nil {
			return fmt.Errorf("walkforward: plot %s: %w", name, err)
		}
		return nil
	}

	top = plot.New()
	top.Title.Text = fmt.Sprintf("walk-forward, %d folds: out-of-sample equity, test blocks stitched (net %s $)",
		len(s.Folds), money(s.OutOfSample.Metrics.NetPnL))
	top.Y.Label.Text = "equity ($)"
	top.X.Tick.Marker = ticks
	top.Legend.Top, top.Legend.Left = true, true
	if err := line(top, "start balance", plotter.XYs{{X: 0, Y: a.Start}, {X: xmax, Y: a.Start}}, colStart, 0.75, vg.Points(1), vg.Points(3)); err != nil {
		return nil, nil, err
	}
	dd := make(plotter.XYs, n)
	peak := a.Start
	for k, from := range s.foldStart {
		to := n
		if k+1 < len(s.foldStart) {
			to = s.foldStart[k+1]
		}
		seg := make(plotter.XYs, 0, to-from+1)
		if from > 0 {
			seg = append(seg, plotter.XY{X: float64(from - 1), Y: a.Bars[from-1].Equity}) // join the previous fold's line
		}
		for i := from; i < to; i++ {
			seg = append(seg, plotter.XY{X: float64(i), Y: a.Bars[i].Equity})
			peak = max(peak, a.Bars[i].Equity)
			dd[i] = plotter.XY{X: float64(i), Y: a.Bars[i].Equity - peak}
		}
		if err := line(top, s.Folds[k].Name, seg, colFolds[k%len(colFolds)], 1.5); err != nil {
			return nil, nil, err
		}
	}

	bottom = plot.New()
	bottom.Y.Label.Text = "drawdown from peak ($)"
	bottom.X.Label.Text = "bars of the test blocks (ticks at each fold's first session)"
	bottom.X.Tick.Marker = ticks
	if err := pngplot.AddDrawdown(bottom, dd, colDrawdown, colDDLine); err != nil {
		return nil, nil, fmt.Errorf("walkforward: plot drawdown: %w", err)
	}
	bottom.Y.Max = 0
	top.Y.Max += 0.3 * (top.Y.Max - top.Y.Min) // head room for the legend

	for _, p := range []*plot.Plot{top, bottom} {
		for _, i := range s.foldStart[1:] {
			if err := line(p, "", plotter.XYs{{X: float64(i), Y: p.Y.Min}, {X: float64(i), Y: p.Y.Max}}, colBoundary, 0.75, vg.Points(4), vg.Points(3)); err != nil {
				return nil, nil, err
			}
		}
		p.X.Min, p.X.Max = 0, xmax
		p.Add(plotter.NewGrid())
	}
	return top, bottom, nil
}
