package sweep

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"hybridtrain/internal/atomicfile"
	"hybridtrain/internal/report"
)

// Names of the leaderboard's files in the sweep's out directory.
const (
	ReportJSON     = "report.json"
	ReportMarkdown = "report.md"
	ReportPlot     = "report.png"
)

// WriteFiles writes report.json, report.md and report.png into dir and returns their paths.
func (l *Leaderboard) WriteFiles(dir string) ([]string, error) {
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{ReportJSON, l.WriteJSON},
		{ReportMarkdown, l.WriteMarkdown},
		{ReportPlot, l.WritePlot},
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := atomicfile.WriteFunc(p, atomicfile.Perm, f.write); err != nil {
			return paths, fmt.Errorf("sweep: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// WriteJSON writes the leaderboard as report.json holds it.
func (l *Leaderboard) WriteJSON(w io.Writer) error { return writeJSON(w, l) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("sweep: json: %w", err)
	}
	return nil
}

// header is the table's header: rank, trial, the grid's keys, then the results.
func (l *Leaderboard) header() []string {
	h := []string{"rank", "trial"}
	h = append(h, l.Grid...)
	return append(h, "status", "timesteps", "mean reward", "net P&L", "Sharpe", "max drawdown", "Apex", "wall time")
}

// cells are a row's values in header order.
func (l *Leaderboard) cells(r Row) []string {
	rank := "-"
	if r.Rank > 0 {
		rank = strconv.Itoa(r.Rank)
	}
	c := []string{rank, r.Trial}
	for _, k := range l.Grid {
		c = append(c, formatValue(r.Values[k]))
	}
	verdict := r.Verdict
	if verdict == "" {
		verdict = "-"
	}
	wall := "-"
	if d := time.Duration(r.WallTime * float64(time.Second)); d >= time.Minute {
		wall = d.Round(time.Second).String()
	} else if d > 0 {
		wall = d.Round(100 * time.Millisecond).String()
	}
	return append(c, r.Status, fmt.Sprintf("%d/%d", r.Timesteps, r.TotalTimesteps),
		num(r.MeanReward, 4), num(r.NetPnL, 2), num(r.Sharpe, 2), num(r.MaxDrawdown, 2), verdict, wall)
}

// num writes a metric for the tables: "-" when undefined, inf or -inf, else with prec decimals.
func num(f report.Float, prec int) string {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return "-"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// WriteText writes the leaderboard as an aligned table, for a terminal.
func (l *Leaderboard) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(l.header(), "\t"))
	for _, r := range l.Rows {
		fmt.Fprintln(tw, strings.Join(l.cells(r), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}

// WriteMarkdown writes report.md: what the leaderboard ranks by, its table, and why each
// evaluated trial passed or failed.
func (l *Leaderboard) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Sweep %s\n\n", l.Sweep)
	m, _ := lookupMetric(l.Metric)
	fmt.Fprintf(&b, "%d trials in `%s`, ranked by `%s`: %s. Trials without a value for it follow, unranked, in index order.\n\n",
		len(l.Rows), l.Dir, m.Name, m.Doc)
	b.WriteString("Each finished trial was evaluated from its `final/` checkpoint on the validation split: the mean reward over every " +
		"validation session, and the report's backtest of those sessions as one account under the Apex rules (net P&L, Sharpe, max drawdown, verdict).\n\n")
	h := l.header()
	b.WriteString("| " + strings.Join(h, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(h)) + "\n")
	for _, r := range l.Rows {
		cells := l.cells(r)
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	var reasons []string
	for _, r := range l.Rows {
		if r.Verdict != "" {
			reasons = append(reasons, fmt.Sprintf("- %s: %s. %s", r.Trial, r.Verdict, r.VerdictReason))
		}
	}
	if len(reasons) > 0 {
		b.WriteString("\n## Apex verdicts\n\n" + strings.Join(reasons, "\n") + "\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}
