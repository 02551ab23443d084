package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
)

// warn prints configuration warnings on stderr.
func (a *app) warn(warnings []string) {
	for _, w := range warnings {
		fmt.Fprintln(a.stderr, w)
	}
}

// printConfig prints the resolved configuration on stderr, each value not from the phase
// defaults marked with its layer.
func (a *app) printConfig(s *resolvedConfig) error {
	out, err := renderConfig(s, renderOptions{sources: true, invocation: true})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stderr, "# resolved configuration")
	_, err = a.stderr.Write(out)
	return err
}

// table writes aligned "name  value" rows.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer) *table { return &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)} }

func (t *table) row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }

func (t *table) flush() { _ = t.tw.Flush() }

// lockedWriter serialises writes: stderr is written by the trainer's recorder and by the
// interrupt notice, from different goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
