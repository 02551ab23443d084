package walkforward

import (
	"fmt"
	"time"

	"hybridtrain/internal/report"
)

// Schema names the layout of a Summary's JSON form (the walk-forward's report.json).
const Schema = "hybridtrain.walkforward/1"

// FoldResult is a fold's final checkpoint tested on the fold's test block: the policy
// column of its test report.
type FoldResult struct {
	Fold
	Checkpoint    string         `json:"checkpoint"`
	Timesteps     int64          `json:"timesteps"`
	ReportDir     string         `json:"report_dir"`
	Metrics       report.Metrics `json:"metrics"`
	Verdict       report.Verdict `json:"verdict"`
	MaskedActions int64          `json:"masked_actions"`
}

// OutOfSample is every test block together: the folds' test accounts stitched end to end,
// each fold's P&L added to where the previous fold's left the equity. Its metrics follow
// docs/report.md over that one account: the net P&L is the folds' sum, Sharpe covers every
// test session, the drawdown runs across fold boundaries. No Apex verdict: each fold's
// account is judged alone (Passed counts the passes).
type OutOfSample struct {
	First    string         `json:"first"`
	Last     string         `json:"last"`
	Sessions int            `json:"sessions"`
	Passed   int            `json:"passed"` // folds whose test passed the Apex evaluation
	Metrics  report.Metrics `json:"metrics"`
}

// Summary is a walk-forward's outcome: report.json, report.md, equity.csv and equity.png
// of its directory, and the table the command prints.
type Summary struct {
	Schema      string       `json:"schema"`
	Data        string       `json:"data"`
	Window      int          `json:"window"`
	Blocks      []Span       `json:"blocks"`
	OutOfSample OutOfSample  `json:"out_of_sample"`
	Folds       []FoldResult `json:"folds"`

	// stitched is the out-of-sample account; its bars keep their sessions, so Days()
	// splits it by session as it splits a fold's.
	stitched  *report.Account
	foldStart []int          // index of each fold's first bar in stitched.Bars
	foldEq    []float64      // each stitched bar's equity in its fold's own account
	zone      *time.Location // the exchange's, for equity.csv's times
	apexPlan  string         // the Apex plan the folds were tested under, for report.md
}

// Summarize stitches the folds' test reports (results[i] came from reports[i], in fold
// order) into the summary of p.
func Summarize(p *Plan, results []FoldResult, reports []*report.Report) (*Summary, error) {
	if len(results) == 0 || len(results) != len(reports) {
		return nil, fmt.Errorf("walkforward: summary: %d results of %d reports", len(results), len(reports))
	}
	s := &Summary{Schema: Schema, Data: p.Data, Window: p.Window, Blocks: p.Blocks, Folds: results}
	first := reports[0]
	zone, err := time.LoadLocation(first.Rules.Zone)
	if err != nil {
		return nil, fmt.Errorf("walkforward: summary: zone %q: %w", first.Rules.Zone, err)
	}
	s.zone, s.apexPlan = zone, first.Rules.Plan
	acc := &report.Account{Start: first.Rules.StartBalance}
	offset := 0.0 // the P&L of the folds stitched so far
	for i, r := range reports {
		a := r.PolicyAccount()
		s.foldStart = append(s.foldStart, len(acc.Bars))
		if a.Start != acc.Start {
			return nil, fmt.Errorf("walkforward: summary: %s starts at %g, %s at %g: the folds ran under other plans",
				results[i].Name, a.Start, results[0].Name, acc.Start)
		}
		if acc.Dates == nil {
			acc.Dates = a.Dates
		}
		for _, b := range a.Bars {
			shifted := b
			shifted.Equity += offset
			shifted.Threshold += offset
			acc.Bars = append(acc.Bars, shifted)
			s.foldEq = append(s.foldEq, b.Equity)
		}
		acc.Trades = append(acc.Trades, a.Trades...)
		if n := len(a.Bars); n > 0 {
			offset += a.Bars[n-1].Equity - a.Start
		}
		if results[i].Verdict.Passed {
			s.OutOfSample.Passed++
		}
	}
	s.stitched = acc
	s.OutOfSample.Metrics = report.ComputeMetrics(acc)
	if days := acc.Days(); len(days) > 0 {
		s.OutOfSample.First, s.OutOfSample.Last, s.OutOfSample.Sessions = days[0].Date, days[len(days)-1].Date, len(days)
	}
	return s, nil
}
