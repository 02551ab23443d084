package sweep

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"hybridtrain/internal/ppo"
	"hybridtrain/internal/report"
)

// LeaderboardSchema names the layout of report.json.
const LeaderboardSchema = "hybridtrain.sweep-report/1"

// A trial's status on the leaderboard.
const (
	StatusFinished     = "finished"      // final/ and its evaluation
	StatusNotEvaluated = "not evaluated" // final/ without its evaluation: run the trial again to write it
	StatusUnfinished   = "unfinished"    // started, no final/ at total_timesteps
	StatusNotStarted   = "not started"   // no run directory
)

// Leaderboard ranks a sweep's trials by one metric of their final evaluations.
type Leaderboard struct {
	Schema string   `json:"schema"`
	Sweep  string   `json:"sweep"`
	Dir    string   `json:"dir"`
	Metric string   `json:"metric"` // what Rank orders by (a Metrics name)
	Grid   []string `json:"grid"`   // the keys of Row.Values, in the grid's order
	Rows   []Row    `json:"rows"`   // best first; trials without a value for the metric last, by index
}

// Row is one trial on the leaderboard. The evaluation's fields are undefined (null in
// JSON) unless Status is finished.
type Row struct {
	Rank   int            `json:"rank"` // 1 for the best; 0 for a trial without a value for the metric
	Index  int            `json:"index"`
	Trial  string         `json:"trial"`
	Dir    string         `json:"dir"`
	Values map[string]any `json:"values"`
	Status string         `json:"status"`

	Timesteps      int64 `json:"timesteps"` // final/'s, else the newest checkpoint's, else 0
	TotalTimesteps int64 `json:"total_timesteps"`
	// WallTime is the seconds of training in metrics.jsonl (time/time_elapsed, added up
	// over the segments of a resumed run); the evaluation's time is not in it.
	WallTime float64 `json:"wall_time_s"`

	MeanReward    report.Float `json:"mean_reward"`  // validation mean reward, one session per episode
	NetPnL        report.Float `json:"net_pnl"`      // the backtest over the validation sessions as one account
	Sharpe        report.Float `json:"sharpe"`       // annualised, daily returns
	MaxDrawdown   report.Float `json:"max_drawdown"` // dollars
	Verdict       string       `json:"verdict"`      // PASS or FAIL under the Apex rules; "" without an evaluation
	VerdictReason string       `json:"verdict_reason,omitempty"`
}

// Metric is a column the leaderboard can rank by.
type Metric struct {
	Name   string
	Doc    string
	Higher bool // a higher value is better
	value  func(*Row) report.Float
}

// Metrics are the columns --metric may name; the first is the default.
var Metrics = []Metric{
	{"mean_reward", "validation mean reward (higher first)", true, func(r *Row) report.Float { return r.MeanReward }},
	{"net_pnl", "net P&L of the validation backtest, dollars (higher first)", true, func(r *Row) report.Float { return r.NetPnL }},
	{"sharpe", "Sharpe ratio of the validation backtest (higher first)", true, func(r *Row) report.Float { return r.Sharpe }},
	{"max_drawdown", "max drawdown of the validation backtest, dollars (lower first)", false, func(r *Row) report.Float { return r.MaxDrawdown }},
	{"wall_time", "training wall time, seconds (lower first)", false, func(r *Row) report.Float {
		if r.Status != StatusFinished {
			return report.Undefined
		}
		return report.Float(r.WallTime)
	}},
}

// MetricNames lists the Metrics' names.
func MetricNames() []string {
	names := make([]string, len(Metrics))
	for i, m := range Metrics {
		names[i] = m.Name
	}
	return names
}

func lookupMetric(name string) (Metric, bool) {
	for _, m := range Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Collect reads the sweep in dir (its out directory: sweep.json and a run directory per
// trial) into a leaderboard ranked by metric. A trial directory that cannot be read is an
// error naming it; a trial that did not get as far as its evaluation is a row saying so.
func Collect(dir, metric string) (*Leaderboard, error) {
	m, ok := lookupMetric(metric)
	if !ok {
		return nil, fmt.Errorf("sweep: metric %q: want one of %s", metric, strings.Join(MetricNames(), ", "))
	}
	plan, err := ReadPlan(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sweep: %s has no %s: not the out directory of a sweep that ran (sweep run writes it): %w", dir, PlanFile, err)
		}
		return nil, err
	}
	lb := &Leaderboard{Schema: LeaderboardSchema, Sweep: plan.Name, Dir: dir, Metric: m.Name, Grid: plan.Grid}
	for _, t := range plan.Trials {
		// The plan records the directories as the sweep file names them, relative to where
		// it ran; the report reads them under dir, wherever that is now.
		row, err := collectRow(filepath.Join(dir, t.Name), t)
		if err != nil {
			return nil, err
		}
		lb.Rows = append(lb.Rows, row)
	}
	lb.rank(m)
	return lb, nil
}

// collectRow reads one trial.
func collectRow(dir string, t PlanTrial) (Row, error) {
	r := Row{
		Index: t.Index, Trial: t.Name, Dir: dir, Values: t.Values, TotalTimesteps: t.TotalTimesteps,
		MeanReward: report.Undefined, NetPnL: report.Undefined, Sharpe: report.Undefined, MaxDrawdown: report.Undefined,
	}
	p, err := Inspect(dir)
	if err != nil {
		return r, err
	}
	switch {
	case !p.Exists:
		r.Status = StatusNotStarted
		return r, nil
	case p.Newest != nil:
		r.Timesteps = p.Newest.Timesteps
	}
	if r.WallTime, err = wallTime(filepath.Join(dir, ppo.MetricsFile)); err != nil {
		return r, err
	}
	if p.Next(t.TotalTimesteps) != Skip {
		r.Status = StatusUnfinished
		return r, nil
	}
	r.Timesteps = p.Final.Timesteps
	ev, err := ReadEvaluation(dir)
	if err != nil || ev.Timesteps != p.Final.Timesteps {
		// Missing, unreadable or of an earlier final/: the next `sweep run` writes it.
		r.Status = StatusNotEvaluated
		return r, nil
	}
	r.Status = StatusFinished
	pol := ev.Report.Policy
	r.MeanReward = report.Float(ev.MeanReward)
	r.NetPnL = report.Float(pol.Metrics.NetPnL)
	r.Sharpe = pol.Metrics.Sharpe
	r.MaxDrawdown = report.Float(pol.Metrics.MaxDrawdown)
	r.Verdict, r.VerdictReason = "FAIL", pol.Verdict.Reason
	if pol.Verdict.Passed {
		r.Verdict = "PASS"
	}
	return r, nil
}

// rank orders the rows by m, best first, and numbers them; rows without a value for m
// (undefined, or no evaluation) follow in index order, unranked. Ties keep index order.
func (l *Leaderboard) rank(m Metric) {
	ranked := func(r *Row) bool { return m.value(r).Defined() }
	slices.SortStableFunc(l.Rows, func(a, b Row) int {
		ra, rb := ranked(&a), ranked(&b)
		switch {
		case ra != rb:
			if ra {
				return -1
			}
			return 1
		case !ra:
			return a.Index - b.Index
		}
		va, vb := float64(m.value(&a)), float64(m.value(&b))
		if !m.Higher {
			va, vb = -va, -vb
		}
		switch {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return a.Index - b.Index
	})
	for i := range l.Rows {
		l.Rows[i].Rank = 0
		if ranked(&l.Rows[i]) {
			l.Rows[i].Rank = i + 1
		}
	}
}

// wallTime adds up time/time_elapsed over the segments of metrics.jsonl: the value restarts
// when a resumed run starts, so each segment counts with its last rollout's value. 0 when
// the file is missing; a line that is not JSON is an error naming it, except a torn last
// line (a run killed mid-write).
func wallTime(path string) (float64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	total, last := 0.0, 0.0
	var pending error
	for n := 1; sc.Scan(); n++ {
		if pending != nil {
			return 0, pending // a bad line that was not the last one
		}
		var l struct {
			Kind    string   `json:"kind"`
			Elapsed *float64 `json:"time/time_elapsed"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			pending = fmt.Errorf("sweep: %s:%d: not a metrics line: %w", path, n, err)
			continue
		}
		if l.Kind != "rollout" || l.Elapsed == nil {
			continue
		}
		if *l.Elapsed < last {
			total += last
		}
		last = *l.Elapsed
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("sweep: %s: %w", path, err)
	}
	return total + last, nil
}

// finite reports whether f is a finite number.
func finite(f report.Float) bool {
	return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0)
}
