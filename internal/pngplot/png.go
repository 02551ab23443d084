package pngplot

import (
	"fmt"
	"image"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// DPI is the resolution of the project's pictures: a font of 12 points is 16 pixels high.
const DPI = 96

// Write draws a width x height pixel picture at dpi and writes it to w as a PNG: fn draws
// on the whole canvas. A panic while drawing (gonum/plot's on an impossible layout) comes
// back as an error, as does one from w.
func Write(w io.Writer, width, height, dpi int, fn func(draw.Canvas)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if e, ok := p.(error); ok {
				err = fmt.Errorf("%w", e)
			} else {
				err = fmt.Errorf("%v", p)
			}
		}
	}()
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	c := vgimg.NewWith(vgimg.UseImage(img), vgimg.UseDPI(dpi))
	fn(draw.New(c))
	_, err = vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}

// WriteGrid is Write of a grid of plots: grid[row][col] (a nil plot leaves its tile empty)
// aligned in tiles by plot.Align, which needs tiles.Rows rows of tiles.Cols plots each.
func WriteGrid(w io.Writer, width, height, dpi int, tiles draw.Tiles, grid [][]*plot.Plot) error {
	return Write(w, width, height, dpi, func(dc draw.Canvas) {
		canvases := plot.Align(grid, tiles, dc)
		for r, row := range grid {
			for col, p := range row {
				if p != nil {
					p.Draw(canvases[r][col])
				}
			}
		}
	})
}
