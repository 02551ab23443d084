package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"hybridtrain/internal/env"
	"hybridtrain/internal/report"
)

// predict --stream: bars on stdin, one JSON line on stdout per bar as soon as it is read
// (report.Stream over env.Live).

// streamName names stdin in the errors of predict --stream.
const streamName = "stdin"

// streamLine is one line of stdin, or the error that ended reading it.
type streamLine struct {
	text string
	err  error // io.EOF at the end
}

func runPredictStream(ctx context.Context, a *app, opts *predictOptions) error {
	model, s, inst, err := predictSettings(a, opts)
	if err != nil {
		return err
	}
	st, err := report.NewStream(streamName, inst, s.Env, model)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	f := report.NewRowFormat(inst)

	// Lines are read on their own goroutine so that a signal is seen while stdin is
	// quiet: the command then exits at once, with no line half done.
	lines := make(chan streamLine)
	done := make(chan struct{})
	defer close(done)
	go readLines(a.stdin, lines, done)
	next := func() (streamLine, error) {
		select {
		case <-ctx.Done():
			return streamLine{}, ctx.Err()
		case l := <-lines:
			return l, nil
		}
	}

	first, err := next()
	switch {
	case err != nil:
		return err
	case first.err == io.EOF:
		return &env.ParseError{File: streamName, Err: fmt.Errorf("%w: empty input (want a header line, then bars)", env.ErrEmpty)}
	case first.err != nil:
		return dataErrorf("predict: %s: line 1: %v", streamName, first.err)
	}
	if err := st.Header(first.text); err != nil {
		return err // a *env.ParseError: exit 3
	}
	for n := 2; ; n++ {
		l, err := next()
		if err != nil {
			return err
		}
		if l.err == io.EOF {
			break
		}
		if l.err != nil {
			return dataErrorf("predict: %s: line %d: %v", streamName, n, l.err)
		}
		out, err := streamOutput(st, f, l.text)
		if err != nil {
			return fmt.Errorf("predict: %w", err)
		}
		if out != nil {
			// One write per line, straight to stdout: nothing waits in a buffer for the
			// next bar.
			if _, err := a.stdout.Write(out); err != nil {
				return fmt.Errorf("predict: stdout: %w", err)
			}
		}
		if err := ctx.Err(); err != nil {
			return err // interrupted: the line was answered, exit 130
		}
	}
	for _, w := range st.Warnings() {
		fmt.Fprintln(a.stderr, w)
	}
	return nil
}

// streamOutput reads one line into the stream and returns its output line: the row, an
// error object for a bad line, nothing for a blank line. An error is one the stream cannot
// go on after.
func streamOutput(st *report.Stream, f report.RowFormat, text string) ([]byte, error) {
	row, ok, err := st.Line(text)
	var pe *env.ParseError
	switch {
	case errors.As(err, &pe):
		b, err := json.Marshal(struct {
			Error string `json:"error"`
			Line  int    `json:"line"`
		}{pe.Error(), row.Line})
		return append(b, '\n'), err
	case err != nil:
		return nil, err
	case !ok:
		return nil, nil
	}
	b, err := f.JSON(row)
	return append(b, '\n'), err
}

// maxStreamLine bounds one line of --stream's input (a bar is well under 1 KB).
const maxStreamLine = 1 << 20

// readLines sends the lines of r (without their line ends) until the end of r, then the
// error that ended it (io.EOF at the end); it stops early when done is closed.
func readLines(r io.Reader, lines chan<- streamLine, done <-chan struct{}) {
	send := func(l streamLine) bool {
		select {
		case lines <- l:
			return true
		case <-done:
			return false
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxStreamLine)
	for sc.Scan() {
		if !send(streamLine{text: strings.TrimSuffix(sc.Text(), "\r")}) {
			return
		}
	}
	err := sc.Err()
	if errors.Is(err, bufio.ErrTooLong) {
		err = fmt.Errorf("longer than %d bytes", maxStreamLine)
	} else if err == nil {
		err = io.EOF
	}
	send(streamLine{err: err})
}
