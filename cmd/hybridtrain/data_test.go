package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestDataSynthValidateInfo(t *testing.T) {
	inTempDir(t)
	a := newTestApp(t)
	if code := a.run("data", "synth", "--market", "ES", "--sessions", "5", "--seed", "3", "--out", "es.csv"); code != exitOK {
		t.Fatalf("synth: exit %d: %s", code, a.err.String())
	}
	first, err := os.ReadFile("es.csv")
	if err != nil {
		t.Fatal(err)
	}
	// Same arguments, same bytes; stdout carries the same CSV.
	a = newTestApp(t)
	if code := a.run("data", "synth", "--market", "ES", "--sessions", "5", "--seed", "3"); code != exitOK {
		t.Fatalf("synth to stdout: exit %d: %s", code, a.err.String())
	}
	if a.out.String() != string(first) {
		t.Error("synth to stdout differs from synth --out")
	}
	a = newTestApp(t)
	a.run("data", "synth", "--market", "ES", "--sessions", "5", "--seed", "4")
	if a.out.String() == string(first) {
		t.Error("a different seed gave the same bars")
	}

	// The market comes from the file name (es.csv is ES).
	a = newTestApp(t)
	if code := a.run("data", "validate", "es.csv"); code != exitOK || !strings.Contains(a.out.String(), "es.csv: valid for ES") {
		t.Errorf("validate: exit %d, stdout %q, stderr %q", code, a.out.String(), a.err.String())
	}

	a = newTestApp(t)
	if code := a.run("data", "info", "es.csv", "--json"); code != exitOK {
		t.Fatalf("info: exit %d: %s", code, a.err.String())
	}
	var info map[string]any
	if err := json.Unmarshal(a.out.Bytes(), &info); err != nil {
		t.Fatalf("%v\n%s", err, a.out.String())
	}
	// 5 sessions at train_fraction 0.8: floor(0.8 x 5) = 4 train, 1 validation.
	if info["symbol"] != "ES" || info["sessions"] != float64(5) || info["train_sessions"] != float64(4) || info["validation_sessions"] != float64(1) {
		t.Errorf("info: %v", info)
	}
	a = newTestApp(t)
	if code := a.run("data", "info", "es.csv"); code != exitOK || !strings.Contains(a.out.String(), "sessions") || !strings.Contains(a.out.String(), "America/New_York") {
		t.Errorf("info table: exit %d\n%s", code, a.out.String())
	}
}

// TestDataValidateErrors: every error with its line and column, exit 3; after 100, "and N
// more".
func TestDataValidateErrors(t *testing.T) {
	inTempDir(t)
	writeFile(t, "bad.csv", `timestamp,open,high,low,close,volume
2024-03-08 09:30:00-05:00,100,101,99,100.5,10
2024-03-08 09:31:00-05:00,abc,101,99,100.5,10
2024-03-08 09:32:00-05:00,100,101,99,100.5,-1
`)
	a := newTestApp(t)
	code := a.run("data", "validate", "bad.csv", "--market", "NQ")
	if code != exitData {
		t.Errorf("exit %d, want 3; stderr %q", code, a.err.String())
	}
	// Line 3, column 2 is "abc" (open); line 4, column 6 is the volume -1.
	for _, w := range []string{"bad.csv:3:2:", "bad.csv:4:6:"} {
		if !strings.Contains(a.out.String(), w) {
			t.Errorf("stdout does not list %q:\n%s", w, a.out.String())
		}
	}
	if !strings.Contains(a.err.String(), "2 errors") {
		t.Errorf("stderr: %q", a.err.String())
	}

	var b strings.Builder
	b.WriteString("timestamp,open,high,low,close,volume\n")
	for i := range 105 {
		fmt.Fprintf(&b, "2024-03-08 %02d:%02d:00-05:00,x,101,99,100.5,10\n", 9+i/60, i%60)
	}
	writeFile(t, "many.csv", b.String())
	a = newTestApp(t)
	code = a.run("data", "validate", "many.csv")
	lines := strings.Split(strings.TrimSpace(a.out.String()), "\n")
	if code != exitData || len(lines) != 101 || lines[100] != "and 5 more errors" || !strings.Contains(a.err.String(), "105 errors") {
		t.Errorf("exit %d, %d lines, last %q, stderr %q; want 3, 101 lines ending \"and 5 more errors\"", code, len(lines), lines[len(lines)-1], a.err.String())
	}

	// A file with an error is a data error for info and train too.
	for _, args := range [][]string{{"data", "info", "bad.csv"}, {"train", "--market", "NQ", "--data", "bad.csv", "--quiet"}} {
		a = newTestApp(t)
		if code := a.run(args...); code != exitData || !strings.Contains(a.err.String(), "bad.csv:3:2") {
			t.Errorf("%v: exit %d, stderr %q; want 3 naming bad.csv:3:2", args, code, a.err.String())
		}
	}
}

func TestDeviceVersionCompletion(t *testing.T) {
	inTempDir(t)
	a := newTestApp(t)
	if code := a.run("device", "--json"); code != exitOK {
		t.Fatalf("device: exit %d", code)
	}
	var dev deviceReport
	if err := json.Unmarshal(a.out.Bytes(), &dev); err != nil {
		t.Fatal(err)
	}
	// This test runs in the default build: the CPU only, and auto means the CPU.
	if dev.Auto != "cpu" || dev.CUDABuild || len(dev.Available) != 1 || dev.Available[0] != "cpu" {
		t.Errorf("device: %+v", dev)
	}
	a = newTestApp(t)
	if code := a.run("device"); code != exitOK || a.out.String() != "cpu  (auto)\n" {
		t.Errorf("device: exit %d, stdout %q", code, a.out.String())
	}

	a = newTestApp(t)
	if code := a.run("version"); code != exitOK || !strings.Contains(a.out.String(), runtime.Version()) || !strings.Contains(a.out.String(), "build tags  none (CPU only, no CUDA)") {
		t.Errorf("version: exit %d, stdout %q", code, a.out.String())
	}
	a = newTestApp(t)
	var v map[string]any
	if code := a.run("version", "--json"); code != exitOK || json.Unmarshal(a.out.Bytes(), &v) != nil || v["cuda"] != false || v["go"] != runtime.Version() {
		t.Errorf("version --json: exit %d, %q", code, a.out.String())
	}

	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		a = newTestApp(t)
		if code := a.run("completion", shell); code != exitOK || !strings.Contains(a.out.String(), "hybridtrain") {
			t.Errorf("completion %s: exit %d", shell, code)
		}
	}
}
