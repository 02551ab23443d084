package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hybridtrain/configs"
	"hybridtrain/internal/env"
)

// splitSynth writes 6 synthetic ES sessions as bars/es_1.csv (the first 3) and
// bars/es_2.csv (the other 3), and returns the lines of the whole file.
func splitSynth(t *testing.T) []string {
	t.Helper()
	a := newTestApp(t)
	if code := a.run("data", "synth", "--market", "ES", "--sessions", "6", "--seed", "3"); code != exitOK {
		t.Fatalf("synth: exit %d: %s", code, a.err.String())
	}
	lines := strings.Split(strings.TrimSuffix(a.out.String(), "\n"), "\n")
	half := 1 + (len(lines)-1)/2 // the header, then 3 sessions of 510 bars
	if err := os.Mkdir("bars", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join("bars", "es_1.csv"), strings.Join(lines[:half], "\n")+"\n")
	writeFile(t, filepath.Join("bars", "es_2.csv"), strings.Join(append(lines[:1:1], lines[half:]...), "\n")+"\n")
	writeFile(t, "es.csv", strings.Join(lines, "\n")+"\n")
	return lines
}

// Several files, as arguments, a comma-separated list or a directory, describe the bars of
// the one file that holds them all.
func TestDataInfoSeveralFiles(t *testing.T) {
	inTempDir(t)
	splitSynth(t)
	info := func(args ...string) map[string]any {
		t.Helper()
		a := newTestApp(t)
		if code := a.run(append([]string{"data", "info", "--json"}, args...)...); code != exitOK {
			t.Fatalf("info %v: exit %d: %s", args, code, a.err.String())
		}
		var m map[string]any
		if err := json.Unmarshal(a.out.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	whole := info("es.csv")
	for _, args := range [][]string{
		{"bars/es_2.csv", "bars/es_1.csv"},
		{"bars/es_1.csv,bars/es_2.csv"},
		{"bars"},
	} {
		got := info(args...)
		for _, k := range []string{"symbol", "bars", "sessions", "first", "last", "train_sessions"} {
			if got[k] != whole[k] {
				t.Errorf("info %v: %s = %v, want %v (the whole file's)", args, k, got[k], whole[k])
			}
		}
		if want := strings.Join(args, ","); got["source"] != want {
			t.Errorf("info %v: source = %v, want %q", args, got["source"], want)
		}
	}
}

// Overlapping files are a data error naming both files and lines.
func TestDataValidateOverlap(t *testing.T) {
	inTempDir(t)
	lines := splitSynth(t)
	// es_3.csv repeats the last bar of es_1.csv (line 1531 of es_1.csv: 3 sessions of 510).
	writeFile(t, "es_3.csv", lines[0]+"\n"+lines[3*510]+"\n")
	for _, cmd := range []string{"validate", "info"} {
		a := newTestApp(t)
		code := a.run("data", cmd, "bars/es_1.csv", "es_3.csv")
		all := a.out.String() + a.err.String()
		want := "es_3.csv:2:1: files overlap in time: its first row, "
		if code != exitData || !strings.Contains(all, want) || !strings.Contains(all, "is the same as bars/es_1.csv:1531's") {
			t.Errorf("%s: exit %d, output\n%s\nwant 3 and %q naming bars/es_1.csv:1531", cmd, code, all, want)
		}
	}
}

// The data key takes a list from a flag (repeated or comma-separated), the environment and
// files; config.yaml writes it back as a list that loads to the same paths, and a single
// path as a plain string.
func TestDataKeyList(t *testing.T) {
	inTempDir(t)
	want := []string{"a.csv", "b.csv"}
	for _, tc := range []struct {
		name  string
		flags []string
		env   string
		file  string
	}{
		{name: "repeated flag", flags: []string{"--data", "a.csv", "--data", "b.csv"}},
		{name: "comma-separated flag", flags: []string{"--data", "a.csv, b.csv"}},
		{name: "environment", env: "a.csv,b.csv"},
		{name: "file list", file: "data: [a.csv, b.csv]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HYBRIDTRAIN_DATA", tc.env)
			req := configRequest{flags: trainFlags(t, tc.flags...)}
			if tc.file != "" {
				writeFile(t, "c.yaml", tc.file)
				req.configFile = "c.yaml"
			}
			res, err := loadSettings(configs.FS, req)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.settings.Data, want) {
				t.Fatalf("data = %q, want %q", res.settings.Data, want)
			}
			out, err := renderConfig(res.settings, renderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "data: [a.csv, b.csv]\n") {
				t.Errorf("config.yaml does not write data as a list:\n%s", out)
			}
			writeFile(t, "back.yaml", string(out))
			t.Setenv("HYBRIDTRAIN_DATA", "")
			back, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t), configFile: "back.yaml"})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(back.settings.Data, want) {
				t.Errorf("config.yaml loads back data = %q, want %q", back.settings.Data, want)
			}
		})
	}
	res, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t, "--data", "one.csv")})
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := renderConfig(res.settings, renderOptions{}); !strings.Contains(string(out), "data: one.csv\n") {
		t.Errorf("config.yaml writes one path other than as a string:\n%s", out)
	}
}

// The dataset of several files is named by the data key as given: what a checkpoint records
// and a resumed run compares.
func TestLoadDataSource(t *testing.T) {
	inTempDir(t)
	splitSynth(t)
	src, err := dataPaths([]string{"bars/es_2.csv", "bars/es_1.csv"})
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := env.BuiltinInstrument("ES")
	ds, err := loadData(src, inst, env.DefaultConfig(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Source != "bars/es_2.csv,bars/es_1.csv" || ds.Bars.Len() != 6*510 {
		t.Errorf("source %q with %d bars, want \"bars/es_2.csv,bars/es_1.csv\" with %d", ds.Source, ds.Bars.Len(), 6*510)
	}
	if src.stem() != "es_2+1" {
		t.Errorf("stem = %q, want es_2+1", src.stem())
	}
}
