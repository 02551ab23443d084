package curves_test

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"

	"hybridtrain/internal/curves"
)

// Example reads a run's metrics.jsonl, whose last line a crash cut short, and draws it.
func Example() {
	dir, err := os.MkdirTemp("", "run")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	metrics := `{"kind":"rollout","time/total_timesteps":2048,"rollout/ep_rew_mean":-3.5,"train/approx_kl":0.012}
{"kind":"rollout","time/total_timesteps":4096,"rollout/ep_rew_mean":-1.25,"train/approx_kl":0.009}
{"kind":"rollout","time/total_timesteps":6144,"rollout/ep_r`
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(metrics), 0o644); err != nil {
		fmt.Println(err)
		return
	}

	run, err := curves.Read(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("rollout/ep_rew_mean:", run.Series["rollout/ep_rew_mean"])
	for _, s := range run.Skipped {
		fmt.Println("skipped line", s.Line)
	}
	var pic bytes.Buffer
	if err := curves.WritePNG(&pic, []*curves.Run{run}); err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := png.DecodeConfig(&pic)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %dx%d pixels\n", curves.FileName, cfg.Width, cfg.Height)
	// Output:
	// rollout/ep_rew_mean: [{2048 -3.5} {4096 -1.25}]
	// skipped line 3
	// curves.png: 1600x1800 pixels
}
