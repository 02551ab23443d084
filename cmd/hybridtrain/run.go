package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"hybridtrain/internal/device"
	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// Exit codes (spec cli.md); exitCode is the only place that chooses one.
const (
	exitOK          = 0
	exitRuntime     = 1   // runtime failure, a failed `test` check, a declined confirmation
	exitUsage       = 2   // bad flag, argument, key or value; unknown market; --out not empty
	exitData        = 3   // bad or missing bar file
	exitCheckpoint  = 4   // missing, corrupt or incompatible checkpoint
	exitInterrupted = 130 // Ctrl-C
)

// run executes the command line args and returns the process exit code. It never panics:
// a panic in a command is reported as an internal error (exit 1) without a stack trace.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newApp(stdin, stdout, stderr).execute(ctx, args)
}

// execute runs args through the command tree and maps the outcome to an exit code.
func (a *app) execute(ctx context.Context, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(a.stderr, "hybridtrain: internal error: %v\n", r)
			code = exitRuntime
		}
	}()
	if _, ok := a.stderr.(*lockedWriter); !ok {
		// The interrupt notice writes from its own goroutine while the trainer's progress
		// is written; stdout is written by the command's goroutine alone.
		a.stderr = &lockedWriter{w: a.stderr}
	}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code = exitCode(err, a.started)
	switch {
	case errors.Is(err, errChecksFailed):
		// The FAIL lines on stdout already said which.
		fmt.Fprintf(a.stderr, "hybridtrain: %v\n", err)
	case code == exitInterrupted:
		fmt.Fprintln(a.stderr, "hybridtrain: interrupted")
	default:
		fmt.Fprintf(a.stderr, "hybridtrain: %v\n", err)
	}
	return code
}

// exitCode classifies err. started is false when cobra failed before any command ran
// (unknown command, wrong number of arguments): those are usage errors.
func exitCode(err error, started bool) int {
	var (
		cfgErr   *configError
		dataErr  *dataError
		parseErr *env.ParseError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, ppo.ErrInterrupted), errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &cfgErr), errors.Is(err, ppo.ErrConfig), errors.Is(err, device.ErrNotBuiltWithCUDA):
		return exitUsage
	case errors.As(err, &dataErr), errors.As(err, &parseErr), errors.Is(err, env.ErrTooFewBars):
		return exitData
	case errors.Is(err, policy.ErrCheckpoint):
		return exitCheckpoint
	case !started:
		return exitUsage
	}
	return exitRuntime
}

// dataError is a bad or missing bar file (exit code 3).
type dataError struct{ err error }

func (e *dataError) Error() string { return e.err.Error() }
func (e *dataError) Unwrap() error { return e.err }

func dataErrorf(format string, a ...any) error { return &dataError{fmt.Errorf(format, a...)} }

// errAborted is a declined confirmation (exit code 1).
var errAborted = errors.New("aborted")

// errChecksFailed is returned by `test` when a check failed (exit code 1).
var errChecksFailed = errors.New("test: checks failed")

// exitOnSecondInterrupt waits for the first interrupt (which cancels ctx: the trainer
// finishes its update and saves interrupted/), then restores the default handling and exits
// with 130 at once on a second one, without saving.
func exitOnSecondInterrupt(ctx context.Context, stop context.CancelFunc) {
	<-ctx.Done()
	stop()
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	<-again
	fmt.Fprintln(os.Stderr, "\nhybridtrain: interrupted twice: exiting without saving")
	os.Exit(exitInterrupted)
}
