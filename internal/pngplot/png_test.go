package pngplot

import (
	"bytes"
	"errors"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
)

func line(t *testing.T, c color.Color) *plot.Plot {
	t.Helper()
	p := plot.New()
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		t.Fatal(err)
	}
	l.Color = c
	p.Add(l)
	return p
}

func TestWriteGrid(t *testing.T) {
	grid := [][]*plot.Plot{{line(t, Blue), nil}, {line(t, Vermillion), line(t, Orange)}}
	var buf bytes.Buffer
	if err := WriteGrid(&buf, 300, 200, DPI, draw.Tiles{Rows: 2, Cols: 2}, grid); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 300 || b.Dy() != 200 {
		t.Errorf("picture is %v, want 300 x 200", b)
	}
	seen := map[color.RGBA]bool{}
	for y := range 200 {
		for x := range 300 {
			seen[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)] = true
		}
	}
	for _, c := range []color.RGBA{Blue, Vermillion, Orange} {
		if !seen[c] {
			t.Errorf("colour %v not drawn", c)
		}
	}
}

// TestWriteGridPanic: gonum/plot's panic on a grid that does not match its tiles is an error.
func TestWriteGridPanic(t *testing.T) {
	var buf bytes.Buffer
	err := WriteGrid(&buf, 300, 200, DPI, draw.Tiles{Rows: 3, Cols: 1}, [][]*plot.Plot{{line(t, Blue)}})
	if err == nil || !strings.Contains(err.Error(), "tiles rows") {
		t.Errorf("WriteGrid with 1 row in 3 tiles: err %v, want gonum/plot's panic as an error", err)
	}
	if err := Write(&buf, 10, 10, DPI, func(draw.Canvas) { panic("odd layout") }); err == nil || err.Error() != "odd layout" {
		t.Errorf("Write that panics: err %v, want odd layout", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	err := Write(failWriter{}, 10, 10, DPI, func(draw.Canvas) {})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Write to a failing writer: err %v, want disk full", err)
	}
}

func TestPalette(t *testing.T) {
	seen := map[color.Color]bool{}
	for _, c := range Palette {
		if seen[c] {
			t.Errorf("Palette repeats %v", c)
		}
		seen[c] = true
		if _, _, _, a := c.RGBA(); a != 0xffff {
			t.Errorf("Palette colour %v is not opaque", c)
		}
	}
	if len(Palette) != 8 {
		t.Errorf("Palette has %d colours, want Okabe-Ito's 8", len(Palette))
	}
	if got, want := WithAlpha(Vermillion, 80), (color.NRGBA{213, 94, 0, 80}); got != want {
		t.Errorf("WithAlpha(Vermillion, 80) = %v, want %v", got, want)
	}
}
