package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// runTrialsParallel runs the trials n at a time, in index order, each in a child process of
// this binary (`hybridtrain sweep run FILE --index I`) with GOMAXPROCS set to this
// process's divided by n.
//
// Why processes and not goroutines: the CPU kernels (internal/gemm) size their worker pool
// from runtime.GOMAXPROCS, which is process-wide, so trials sharing a process could not each
// get their share of the CPUs; a process per trial can, and keeps a trial's memory and a
// crash to itself. A child runs exactly the path a cluster's pod runs (--index).
//
// A child sits in a process group of its own, so that a Ctrl-C at the terminal reaches this
// process alone, which passes it on to each child once: each finishes its update and saves
// interrupted/ (a child given two would exit without saving).
func (a *app) runTrialsParallel(ctx context.Context, ls *loadedSweep, n int) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("sweep: --parallel runs this binary again: %w", err)
	}
	n = min(n, len(ls.trials))
	procs := max(1, runtime.GOMAXPROCS(0)/n)
	fmt.Fprintf(a.stderr, "sweep %s: %d trials, %d at a time, each a process with GOMAXPROCS=%d\n", ls.file.Name, len(ls.trials), n, procs)
	stdout := &lockedWriter{w: a.stdout}
	errs := make([]error, len(ls.trials))
	jobs := make(chan sweepTrial)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for t := range jobs {
				errs[t.Index] = a.runChild(ctx, exe, ls.file.Path, t, procs, stdout)
			}
		})
	}
feed:
	for _, t := range ls.trials {
		select {
		case jobs <- t:
		case <-ctx.Done():
			break feed // the trials not started stay so; those running save interrupted/
		}
	}
	close(jobs)
	wg.Wait()
	var failed []string
	var first error
	interrupted := ctx.Err() != nil
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, ppo.ErrInterrupted):
			interrupted = true
		default:
			failed = append(failed, ls.trials[i].Name)
			if first == nil {
				first = err
			}
		}
	}
	if err := trialsFailed(len(ls.trials), failed, first); err != nil {
		return err
	}
	if interrupted {
		return fmt.Errorf("sweep: %w", ppo.ErrInterrupted)
	}
	return nil
}

// runChild runs trial t in a child process and returns its outcome as an error of the kind
// its exit status stands for (so that the sweep exits as the trial did). The child's stdout
// lines (each names the trial) pass through whole; its stderr lines carry [trial] in front.
func (a *app) runChild(ctx context.Context, exe, path string, t sweepTrial, procs int, stdout io.Writer) error {
	cmd := exec.CommandContext(ctx, exe, "sweep", "run", path, "--index", strconv.Itoa(t.Index))
	cmd.Env = childEnv(os.Environ(), procs)
	out := &lineWriter{w: stdout}
	errw := &lineWriter{w: a.stderr, prefix: "[" + t.Name + "] "}
	cmd.Stdout, cmd.Stderr = out, errw
	ownProcessGroup(cmd)
	cmd.Cancel = func() error { return interrupt(cmd.Process) }
	err := cmd.Run()
	out.flush()
	errw.flush()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		if err != nil {
			return fmt.Errorf("sweep: trial %s: %w", t.Name, err)
		}
		return nil
	}
	code := exit.ExitCode()
	switch code {
	case exitInterrupted:
		return fmt.Errorf("sweep: trial %s: %w", t.Name, ppo.ErrInterrupted)
	case exitUsage:
		return configErrorf("sweep: trial %s: exit %d (usage or configuration)", t.Name, code)
	case exitData:
		return dataErrorf("sweep: trial %s: exit %d (bar file)", t.Name, code)
	case exitCheckpoint:
		return fmt.Errorf("sweep: trial %s: exit %d: %w", t.Name, code, policy.ErrCheckpoint)
	}
	return fmt.Errorf("sweep: trial %s: exit %d", t.Name, code)
}

// childEnv is env for a trial's process: GOMAXPROCS set to procs, and no
// JOB_COMPLETION_INDEX (--index names the trial).
func childEnv(env []string, procs int) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name != "GOMAXPROCS" && name != jobIndexEnv {
			out = append(out, kv)
		}
	}
	return append(out, "GOMAXPROCS="+strconv.Itoa(procs))
}

// lineWriter writes whole lines to w, each with prefix in front, one Write per line, so
// that lines of several children never mix on a shared (locked) writer.
type lineWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if _, err := l.w.Write(append([]byte(l.prefix), l.buf[:i+1]...)); err != nil {
			return len(p), err
		}
		l.buf = l.buf[i+1:]
	}
}

// flush writes a last line that had no newline.
func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		_, _ = l.w.Write(append(append([]byte(l.prefix), l.buf...), '\n'))
		l.buf = nil
	}
}
