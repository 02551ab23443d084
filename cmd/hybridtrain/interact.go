package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/term"
)

// terminal tells whether the standard streams are attached to a terminal; the command line
// prompts only when both stdin and stderr are, and draws a progress bar only on a terminal
// stderr. Tests inject one.
type terminal interface {
	StdinIsTerminal() bool
	StderrIsTerminal() bool
}

// osTerminal asks the operating system about the process's streams.
type osTerminal struct{ stdin, stderr any }

func (t osTerminal) StdinIsTerminal() bool  { return isTerminal(t.stdin) }
func (t osTerminal) StderrIsTerminal() bool { return isTerminal(t.stderr) }

func isTerminal(stream any) bool {
	f, ok := stream.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// prompter asks the user questions on a terminal. A question ends with ctx's error when
// ctx ends while it waits (Ctrl-C at a prompt: exit 130).
type prompter interface {
	// Choose shows options (numbered from 1) and returns the index of the one chosen.
	Choose(ctx context.Context, question string, options []string) (int, error)
	// Confirm asks a yes/no question; an empty answer is yes.
	Confirm(ctx context.Context, question string) (bool, error)
}

// linePrompter reads answers line by line. It wraps stdin only when it first asks, so a
// run that never prompts never reads stdin.
type linePrompter struct {
	stdin   io.Reader
	in      *bufio.Reader
	pending chan lineRead // the read in progress, when a question was left unanswered
	out     io.Writer
}

// lineRead is one line read from stdin.
type lineRead struct {
	line string
	err  error
}

func newLinePrompter(stdin io.Reader, out io.Writer) *linePrompter {
	return &linePrompter{stdin: stdin, out: out}
}

// errNoAnswer is returned when stdin ends before an answer.
var errNoAnswer = errors.New("no answer (end of input)")

// readLine reads one answer, or returns ctx's error as soon as ctx ends: the read itself
// runs in a goroutine, since a read from a terminal cannot be interrupted (it is left
// pending, and a later question takes its line).
func (p *linePrompter) readLine(ctx context.Context) (string, error) {
	if p.in == nil {
		p.in = bufio.NewReader(p.stdin)
	}
	if p.pending == nil {
		ch := make(chan lineRead, 1)
		p.pending = ch
		go func() {
			line, err := p.in.ReadString('\n')
			ch <- lineRead{line, err}
		}()
	}
	var r lineRead
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case r = <-p.pending:
		p.pending = nil
	}
	line, err := r.line, r.err
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		if errors.Is(err, io.EOF) {
			return "", errNoAnswer
		}
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// maxAsks bounds how often a question is repeated after an answer it cannot use.
const maxAsks = 5

func (p *linePrompter) Choose(ctx context.Context, question string, options []string) (int, error) {
	fmt.Fprintln(p.out, question)
	for i, o := range options {
		fmt.Fprintf(p.out, "  %d) %s\n", i+1, o)
	}
	for range maxAsks {
		fmt.Fprintf(p.out, "choose 1-%d: ", len(options))
		ans, err := p.readLine(ctx)
		if err != nil {
			return 0, err
		}
		if n, err := strconv.Atoi(ans); err == nil && n >= 1 && n <= len(options) {
			return n - 1, nil
		}
		// A name works too: the first word of an option, case-insensitive.
		for i, o := range options {
			if first, _, _ := strings.Cut(o, " "); ans != "" && strings.EqualFold(first, ans) {
				return i, nil
			}
		}
		fmt.Fprintf(p.out, "%q is not one of the choices\n", ans)
	}
	return 0, fmt.Errorf("no valid choice after %d answers", maxAsks)
}

func (p *linePrompter) Confirm(ctx context.Context, question string) (bool, error) {
	for range maxAsks {
		fmt.Fprintf(p.out, "%s [Y/n] ", question)
		ans, err := p.readLine(ctx)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(ans) {
		case "", "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		fmt.Fprintln(p.out, "please answer y or n")
	}
	return false, fmt.Errorf("no valid answer after %d answers", maxAsks)
}

// interactive reports whether the command may prompt: stdin and stderr are terminals,
// --non-interactive was not given and CI is unset (empty counts as unset).
func (a *app) interactive(nonInteractive bool) bool {
	return !nonInteractive && a.getenv("CI") == "" && a.term.StdinIsTerminal() && a.term.StderrIsTerminal()
}
