package pngplot

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// AddLine adds xys to p as a line of colour c, width and dash pattern, and to p's legend
// under name unless name is empty. Nothing is drawn for no points.
func AddLine(p *plot.Plot, name string, xys plotter.XYs, c color.Color, width vg.Length, dashes ...vg.Length) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color, l.Width, l.Dashes = c, width, dashes
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
	return nil
}

// AddDrawdown adds a drawdown curve to p: the area between 0 and dd filled with fill, and
// dd itself as a line of colour c. Nothing is drawn for no points.
func AddDrawdown(p *plot.Plot, dd plotter.XYs, fill, c color.Color) error {
	if len(dd) == 0 {
		return nil
	}
	area := make(plotter.XYs, 0, len(dd)+2)
	area = append(area, plotter.XY{X: dd[0].X, Y: 0})
	area = append(area, dd...)
	area = append(area, plotter.XY{X: dd[len(dd)-1].X, Y: 0})
	poly, err := plotter.NewPolygon(area)
	if err != nil {
		return err
	}
	poly.Color, poly.LineStyle.Width = fill, 0
	p.Add(poly)
	return AddLine(p, "", dd, c, 1)
}
