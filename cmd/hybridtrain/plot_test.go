package main

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hybridtrain/internal/curves"
	"hybridtrain/internal/ppo"
)

// writePlotRun writes a run directory whose metrics.jsonl has n rollout lines (and an eval
// line every 2) and then extra.
func writePlotRun(t *testing.T, dir string, n int, extra string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"kind":"rollout","time/total_timesteps":%d,"time/fps":900,"rollout/ep_rew_mean":%g,"train/approx_kl":0.01,"train/value_loss":%g}`+"\n",
			128*i, float64(i)/2, 1/float64(i))
		if i%2 == 0 {
			fmt.Fprintf(&b, `{"kind":"eval","time/total_timesteps":%d,"eval/mean_reward":%g,"eval/best":true}`+"\n", 128*i, float64(i))
		}
	}
	b.WriteString(extra)
	writeFile(t, filepath.Join(dir, ppo.MetricsFile), b.String())
}

// checkPNG decodes path and checks its size.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if cfg.Width != curves.Width || cfg.Height != curves.Height {
		t.Errorf("%s is %dx%d, want %dx%d", path, cfg.Width, cfg.Height, curves.Width, curves.Height)
	}
}

func TestPlot(t *testing.T) {
	inTempDir(t)
	for _, name := range []string{"seed1", "seed2", "seed3"} {
		writePlotRun(t, name, 6, "")
	}

	t.Run("one run: RUN/curves.png", func(t *testing.T) {
		a := newTestApp(t)
		if code := a.run("plot", "seed1"); code != exitOK {
			t.Fatalf("exit %d: %s", code, a.err.String())
		}
		out := filepath.Join("seed1", curves.FileName)
		checkPNG(t, out)
		if !strings.Contains(a.err.String(), "wrote "+out) || a.out.Len() != 0 {
			t.Errorf("stdout %q, stderr %q; want nothing and 'wrote %s'", a.out.String(), a.err.String(), out)
		}
	})

	t.Run("three runs: --out", func(t *testing.T) {
		a := newTestApp(t)
		if code := a.run("plot", "seed1", "seed2", filepath.Join("seed3", ppo.MetricsFile), "--out", "seeds.png"); code != exitOK {
			t.Fatalf("exit %d: %s", code, a.err.String())
		}
		checkPNG(t, "seeds.png")
	})

	t.Run("a torn and a corrupt line are warnings", func(t *testing.T) {
		writePlotRun(t, "torn", 3, "garbage\n"+`{"kind":"rollout","time/total_timesteps":512,"rollo`)
		a := newTestApp(t)
		if code := a.run("plot", "torn", "--out", "torn.png"); code != exitOK {
			t.Fatalf("exit %d: %s", code, a.err.String())
		}
		checkPNG(t, "torn.png")
		file := filepath.Join("torn", ppo.MetricsFile)
		for _, want := range []string{"warning: " + file + ":5: ", "warning: " + file + ":6: "} {
			if !strings.Contains(a.err.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, a.err.String())
			}
		}
	})

	t.Run("no metrics is exit 1 naming the file", func(t *testing.T) {
		if err := os.Mkdir("empty", 0o755); err != nil {
			t.Fatal(err)
		}
		a := newTestApp(t)
		if code := a.run("plot", "seed1", "empty", "--out", "x.png"); code != exitRuntime {
			t.Errorf("exit %d, want 1", code)
		}
		if want := filepath.Join("empty", ppo.MetricsFile); !strings.Contains(a.err.String(), want) {
			t.Errorf("stderr %q does not name %s", a.err.String(), want)
		}
		if _, err := os.Stat("x.png"); !os.IsNotExist(err) {
			t.Errorf("x.png written despite the error: %v", err)
		}
	})

	t.Run("no run is a usage error", func(t *testing.T) {
		a := newTestApp(t)
		if code := a.run("plot"); code != exitUsage {
			t.Errorf("exit %d, want 2", code)
		}
	})
}
