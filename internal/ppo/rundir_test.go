package ppo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestNewRunDirNamesAndSuffixes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "runs")
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("EST", -5*3600))
	want := []string{"phase3-NQ-20260304T100607Z", "phase3-NQ-20260304T100607Z-2", "phase3-NQ-20260304T100607Z-3"}
	for _, w := range want {
		dir, err := NewRunDir(root, "phase3", "NQ", now)
		if err != nil {
			t.Fatal(err)
		}
		if got := filepath.Base(dir); got != w {
			t.Errorf("run dir %q, want %q", got, w)
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			t.Errorf("run dir %s not created: %v", dir, err)
		}
	}
}

func TestCheckOutDir(t *testing.T) {
	tmp := t.TempDir()
	empty := filepath.Join(tmp, "empty")
	os.Mkdir(empty, 0o755)
	full := filepath.Join(tmp, "full")
	os.Mkdir(full, 0o755)
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct {
		name, dir string
		ok        bool
	}{
		{"missing is created", filepath.Join(tmp, "new", "run"), true},
		{"empty", empty, true},
		{"not empty", full, false},
		{"a file", file, false},
		{"blank", " ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOutDir(tc.dir)
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckOutDir(%s) = %v, want nil", tc.dir, err)
				}
				if st, err := os.Stat(tc.dir); err != nil || !st.IsDir() {
					t.Errorf("%s not a directory afterwards", tc.dir)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != "out" || !errors.Is(err, ErrConfig) {
				t.Fatalf("CheckOutDir(%s) = %v, want a *ConfigError for key out", tc.dir, err)
			}
		})
	}
}

func TestRunDirOf(t *testing.T) {
	for _, tc := range []struct{ ckpt, want string }{
		{"/r/run1/final", "/r/run1"},
		{"/r/run1/interrupted/", "/r/run1"},
		{"/r/run1/checkpoints/ts-000010240", "/r/run1"},
	} {
		if got := RunDirOf(tc.ckpt); got != tc.want {
			t.Errorf("RunDirOf(%s) = %s, want %s", tc.ckpt, got, tc.want)
		}
	}
}

func TestPruneCheckpointsKeepsNewest(t *testing.T) {
	dir := t.TempDir()
	for _, ts := range []int64{2048, 999_000, 4096, 1_000_000, 10240} {
		os.Mkdir(filepath.Join(dir, periodicName(ts)), 0o755)
	}
	if err := pruneCheckpoints(dir, 2); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{"ts-000999000", "ts-001000000"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("kept %v, want %v", got, want)
	}
}
