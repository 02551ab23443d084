package pngplot

import "image/color"

// The Okabe-Ito colours, opaque.
var (
	Blue          = color.RGBA{0, 114, 178, 255}
	Vermillion    = color.RGBA{213, 94, 0, 255}
	BluishGreen   = color.RGBA{0, 158, 115, 255}
	ReddishPurple = color.RGBA{204, 121, 167, 255}
	Orange        = color.RGBA{230, 159, 0, 255}
	SkyBlue       = color.RGBA{86, 180, 233, 255}
	Black         = color.RGBA{0, 0, 0, 255}
	Yellow        = color.RGBA{240, 228, 66, 255}
)

// The greys of reference lines (start balances, fold boundaries, baselines, legend keys).
var (
	Grey      = color.RGBA{120, 120, 120, 255}
	LightGrey = color.RGBA{170, 170, 170, 255}
)

// Palette is the eight Okabe-Ito colours in the order series take them when each of many
// (training runs) needs its own; pictures with a few series of their own kind pick theirs
// by name.
var Palette = []color.Color{Blue, Vermillion, BluishGreen, ReddishPurple, Orange, SkyBlue, Black, Yellow}

// WithAlpha is c, made translucent with alpha a (0 transparent, 255 opaque) over whatever
// lies beneath: a fill under a line of the same colour.
func WithAlpha(c color.Color, a uint8) color.NRGBA {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	n.A = a
	return n
}
