package walkforward

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"hybridtrain/internal/atomicfile"
	"hybridtrain/internal/report"
)

// File names of a summary in the walk-forward's directory: the names eval gives a report's
// files, which these mirror for the walk-forward as a whole.
const (
	JSONFile     = "report.json"
	MarkdownFile = "report.md"
	EquityFile   = "equity.csv"
	PlotFile     = "equity.png"
)

// Files are the paths WriteFiles wrote, in writing order.
type Files struct {
	JSON, Markdown, Equity, Plot string
}

// List returns the paths in writing order.
func (f Files) List() []string { return []string{f.JSON, f.Markdown, f.Equity, f.Plot} }

// WriteFiles writes report.json, report.md, equity.csv and equity.png into dir, each
// rendered in memory and written atomically (atomicfile), replacing an earlier summary's.
func (s *Summary) WriteFiles(dir string) (Files, error) {
	f := Files{
		JSON: filepath.Join(dir, JSONFile), Markdown: filepath.Join(dir, MarkdownFile),
		Equity: filepath.Join(dir, EquityFile), Plot: filepath.Join(dir, PlotFile),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("walkforward: %w", err)
	}
	for _, w := range []struct {
		path  string
		write func(io.Writer) error
	}{{f.JSON, s.WriteJSON}, {f.Markdown, s.WriteMarkdown}, {f.Equity, s.WriteEquityCSV}, {f.Plot, s.WritePlot}} {
		var buf bytes.Buffer
		if err := w.write(&buf); err != nil {
			return Files{}, err
		}
		if err := atomicfile.Write(w.path, buf.Bytes(), atomicfile.Perm); err != nil {
			return Files{}, fmt.Errorf("walkforward: %w", err)
		}
	}
	return f, nil
}

// WriteJSON writes report.json: the Summary, indented by two spaces.
func (s *Summary) WriteJSON(w io.Writer) error {
	var b bytes.Buffer
	if err := writeJSON(&b, s); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// tableHeader and tableRows are the per-fold table of the command's output and report.md:
// one row per fold, then the stitched out-of-sample row.
var tableHeader = []string{"fold", "trained on", "tested on", "net P&L ($)", "Sharpe", "max drawdown ($)", "Apex", "trades"}

func (s *Summary) tableRows() [][]string {
	rows := make([][]string, 0, len(s.Folds)+1)
	for _, f := range s.Folds {
		verdict := "FAIL"
		if f.Verdict.Passed {
			verdict = "PASS"
		}
		rows = append(rows, []string{f.Name, f.Train.String(), f.Test.String(), money(f.Metrics.NetPnL),
			ratio(f.Metrics.Sharpe), money(f.Metrics.MaxDrawdown), verdict, strconv.Itoa(f.Metrics.Trades)})
	}
	o := &s.OutOfSample
	rows = append(rows, []string{"out of sample", "", fmt.Sprintf("%s..%s (%d sessions)", o.First, o.Last, o.Sessions),
		money(o.Metrics.NetPnL), ratio(o.Metrics.Sharpe), money(o.Metrics.MaxDrawdown),
		fmt.Sprintf("%d of %d passed", o.Passed, len(s.Folds)), strconv.Itoa(o.Metrics.Trades)})
	return rows
}

// WriteTable writes the per-fold table as aligned plain text, what the command prints.
func (s *Summary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(tableHeader, "\t"))
	for _, row := range s.tableRows() {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// WriteMarkdown writes report.md: the plan, the per-fold table, each fold's verdict and
// test report, and how the out-of-sample row is computed.
func (s *Summary) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	window := "every block before its test block (an expanding window)"
	if s.Window > 0 {
		window = fmt.Sprintf("the last %d blocks before its test block (a rolling window)", s.Window)
	}
	p("# Walk-forward: %d folds\n\n", len(s.Folds))
	p("- Data: `%s`, cut into %d blocks of consecutive sessions:\n", s.Data, len(s.Blocks))
	for i, bl := range s.Blocks {
		p("  - block %d: %s\n", i, bl)
	}
	p("- Each fold is an ordinary training run on %s, of which train_fraction train and the rest validate; its final checkpoint is tested on the next block under the Apex %s plan.\n", window, s.apexPlan)
	p("- Out of sample: the test blocks' accounts stitched end to end, %s to %s.\n\n", s.OutOfSample.First, s.OutOfSample.Last)
	b.WriteString("| " + strings.Join(tableHeader, " | ") + " |\n|")
	for i := range tableHeader {
		if i < 3 {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteByte('\n')
	for _, row := range s.tableRows() {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	p("\n## Folds\n\n")
	for _, f := range s.Folds {
		p("- %s (`%s`, %d timesteps): %s. Report: `%s`.\n", f.Name, f.Checkpoint, f.Timesteps, f.Verdict.Reason, f.ReportDir)
	}
	p("\n## Definitions\n\n")
	p("- Each fold's columns are its test report's policy column (docs/report.md): one continuous account over the test block, starting at the plan's start balance.\n")
	p("- Out of sample: the folds' accounts joined in order, each shifted by the P&L of the folds before it; net P&L is their sum, Sharpe covers every test session, max drawdown runs across fold boundaries. Apex verdicts are per fold.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteEquityCSV writes equity.csv: one line per bar of every test block, in order: the
// bar's open time (RFC 3339, exchange zone), the fold, the out-of-sample equity (stitched)
// and the equity of the fold's own account (its report's equity.csv).
func (s *Summary) WriteEquityCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"time", "fold", "equity", "fold_equity"}); err != nil {
		return fmt.Errorf("walkforward: equity: %w", err)
	}
	k := 0
	for i, b := range s.stitched.Bars {
		for k+1 < len(s.foldStart) && i >= s.foldStart[k+1] {
			k++
		}
		rec := []string{time.Unix(b.Time, 0).In(s.zone).Format(time.RFC3339), s.Folds[k].Name, money(b.Equity), money(s.foldEq[i])}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("walkforward: equity: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("walkforward: equity: %w", err)
	}
	return nil
}

// money formats dollars with 2 decimals (and no "-0.00").
func money(x float64) string {
	s := strconv.FormatFloat(x, 'f', 2, 64)
	if s == "-0.00" {
		return "0.00"
	}
	return s
}

// ratio formats a metric that may be undefined (n/a) or infinite.
func ratio(f report.Float) string {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return "n/a"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}
