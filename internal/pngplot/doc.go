// Package pngplot renders gonum/plot pictures to PNG with the project's palette.
//
// The palette is Okabe-Ito's, whose colours stay apart for colour-blind readers: each
// colour by name (Blue, Vermillion, ...), Palette in the order the pictures hand them out,
// two greys for reference lines and WithAlpha for translucent fills.
//
// Write draws on an image of a given pixel size and resolution and encodes it as PNG;
// WriteGrid lays a grid of plots out in draw.Tiles (plot.Align) and draws each in its
// tile. gonum/plot panics on a few impossible layouts; both turn such a panic into an
// error, so a picture never takes the process down. AddLine and AddDrawdown add the two
// kinds of series the equity pictures share (a styled line with its legend entry, and a
// filled drawdown curve). Errors carry no prefix: the caller wraps them with the picture's
// name.
//
// It imports gonum/plot and the standard library only: report, walkforward, sweep and
// curves stand on it.
package pngplot
