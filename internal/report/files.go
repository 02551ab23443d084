package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
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
)

// File names inside the output directory.
const (
	JSONFile     = "report.json"
	MarkdownFile = "report.md"
	TradesFile   = "trades.csv"
	EquityFile   = "equity.csv"
	PlotFile     = "equity.png"
)

// Files are the paths WriteFiles wrote, in the order it wrote them.
type Files struct {
	JSON, Markdown, Trades, Equity, Plot string
}

// List returns the paths in writing order.
func (f Files) List() []string { return []string{f.JSON, f.Markdown, f.Trades, f.Equity, f.Plot} }

// WriteFiles creates dir (and its parents) when missing and writes report.json, report.md,
// trades.csv, equity.csv and equity.png into it. Each file is rendered in memory and
// written with atomicfile (mode 0644, fsynced, renamed into place), so a reader never sees
// half a file; files of an earlier report in dir are replaced.
func (r *Report) WriteFiles(dir string) (Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("report: %w", err)
	}
	f := Files{
		JSON: filepath.Join(dir, JSONFile), Markdown: filepath.Join(dir, MarkdownFile),
		Trades: filepath.Join(dir, TradesFile), Equity: filepath.Join(dir, EquityFile), Plot: filepath.Join(dir, PlotFile),
	}
	writers := []struct {
		path  string
		write func(io.Writer) error
	}{
		{f.JSON, r.WriteJSON}, {f.Markdown, r.WriteMarkdown}, {f.Trades, r.WriteTradesCSV},
		{f.Equity, r.WriteEquityCSV}, {f.Plot, r.WritePlot},
	}
	for _, w := range writers {
		var buf bytes.Buffer
		if err := w.write(&buf); err != nil {
			return Files{}, err
		}
		if err := atomicfile.Write(w.path, buf.Bytes(), atomicfile.Perm); err != nil {
			return Files{}, fmt.Errorf("report: %w", err)
		}
	}
	return f, nil
}

// WriteJSON writes report.json: the Report, indented by two spaces, with a final newline.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// tradesHeader is trades.csv's first line.
var tradesHeader = []string{
	"entry_time", "exit_time", "side", "contracts", "entry_price", "exit_price", "exit_reason",
	"ticks", "gross_pnl", "commission", "net_pnl",
}

// WriteTradesCSV writes trades.csv: one line per closed trade of the policy, times RFC 3339
// in the exchange's zone (the fill bar's and the exit bar's open), side long or short,
// prices with the tick's decimals, dollars with 2 decimals.
func (r *Report) WriteTradesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(tradesHeader); err != nil {
		return fmt.Errorf("report: trades: %w", err)
	}
	prec := tickDecimals(r.Rules.TickSize)
	for _, t := range r.account.Trades {
		side := "long"
		if t.Side < 0 {
			side = "short"
		}
		rec := []string{
			r.timeString(t.EntryTime), r.timeString(t.ExitTime), side, strconv.Itoa(t.Contracts),
			strconv.FormatFloat(t.EntryPrice, 'f', prec, 64), strconv.FormatFloat(t.ExitPrice, 'f', prec, 64),
			t.Exit.String(), strconv.Itoa(t.Ticks), money(t.Gross), money(t.Commission), money(t.Net),
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("report: trades: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: trades: %w", err)
	}
	return nil
}

// WriteEquityCSV writes equity.csv: one line per bar stepped by the policy: the bar's open
// time (RFC 3339, exchange zone), the equity marked at its close, the trailing threshold
// and the signed position in contracts after the step, all after the bar was processed.
func (r *Report) WriteEquityCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"time", "equity", "threshold", "position"}); err != nil {
		return fmt.Errorf("report: equity: %w", err)
	}
	for _, b := range r.account.Bars {
		if err := cw.Write([]string{r.timeString(b.Time), money(b.Equity), money(b.Threshold), strconv.Itoa(b.Position)}); err != nil {
			return fmt.Errorf("report: equity: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: equity: %w", err)
	}
	return nil
}

func (r *Report) timeString(unix int64) string {
	return time.Unix(unix, 0).In(r.zone).Format(time.RFC3339)
}

// money formats dollars with 2 decimals (and no "-0.00").
func money(x float64) string {
	s := strconv.FormatFloat(x, 'f', 2, 64)
	if s == "-0.00" {
		return "0.00"
	}
	return s
}

// tickDecimals is the number of decimals that prices on the tick grid need (0.25: 2,
// 0.1: 1, 1: 0).
func tickDecimals(tick float64) int {
	for d := range 10 {
		x := tick * math.Pow10(d)
		if math.Abs(x-math.Round(x)) < 1e-9 {
			return d
		}
	}
	return 10
}

// column is one policy's column in the side-by-side tables: its name, its cells of the
// verdict table (in verdictLabels order) and how it prints a metric.
type column struct {
	name    string
	verdict []string
	metric  func(f metricField) string
}

// verdictLabels are the verdict table's rows.
var verdictLabels = []string{
	"Verdict", "Target reached", "Breach", "Trading days", "Flatten violations", "Max contracts used", "Masked actions",
}

// columns returns the policy, the checkpoints it is compared with and, when they ran, the
// baselines.
func (r *Report) columns() []column {
	cols := []column{resultColumn("policy", &r.Policy)}
	for i := range r.Comparisons {
		c := &r.Comparisons[i]
		cols = append(cols, resultColumn(c.Model.Dir, &c.Result))
	}
	if b := r.Baselines; b != nil {
		cols = append(cols, resultColumn("flat", &b.Flat), randomColumn(&b.Random), resultColumn("buy-and-hold", &b.BuyAndHold))
	}
	return cols
}

// resultColumn is the column of one backtest.
func resultColumn(name string, res *Result) column {
	v := &res.Verdict
	target, breach := "no", "-"
	if v.TargetReached {
		target = "yes, " + v.TargetDate
	}
	if v.Breached {
		breach = v.BreachTime
	}
	return column{
		name: name,
		verdict: []string{
			v.verdictWord(), target, breach,
			fmt.Sprintf("%d (min %d)", v.TradingDays, v.MinTradingDays),
			strconv.Itoa(v.FlattenViolations),
			fmt.Sprintf("%d (plan max %d)", v.MaxContractsUsed, v.PlanMaxContracts),
			strconv.FormatInt(res.MaskedActions, 10),
		},
		metric: func(f metricField) string { return f.get(&res.Metrics).format(f.prec) },
	}
}

// randomColumn summarises the random baseline's runs: counts of runs in the verdict table,
// mean ± sample std in the metrics table.
func randomColumn(rb *RandomResult) column {
	n := len(rb.Runs)
	runs := func(k int) string { return fmt.Sprintf("%d of %d runs", k, n) }
	var targets, days, flatten, contracts int
	for i := range rb.Runs {
		v := &rb.Runs[i].Verdict
		if v.TargetReached {
			targets++
		}
		days += v.TradingDays
		flatten += v.FlattenViolations
		contracts = max(contracts, v.MaxContractsUsed)
	}
	return column{
		name: fmt.Sprintf("random (%d seeds, mean ± std)", n),
		verdict: []string{
			"passed " + runs(rb.Passed), runs(targets), runs(rb.Breached),
			fmt.Sprintf("%.1f on average", float64(days)/float64(max(n, 1))),
			strconv.Itoa(flatten), strconv.Itoa(contracts), strconv.FormatInt(rb.MaskedActions, 10),
		},
		metric: func(f metricField) string {
			m, s := rb.Mean[f.key], rb.Std[f.key]
			if !s.Defined() {
				return m.format(f.prec)
			}
			return m.format(f.prec) + " ± " + s.format(f.prec)
		},
	}
}

// verdictRows are the verdict table's rows: a label, then one cell per column.
func (r *Report) verdictRows() [][]string {
	cols := r.columns()
	rows := make([][]string, len(verdictLabels))
	for i, label := range verdictLabels {
		rows[i] = []string{label}
		for _, c := range cols {
			rows[i] = append(rows[i], c.verdict[i])
		}
	}
	return rows
}

// metricRows are the metrics table's rows.
func (r *Report) metricRows() [][]string {
	cols := r.columns()
	rows := make([][]string, 0, len(metricFields))
	for _, f := range metricFields {
		row := []string{f.label}
		for _, c := range cols {
			row = append(row, c.metric(f))
		}
		rows = append(rows, row)
	}
	return rows
}

// header returns the tables' header: the label column and one per policy.
func (r *Report) header(first string) []string {
	h := []string{first}
	for _, c := range r.columns() {
		h = append(h, c.name)
	}
	return h
}

// WriteMarkdown writes report.md: what was evaluated, the verdict table and the metrics
// table side by side with the baselines, the policy's best and worst days, the definitions.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	ru := r.Rules
	p("# Evaluation report: %s phase %d, %d timesteps\n\n", r.Model.Market, r.Model.Phase, r.Model.Timesteps)
	p("**%s** — %s\n\n", r.Policy.Verdict.verdictWord(), r.Policy.Verdict.Reason)
	p("- Model: `%s` (seed %d, %d observations)\n", r.Model.Dir, r.Model.Seed, r.Model.ObsDim)
	p("- Data: `%s`, %s split: %d sessions (%s to %s), %d bars stepped\n",
		r.Data.Source, r.Data.Split, r.Data.Sessions, r.Data.First, r.Data.Last, r.Data.Bars)
	p("- Rules: %s, plan %s (start %s, trailing %s, target %s, at most %d contracts), %s mode, at least %d trading days\n",
		ru.RuleSet, ru.Plan, dollars(ru.StartBalance), dollars(ru.TrailingAmount), dollars(ru.ProfitTarget),
		ru.MaxContracts, ru.ApexMode, ru.MinTradingDays)
	p("- Execution: %s, %d contract(s) per entry (buy-and-hold: 1), tick %g = %s, commission %s per side, slippage %d tick(s); entries %s to %d minutes before the %s flatten (%s)\n",
		ru.Symbol, ru.Contracts, ru.TickSize, dollars(ru.TickValue), dollars(ru.CommissionPerSide), ru.SlippageTicks,
		ru.EntryStart, ru.NoEntryMinutes, ru.FlattenTime, ru.Zone)
	p("- One continuous account over every session; the first breach decides the verdict and trading continues from the breached equity.\n\n")

	p("## Apex verdict\n\n")
	mdTable(&b, r.header(""), r.verdictRows())
	p("\n## Metrics\n\n")
	mdTable(&b, r.header("Metric"), r.metricRows())
	if bd, wd := r.Policy.Metrics.BestDay, r.Policy.Metrics.WorstDay; bd != nil {
		p("\nPolicy's best day: %s (%s); worst day: %s (%s).\n", bd.Date, dollars(bd.PnL), wd.Date, dollars(wd.PnL))
	}
	if len(r.Comparisons) > 0 {
		p("\n## Against other checkpoints\n\n")
		for i := range r.Comparisons {
			p("- %s.\n", versusSentence(&r.Comparisons[i]))
		}
		p("\n")
		mdTable(&b, r.versusHeader(), r.versusRows())
	}
	p("\n## Definitions\n\n")
	for _, d := range definitions {
		p("- %s\n", d)
	}
	if len(r.Comparisons) > 0 {
		p("- %s\n", r.compareDefinition())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// definitions are report.md's footnotes (docs/report.md says the same at length).
var definitions = []string{
	"Daily P&L: session-end equity minus the previous session's (the start balance before the first); daily return r = daily P&L / start balance.",
	"Sharpe = sqrt(252) x mean(r) / std(r), std the sample standard deviation (n-1). Sortino = sqrt(252) x mean(r) / sqrt(sum(min(r, 0)^2) / n). Both need 2 days.",
	"Annualised return = return % x 252 / days (simple). Calmar = annualised return % / max drawdown %.",
	"Max drawdown: largest fall of bar-close equity from its running peak (start balance included), in $ and in % of that peak. Longest drawdown: most consecutive sessions ending below the best earlier session-end equity.",
	"Win: a trade with net P&L > 0; loss: net < 0. Profit factor = sum of wins / |sum of losses| (inf without a loss). Expectancy = net P&L / trades. Time in market: bars from fill to exit, both included, over bars stepped.",
	"n/a: undefined (no trades, fewer than 2 days, ...). Random baseline: mean ± sample std over its seeds, each metric over the runs where it is finite.",
}

// mdTable writes a Markdown table; the first column is left-aligned, the others right.
func mdTable(b *strings.Builder, header []string, rows [][]string) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for i := range header {
		if i == 0 {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteByte('\n')
	for _, row := range rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
}

// WriteSummary writes the plain-text summary the eval command prints: the verdict line and
// the two tables, aligned in columns.
func (r *Report) WriteSummary(w io.Writer) error {
	fmt.Fprintf(w, "%s: %s\n", r.Policy.Verdict.verdictWord(), r.Policy.Verdict.Reason)
	fmt.Fprintf(w, "%s, %s split: %d sessions (%s to %s), plan %s\n\n",
		r.Data.Source, r.Data.Split, r.Data.Sessions, r.Data.First, r.Data.Last, r.Rules.Plan)
	table := func(header []string, rows [][]string) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, row := range rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		return tw.Flush()
	}
	for i := range r.Comparisons {
		fmt.Fprintf(w, "%s\n", versusSentence(&r.Comparisons[i]))
	}
	if len(r.Comparisons) > 0 {
		fmt.Fprintln(w)
	}
	if err := table(r.header(""), r.verdictRows()); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return table(r.header("metric"), r.metricRows())
}
