package sweep

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"hybridtrain/internal/pngplot"
)

// The picture's size at 96 dpi (pngplot.DPI): 1200 px wide, and per trial plotPerBar px
// high above plotBase, within what internal/report allows for its own pictures.
const (
	plotWidth  = 1200
	plotBase   = 240
	plotPerBar = 28
	plotMaxPx  = 8000
)

// Colours of the verdicts (pngplot's Okabe-Ito palette, as internal/report's pictures).
var (
	colPass = pngplot.BluishGreen
	colFail = pngplot.Vermillion
)

// WritePlot writes report.png: one horizontal bar per trial with a finite value of the
// metric, best at the top, coloured by its Apex verdict.
func (l *Leaderboard) WritePlot(w io.Writer) error {
	m, _ := lookupMetric(l.Metric)
	var rows []Row
	for _, r := range l.Rows {
		if r.Rank > 0 && finite(m.value(&r)) {
			rows = append(rows, r)
		}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("sweep %s: %s, best at the top", l.Sweep, m.Doc)
	if left := len(l.Rows) - len(rows); left > 0 {
		p.Title.Text += fmt.Sprintf(" (%d of %d trials without a value)", left, len(l.Rows))
	}
	p.X.Label.Text = m.Name
	// Bars are drawn from y = 0 upwards: the best goes last, at the top.
	n := len(rows)
	pass, fail := make(plotter.Values, n), make(plotter.Values, n)
	names := make([]string, n)
	for i, r := range rows {
		y := n - 1 - i
		v := float64(m.value(&r))
		names[y] = r.Trial
		if r.Verdict == "PASS" {
			pass[y] = v
		} else {
			fail[y] = v
		}
	}
	if n > 0 {
		p.Add(plotter.NewGrid()) // first, under the bars
		width := vg.Points(16)
		for _, s := range []struct {
			name string
			vals plotter.Values
			c    color.Color
		}{{"Apex PASS", pass, colPass}, {"Apex FAIL", fail, colFail}} {
			bars, err := plotter.NewBarChart(s.vals, width)
			if err != nil {
				return fmt.Errorf("sweep: plot: %w", err)
			}
			bars.Horizontal = true
			bars.Color = s.c
			bars.LineStyle.Width = 0
			p.Add(bars)
			p.Legend.Add(s.name, bars)
		}
		p.NominalY(names...)
		// A free row above the best bar holds the legend; 5% of the range either side.
		p.Y.Max = float64(n)
		lo, hi := 0.0, 0.0
		for i := range n {
			v := pass[i] + fail[i]
			lo, hi = min(lo, v), max(hi, v)
		}
		pad := 0.05 * max(hi-lo, 1e-9)
		p.X.Min, p.X.Max = lo-pad, hi+pad
		p.Legend.Top = true
	}
	p.Title.Padding = vg.Points(6)
	height := min(plotBase+plotPerBar*n, plotMaxPx)
	if err := pngplot.Write(w, plotWidth, height, pngplot.DPI, p.Draw); err != nil {
		return fmt.Errorf("sweep: plot: %w", err)
	}
	return nil
}
