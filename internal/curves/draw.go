package curves

import (
	"errors"
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"hybridtrain/internal/pngplot"
)

// FileName is the picture train writes into its run directory.
const FileName = "curves.png"

// Size of the picture: Width x Height pixels at 96 dpi (pngplot.DPI), two columns of four
// panels.
const (
	Width  = 1600
	Height = 1800
)

// The reward panel's metrics, drawn together.
const (
	rolloutReward = "rollout/ep_rew_mean"
	evalReward    = "eval/mean_reward"
)

// panels are the other panels, in reading order after the reward one, with a word on how
// to read each.
var panels = []struct{ key, note string }{
	{"train/approx_kl", "KL between successive policies"},
	{"train/clip_fraction", "share of ratios clipped"},
	{"train/value_loss", ""},
	{"train/entropy_loss", "-entropy: rises as the policy grows sure"},
	{"train/explained_variance", "1 is a perfect value function"},
	{"adapter/llm_features_learned", "mean |weight| on the context features"},
	{"time/fps", "env steps per second, wall clock"},
}

// palette gives each run a colour, Okabe-Ito's colour-blind-safe set in pngplot's order; a
// ninth run takes the first colour again, dashed.
var palette = pngplot.Palette

// runStyle is how one run's lines look.
type runStyle struct {
	color  color.Color
	dashes []vg.Length
}

func styleOf(i int) runStyle {
	s := runStyle{color: palette[i%len(palette)]}
	if i >= len(palette) {
		s.dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	return s
}

// WritePNG draws runs over each other, Width x Height pixels: the rollouts' mean episode
// reward (solid) and the evaluations' (dashed, a dot per evaluation) in the first panel,
// with the legend, then one panel per metric of panels; x is time/total_timesteps. A panel
// whose metric no run has says so. Runs with the same Name are told apart by their File.
func WritePNG(w io.Writer, runs []*Run) error {
	if len(runs) == 0 {
		return errors.New("curves: no runs to draw")
	}
	labels := legendLabels(runs)
	grid := [][]*plot.Plot{}
	reward, err := rewardPanel(runs, labels)
	if err != nil {
		return err
	}
	all := []*plot.Plot{reward}
	for _, p := range panels {
		pl, err := metricPanel(runs, p.key, p.note)
		if err != nil {
			return err
		}
		all = append(all, pl)
	}
	const cols = 2
	for i := 0; i < len(all); i += cols {
		grid = append(grid, all[i:min(i+cols, len(all))])
	}

	tiles := draw.Tiles{Rows: len(grid), Cols: cols, PadX: 4 * vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	if err := pngplot.WriteGrid(w, Width, Height, pngplot.DPI, tiles, grid); err != nil {
		return fmt.Errorf("curves: plot: %w", err)
	}
	return nil
}

// legendLabels are the runs' names, or their files where two runs share a name.
func legendLabels(runs []*Run) []string {
	count := map[string]int{}
	for _, r := range runs {
		count[r.Name]++
	}
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.Name
		if count[r.Name] > 1 {
			out[i] = r.File
		}
	}
	return out
}

// newPanel returns a panel titled key (and note), x labelled in timesteps.
func newPanel(title, note string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	if note != "" {
		p.Title.Text += " (" + note + ")"
	}
	p.X.Label.Text = "timesteps"
	p.Add(plotter.NewGrid())
	return p
}

// xys converts points to plotter values.
func xys(pts []Point) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	for i, pt := range pts {
		out[i] = plotter.XY{X: float64(pt.Step), Y: pt.Value}
	}
	return out
}

// addSeries draws pts in style s: a line, with a dot at each point when dots is set or the
// series has a single point (which a line alone would not show).
func addSeries(p *plot.Plot, pts []Point, s runStyle, dashes []vg.Length, dots bool) (*plotter.Line, error) {
	line, points, err := plotter.NewLinePoints(xys(pts))
	if err != nil {
		return nil, err
	}
	line.Color, line.Width = s.color, vg.Points(1.5)
	line.Dashes = s.dashes
	if dashes != nil {
		line.Dashes = dashes
	}
	p.Add(line)
	if dots || len(pts) == 1 {
		points.Color, points.Shape, points.Radius = s.color, draw.CircleGlyph{}, vg.Points(2.5)
		p.Add(points)
	}
	return line, nil
}

// rewardPanel draws every run's rollout and evaluation rewards, with the legend.
func rewardPanel(runs []*Run, labels []string) (*plot.Plot, error) {
	p := newPanel("episode reward", "")
	p.Y.Label.Text = "mean raw episode return"
	p.Legend.Top, p.Legend.Left = true, true
	evalDashes := []vg.Length{vg.Points(5), vg.Points(3)}
	drawn, anyEval := false, false
	for i, r := range runs {
		s := styleOf(i)
		if pts := r.Series[rolloutReward]; len(pts) > 0 {
			l, err := addSeries(p, pts, s, nil, false)
			if err != nil {
				return nil, fmt.Errorf("curves: %s %s: %w", labels[i], rolloutReward, err)
			}
			p.Legend.Add(labels[i], l)
			drawn = true
		}
		if pts := r.Series[evalReward]; len(pts) > 0 {
			l, err := addSeries(p, pts, s, evalDashes, true)
			if err != nil {
				return nil, fmt.Errorf("curves: %s %s: %w", labels[i], evalReward, err)
			}
			if len(r.Series[rolloutReward]) == 0 {
				p.Legend.Add(labels[i], l)
			}
			drawn, anyEval = true, true
		}
	}
	if anyEval {
		// Which line is which, in grey: it holds for every run.
		solid := &plotter.Line{LineStyle: draw.LineStyle{Color: pngplot.Grey, Width: vg.Points(1.5)}}
		dashed := &plotter.Line{LineStyle: draw.LineStyle{Color: pngplot.Grey, Width: vg.Points(1.5), Dashes: evalDashes}}
		p.Legend.Add(rolloutReward+" (rollouts)", solid)
		p.Legend.Add(evalReward+" (evaluations)", dashed)
	}
	if !drawn {
		noData(p)
		return p, nil
	}
	// Head room for the legend above the curves.
	p.Y.Max += legendRoom * (p.Y.Max - p.Y.Min)
	return p, nil
}

// legendRoom is the share of the reward panel's height added above the curves for the
// legend.
const legendRoom = 0.35

// metricPanel draws key of every run.
func metricPanel(runs []*Run, key, note string) (*plot.Plot, error) {
	p := newPanel(key, note)
	drawn := false
	for i, r := range runs {
		pts := r.Series[key]
		if len(pts) == 0 {
			continue
		}
		if _, err := addSeries(p, pts, styleOf(i), nil, false); err != nil {
			return nil, fmt.Errorf("curves: %s %s: %w", r.Name, key, err)
		}
		drawn = true
	}
	if !drawn {
		noData(p)
	}
	return p, nil
}

// noData marks an empty panel and gives it axes to draw.
func noData(p *plot.Plot) {
	p.Title.Text += ": no data"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
}
