package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hybridtrain/internal/ppo"
)

// helperEnv makes the test binary act as hybridtrain with a trainer that waits for Ctrl-C
// (TestInterruptSignals starts it).
const helperEnv = "HT_TEST_SIGNAL_HELPER"

// asMainEnv makes the test binary act as hybridtrain itself: `sweep run --parallel` runs
// its trials as child processes of os.Executable(), which in a test is the test binary.
const asMainEnv = "HT_TEST_AS_MAIN"

// TestMain lets the test binary act as the signal helper process, or as hybridtrain.
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(signalHelper(mode))
	}
	if os.Getenv(asMainEnv) != "" {
		main()
	}
	os.Exit(m.Run())
}

// signalHelper is main() with the real signal handling and a trainer that prints "ready"
// and waits for the context: in mode "finishes" it then returns at once (the update
// finished, interrupted/ saved); in mode "hangs" it keeps running, as a long update would.
func signalHelper(mode string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go exitOnSecondInterrupt(ctx, stop)
	a := newApp(os.Stdin, os.Stdout, os.Stderr)
	a.train = func(ctx context.Context, s ppo.Setup, _ ppo.Recorder) (*ppo.Result, error) {
		fmt.Fprintln(os.Stderr, "ready")
		<-ctx.Done()
		if mode == "hangs" {
			time.Sleep(time.Minute)
		}
		return &ppo.Result{RunDir: s.RunDir, Interrupted: filepath.Join(s.RunDir, "interrupted"), Timesteps: 1024}, ppo.ErrInterrupted
	}
	return a.execute(ctx, []string{"train", "--market", "NQ", "--test", "--quiet", "--non-interactive", "--out", "run"})
}

// TestInterruptSignals sends real SIGINTs to a hybridtrain process: one finishes the update
// and exits 130 with the interrupted/ path; a second exits 130 at once.
func TestInterruptSignals(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		signals int
		stdout  string
	}{
		{"finishes", 1, "interrupted: run/interrupted (timesteps 1024)"},
		{"hangs", 2, ""},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), helperEnv+"="+tc.mode)
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait for the trainer to start, then press Ctrl-C.
			var errText bytes.Buffer
			buf := make([]byte, 4096)
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(errText.String(), "ready\n") && time.Now().Before(deadline) {
				n, err := stderr.Read(buf)
				errText.Write(buf[:n])
				if err != nil {
					break
				}
			}
			for i := range tc.signals {
				if i > 0 {
					time.Sleep(200 * time.Millisecond) // let the first one be handled
				}
				if err := cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan error, 1)
			go func() {
				rest := make([]byte, 1<<16)
				for {
					n, err := stderr.Read(rest)
					errText.Write(rest[:n])
					if err != nil {
						break
					}
				}
				done <- cmd.Wait()
			}()
			var waitErr error
			select {
			case waitErr = <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 20 s after Ctrl-C; stderr:\n%s", errText.String())
			}
			var exitErr *exec.ExitError
			if !errors.As(waitErr, &exitErr) || exitErr.ExitCode() != exitInterrupted {
				t.Fatalf("exit: %v, want code 130; stderr:\n%s", waitErr, errText.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tc.stdout)
			}
			if tc.signals == 2 && !strings.Contains(errText.String(), "interrupted twice") {
				t.Errorf("stderr:\n%s", errText.String())
			}
		})
	}
}
