package main

import (
	"context"
	"io"
	"io/fs"
	"os"
	"time"

	"hybridtrain/configs"
	"hybridtrain/internal/ppo"
)

// app holds what the commands share: the standard streams, the terminal and prompter,
// the embedded configuration layers and the seams tests replace. It is a plain struct of
// resolved dependencies, built once per run.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	term           terminal
	prompt         prompter
	configs        fs.FS            // configs/*.yaml
	now            func() time.Time // wall clock (run directory names)
	getenv         func(string) string

	// train runs the trainer; tests may substitute it.
	train func(ctx context.Context, s ppo.Setup, rec ppo.Recorder) (*ppo.Result, error)
	// checks are the `test` command's checks, in order; tests may substitute them.
	checks []smokeCheck

	// started is set once a command's RunE begins: an error before that is cobra's (an
	// unknown command or a wrong number of arguments), a usage error.
	started bool
}

// newApp returns the app of a real process.
func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{
		stdin: stdin, stdout: stdout, stderr: stderr,
		term:    osTerminal{stdin: stdin, stderr: stderr},
		prompt:  newLinePrompter(stdin, stderr),
		configs: configs.FS,
		now:     time.Now,
		getenv:  os.Getenv,
		train:   ppo.Train,
		checks:  defaultChecks(),
	}
}
