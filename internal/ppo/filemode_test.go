//go:build unix

package ppo

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestRunFileModes: under a umask of 022 the files of a run directory are 0644, as the
// checkpoints' are: config.yaml, metrics.jsonl and the event file after a fresh run, and
// config.yaml and metrics.jsonl again after a resume rewrote them (both were once created
// 0600).
func TestRunFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	spec := toySpec{kind: toyIdentity, nAct: 4, epLen: 50}
	c := toyConfig()
	c.TotalTimesteps = 512 // one rollout
	first := train(t, toySetup(t, spec, c))
	checkModes(t, "fresh run", first.RunDir, ConfigFile, MetricsFile, filepath.Join(FinalDir, "state.json"))
	events, _ := filepath.Glob(filepath.Join(first.RunDir, TensorBoardDir, "events.out.tfevents.*"))
	if len(events) != 1 {
		t.Fatalf("event files %v, want 1", events)
	}
	checkModes(t, "fresh run", first.RunDir, filepath.Join(TensorBoardDir, filepath.Base(events[0])))

	c.TotalTimesteps = 1024
	r := toySetup(t, spec, c)
	r.RunDir, r.ResumeDir = "", first.Final
	resumed := train(t, r)
	checkModes(t, "resumed run", resumed.RunDir, ConfigFile, MetricsFile, filepath.Join(FinalDir, "state.json"))
}

func checkModes(t *testing.T, what, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), fs.FileMode(0o644); got != want {
			t.Errorf("%s: %s has mode %v, want %v", what, n, got, want)
		}
	}
}
