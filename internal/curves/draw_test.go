package curves

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"
)

// fakeRun is a run with every panel's metric: n rollouts of 1000 timesteps, an evaluation
// every 4, values shifted by k so that runs differ.
func fakeRun(name string, k float64, n int) *Run {
	r := &Run{Name: name, File: name + "/metrics.jsonl", Series: map[string][]Point{}}
	for i := 1; i <= n; i++ {
		step := int64(1000 * i)
		x := float64(i)
		add := func(key string, v float64) { r.Series[key] = append(r.Series[key], Point{step, v}) }
		add(rolloutReward, k+math.Log(x))
		if i%4 == 0 {
			add(evalReward, k+math.Log(x)+0.5)
		}
		for j, p := range panels {
			add(p.key, k+float64(j)+math.Sin(x/3))
		}
	}
	return r
}

// decode checks the picture's size and counts its pixels of each colour.
func decode(t *testing.T, data []byte) map[color.RGBA]int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != Width || b.Dy() != Height {
		t.Fatalf("picture is %dx%d, want %dx%d", b.Dx(), b.Dy(), Width, Height)
	}
	counts := map[color.RGBA]int{}
	if rgba, ok := img.(*image.RGBA); ok { // what png.Decode returns for vgimg's pictures
		for i := 0; i+3 < len(rgba.Pix); i += 4 {
			counts[color.RGBA{rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2], rgba.Pix[i+3]}]++
		}
		return counts
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	return counts
}

func TestWritePNG(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d runs", n), func(t *testing.T) {
			var runs []*Run
			for i := range n {
				runs = append(runs, fakeRun(fmt.Sprintf("seed-%d", i+1), float64(3*i), 40))
			}
			var buf bytes.Buffer
			if err := WritePNG(&buf, runs); err != nil {
				t.Fatal(err)
			}
			counts := decode(t, buf.Bytes())
			// Each run's colour covers its lines in eight panels: hundreds of pixels at
			// least; a colour of a run not drawn covers none (black aside: the axes' and the
			// text's).
			for i := range len(palette) {
				c := palette[i].(color.RGBA)
				if c == (color.RGBA{0, 0, 0, 255}) {
					continue
				}
				if got := counts[c]; i < n && got < 500 {
					t.Errorf("run %d's colour %v covers %d pixels, want its curves drawn", i+1, c, got)
				} else if i >= n && got > 0 {
					t.Errorf("colour %v of no run covers %d pixels", c, got)
				}
			}
		})
	}
}

// TestWritePNGSparse: a single point, a metric no run has and an empty run still draw.
func TestWritePNGSparse(t *testing.T) {
	one := &Run{Name: "one", Series: map[string][]Point{rolloutReward: {{2048, 1}}, "time/fps": {{2048, 900}}}}
	none := &Run{Name: "none", Series: map[string][]Point{}}
	var buf bytes.Buffer
	if err := WritePNG(&buf, []*Run{one, none}); err != nil {
		t.Fatal(err)
	}
	decode(t, buf.Bytes())
	if err := WritePNG(&buf, nil); err == nil {
		t.Error("WritePNG with no runs: nil error, want one")
	}
}

func TestLegendLabels(t *testing.T) {
	runs := []*Run{{Name: "a", File: "x/a/metrics.jsonl"}, {Name: "a", File: "y/a/metrics.jsonl"}, {Name: "b", File: "b/metrics.jsonl"}}
	got := legendLabels(runs)
	want := []string{"x/a/metrics.jsonl", "y/a/metrics.jsonl", "b"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("legendLabels = %v, want %v", got, want)
	}
}
