package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// TestTrainInitFrom: train --init-from starts a new run from a checkpoint with other
// settings and records where it started (config.yaml, metadata.json); a checkpoint of
// another phase or architecture is refused naming what differs (exit 2), a missing one is
// exit 4, and --init-from beside --base, or given to a resumed run, is a usage error.
func TestTrainInitFrom(t *testing.T) {
	inTempDir(t)
	writeFile(t, "tiny.yaml", tinyConfig)
	trainByHand(t, "a", "--market", "NQ")
	src := filepath.Join("a", ppo.FinalDir)

	trainByHand(t, "b", "--market", "NQ", "--init-from", src, "--seed", "2", "--timesteps", "128")
	cfg, err := os.ReadFile(filepath.Join("b", ppo.ConfigFile))
	if err != nil || !strings.Contains(string(cfg), "init_from: "+src+"\n") {
		t.Errorf("b/config.yaml does not record init_from %s:\n%s", src, cfg)
	}
	c, err := policy.ReadCheckpoint(filepath.Join("b", ppo.FinalDir))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(c.Meta.InitFrom)
	var rec ppo.InitRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.Dir != src || rec.Phase != 3 || rec.Timesteps != 256 || len(rec.ModelSHA256) != 64 {
		t.Errorf("b/final/metadata.json init_from = %s", data)
	}
	if c.Meta.Timesteps != 128 {
		t.Errorf("b/final at %d timesteps, want 128 (the counters start at 0)", c.Meta.Timesteps)
	}
	a := realApp(t)
	if code := a.run("inspect", filepath.Join("b", ppo.FinalDir)); code != exitOK || !strings.Contains(a.out.String(), "init from") ||
		!strings.Contains(a.out.String(), " "+src+" (phase 3, NQ, 256 timesteps; model sha256 "+rec.ModelSHA256[:12]+"...)") {
		t.Errorf("inspect: exit %d\n%s", code, a.out.String())
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{"phase", nil, []string{"--init-from", src, "--phase", "2"}, exitUsage, "is a Phase 3 checkpoint and this run is Phase 2"},
		{"architecture", map[string]string{"HYBRIDTRAIN_PI_LAYERS": "8"}, []string{"--init-from", src}, exitUsage, "pi_layers: init_from a/final has [16], this run asks for [8]"},
		{"missing", nil, []string{"--init-from", "nothing"}, exitCheckpoint, "init_from nothing"},
		{"with base", nil, []string{"--init-from", src, "--base", src}, exitUsage, "a run starts from one checkpoint"},
		{"on resume", nil, []string{"--resume", filepath.Join("b", ppo.FinalDir), "--init-from", src}, exitUsage, "init_from (from --init-from): a resumed run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			a := realApp(t)
			args := []string{"train", "--config", "tiny.yaml", "--market", "NQ", "--quiet"}
			if tc.name != "on resume" {
				args = append(args, "--out", "refused")
			}
			if code := a.run(append(args, tc.args...)...); code != tc.code || !strings.Contains(a.err.String(), tc.msg) {
				t.Errorf("%v: exit %d, want %d with %q:\n%s", tc.args, code, tc.code, tc.msg, a.err.String())
			}
			if _, err := os.Stat("refused"); err == nil {
				t.Error("a refused run left its directory")
			}
		})
	}
}
