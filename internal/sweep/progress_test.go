package sweep

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// fakeCheckpoint writes a checkpoint directory that holds only metadata.json with
// timesteps: all Inspect reads.
func fakeCheckpoint(t *testing.T, dir string, timesteps int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta := fmt.Sprintf(`{"schema_version": 1, "timesteps": %d}`, timesteps)
	if err := os.WriteFile(filepath.Join(dir, policy.MetadataFile), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInspectNext: what a trial does next from what its directory holds.
func TestInspectNext(t *testing.T) {
	const total = 256
	cases := []struct {
		name   string
		setup  func(t *testing.T, dir string)
		want   Step
		newest string // relative to the trial directory
	}{
		{"missing", nil, Start, ""},
		{"empty", func(t *testing.T, dir string) { os.Mkdir(dir, 0o755) }, Start, ""},
		{"killed before a checkpoint", func(t *testing.T, dir string) {
			os.Mkdir(dir, 0o755)
			touch(t, filepath.Join(dir, ppo.ConfigFile))
			touch(t, filepath.Join(dir, ppo.MetricsFile))
		}, Restart, ""},
		{"finished", func(t *testing.T, dir string) {
			fakeCheckpoint(t, filepath.Join(dir, ppo.FinalDir), 256)
			fakeCheckpoint(t, filepath.Join(dir, ppo.CheckpointsDir, "ts-000000128"), 128)
		}, Skip, ppo.FinalDir},
		{"interrupted after a periodic checkpoint", func(t *testing.T, dir string) {
			fakeCheckpoint(t, filepath.Join(dir, ppo.CheckpointsDir, "ts-000000128"), 128)
			fakeCheckpoint(t, filepath.Join(dir, ppo.InterruptedDir), 192)
			fakeCheckpoint(t, filepath.Join(dir, ppo.BestDir), 128)
		}, Resume, ppo.InterruptedDir},
		{"killed: the newest periodic", func(t *testing.T, dir string) {
			fakeCheckpoint(t, filepath.Join(dir, ppo.CheckpointsDir, "ts-000000064"), 64)
			fakeCheckpoint(t, filepath.Join(dir, ppo.CheckpointsDir, "ts-000000128"), 128)
			fakeCheckpoint(t, filepath.Join(dir, ppo.BestDir), 64)
			// An unfinished write is hidden and never a candidate.
			os.MkdirAll(filepath.Join(dir, ppo.CheckpointsDir, ".ts-000000192.tmp"), 0o755)
		}, Resume, filepath.Join(ppo.CheckpointsDir, "ts-000000128")},
		{"killed after the first evaluation: best/", func(t *testing.T, dir string) {
			fakeCheckpoint(t, filepath.Join(dir, ppo.BestDir), 64)
		}, Resume, ppo.BestDir},
		{"total_timesteps grew: resume final/", func(t *testing.T, dir string) {
			fakeCheckpoint(t, filepath.Join(dir, ppo.FinalDir), 128)
		}, Resume, ppo.FinalDir},
		{"a tie prefers interrupted/ to the periodic", func(t *testing.T, dir string) {
			fakeCheckpoint(t, filepath.Join(dir, ppo.CheckpointsDir, "ts-000000128"), 128)
			fakeCheckpoint(t, filepath.Join(dir, ppo.InterruptedDir), 128)
		}, Resume, ppo.InterruptedDir},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "000-NQ")
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			p, err := Inspect(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Next(total); got != tc.want {
				t.Errorf("next: got %v, want %v", got, tc.want)
			}
			newest := ""
			if p.Newest != nil {
				newest, _ = filepath.Rel(dir, p.Newest.Dir)
			}
			if newest != tc.newest {
				t.Errorf("newest: got %q, want %q", newest, tc.newest)
			}
		})
	}
}

func TestInspectBadCheckpoint(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, ppo.FinalDir), 0o755) // no metadata.json
	if _, err := Inspect(dir); !errors.Is(err, policy.ErrCheckpoint) {
		t.Errorf("got %v, want an error wrapping policy.ErrCheckpoint", err)
	}
}

// TestClear: a run that saved no checkpoint is cleared; a directory that is not a run's,
// or has a checkpoint, is left alone.
func TestClear(t *testing.T) {
	dir := t.TempDir()
	touch(t, filepath.Join(dir, ppo.ConfigFile))
	touch(t, filepath.Join(dir, ppo.MetricsFile))
	os.MkdirAll(filepath.Join(dir, ppo.CheckpointsDir, ".ts-000000128.tmp"), 0o755)
	if err := Clear(dir); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}

	other := t.TempDir()
	touch(t, filepath.Join(other, "notes.txt"))
	if err := Clear(other); err == nil {
		t.Error("cleared a directory without config.yaml")
	}
	if _, err := os.Stat(filepath.Join(other, "notes.txt")); err != nil {
		t.Error("deleted notes.txt")
	}

	withCkpt := t.TempDir()
	touch(t, filepath.Join(withCkpt, ppo.ConfigFile))
	fakeCheckpoint(t, filepath.Join(withCkpt, ppo.BestDir), 64)
	if err := Clear(withCkpt); err == nil {
		t.Error("cleared a run with a checkpoint")
	}
}
