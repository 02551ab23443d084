package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"hybridtrain/configs"
	"hybridtrain/internal/ppo"
)

// noStdin fails the test if anything reads it: non-interactive runs must never read stdin.
type noStdin struct{ t *testing.T }

func (r noStdin) Read([]byte) (int, error) {
	r.t.Helper()
	r.t.Error("stdin was read by a non-interactive run")
	return 0, io.EOF
}

// fakeTerminal says whether stdin and stderr are terminals.
type fakeTerminal struct{ stdin, stderr bool }

func (f fakeTerminal) StdinIsTerminal() bool  { return f.stdin }
func (f fakeTerminal) StderrIsTerminal() bool { return f.stderr }

// testApp is an app with in-memory streams, no terminal, CI unset, and a trainer that
// fails the test if it is called (tests that train replace it).
type testApp struct {
	*app
	out, err *bytes.Buffer
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	out, errb := &bytes.Buffer{}, &bytes.Buffer{}
	a := &app{
		stdin: noStdin{t}, stdout: out, stderr: errb,
		term:    fakeTerminal{},
		configs: configs.FS,
		now:     fixedNow,
		getenv:  func(string) string { return "" },
		checks:  defaultChecks(),
	}
	a.prompt = newLinePrompter(a.stdin, errb)
	a.train = func(context.Context, ppo.Setup, ppo.Recorder) (*ppo.Result, error) {
		t.Error("the trainer was called")
		return nil, ppo.ErrConfig
	}
	return &testApp{app: a, out: out, err: errb}
}

// run executes args and returns the exit code.
func (a *testApp) run(args ...string) int {
	return a.execute(context.Background(), args)
}

// inTempDir runs the test in a fresh working directory, so that ./hybridtrain.yaml,
// data/ and runs/ of the repository never leak in, and clears HYBRIDTRAIN_* variables.
func inTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, envPrefix) {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
