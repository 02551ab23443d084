package curves

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"hybridtrain/internal/ppo"
)

// writeRun writes a run directory whose metrics.jsonl is content.
func writeRun(t *testing.T, name, content string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ppo.MetricsFile), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReadSkipsWhatItCannotUse(t *testing.T) {
	dir := writeRun(t, "run-a", strings.Join([]string{
		`{"kind":"rollout","time/total_timesteps":128,"train/approx_kl":0.01,"train/early_stop":false}`,
		`{"kind":"rollout","time/total_timesteps":256,"train/approx_kl":0.02}`,
		`not json`, // line 3
		`{"kind":"rollout","train/approx_kl":0.5}`, // line 4: no step
		``, // line 5
		`{"kind":"eval","time/total_timesteps":256,"eval/mean_reward":-1.5,"eval/best":true}`,
		`{"kind":"rollout","time/total_timesteps":384,"train/approx_kl":null,"train/value_loss":2}`, // line 7: a null value
		`{"kind":"rollout","time/total_timesteps":512,"train/appr`,                                  // line 8: torn
	}, "\n"))
	r, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, ppo.MetricsFile)
	if r.Name != "run-a" || r.File != file {
		t.Errorf("Name %q, File %q; want run-a and %s", r.Name, r.File, file)
	}
	want := map[string][]Point{
		"train/approx_kl":  {{128, 0.01}, {256, 0.02}},
		"eval/mean_reward": {{256, -1.5}},
		"train/value_loss": {{384, 2}},
	}
	if !reflect.DeepEqual(r.Series, want) {
		t.Errorf("Series = %v\nwant %v", r.Series, want)
	}
	var lines []int
	for _, s := range r.Skipped {
		if s.File != file || !strings.HasPrefix(s.Error(), file+":") {
			t.Errorf("skipped %q does not name %s", s.Error(), file)
		}
		lines = append(lines, s.Line)
	}
	if !reflect.DeepEqual(lines, []int{3, 4, 5, 7, 8}) {
		t.Errorf("skipped lines %v, want [3 4 5 7 8]", lines)
	}
	if last := r.Skipped[len(r.Skipped)-1].Error(); !strings.Contains(last, "cut short") {
		t.Errorf("the torn last line: %q, want it called cut short", last)
	}
}

func TestReadNoMetrics(t *testing.T) {
	empty := writeRun(t, "empty", "")
	garbage := writeRun(t, "garbage", "x\n{}\n")
	for _, tc := range []struct{ name, path, file string }{
		{"missing file", t.TempDir(), ppo.MetricsFile},
		{"empty file", empty, filepath.Join(empty, ppo.MetricsFile)},
		{"no usable line", filepath.Join(garbage, ppo.MetricsFile), filepath.Join(garbage, ppo.MetricsFile)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.path)
			if !errors.Is(err, ErrNoMetrics) || !strings.Contains(err.Error(), tc.file) {
				t.Errorf("Read(%s) = %v, want ErrNoMetrics naming %s", tc.path, err, tc.file)
			}
		})
	}
}
