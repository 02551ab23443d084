package report

import (
	"errors"
	"fmt"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// Stream runs a Predictor over bars that arrive one line at a time, on a simulated account
// (env.Live) under the rules Predict and Build backtest with: each bar read gives one Row at
// once, with the decision for the next bar's open. Not safe for concurrent use.
type Stream struct {
	live *env.Live
	p    Predictor
	res  policy.ForwardResult
}

// NewStream returns a stream named name (in errors: "stdin") of bars of inst, under cfg
// (the checkpoint's environment settings: plan, contracts, costs, data_tz, ...), decided by p.
// The first line given must be the header (Header).
func NewStream(name string, inst env.Instrument, cfg env.Config, p Predictor) (*Stream, error) {
	if p == nil {
		return nil, errors.New("report: stream: a predictor is needed")
	}
	live, err := env.NewLive(name, inst, cfg, p.ObsDim())
	if err != nil {
		return nil, fmt.Errorf("report: stream: %w", err)
	}
	return &Stream{live: live, p: p}, nil
}

// Header reads the header line; its error (a missing or duplicated column, a
// *env.ParseError) ends the stream.
func (s *Stream) Header(line string) error { return s.live.Header(line) }

// Line reads one line of bars (without its line end) and returns its row; ok is false for
// a blank line, which has none. A bad line returns its *env.ParseError (the line is
// skipped, the stream goes on); any other error (the policy failed) ends the stream.
func (s *Stream) Line(line string) (row Row, ok bool, err error) {
	lb, err := s.live.Add(line)
	if err != nil {
		return Row{Line: lb.Line}, true, err
	}
	if lb.Bar < 0 && !lb.Dropped {
		return Row{Line: lb.Line}, false, nil
	}
	row = Row{
		Line: lb.Line, Time: lb.Record.Time, Reason: lb.Reason, Account: lb.Record,
		Trades: lb.Trades, Invalid: lb.Invalid, Warnings: lb.Warnings,
	}
	if !lb.Due {
		return row, true, nil
	}
	dec, err := predictOne(s.p, s.live.Obs(), s.live.Mask(), &s.res)
	if err != nil {
		return row, true, fmt.Errorf("report: stream: line %d: %w", lb.Line, err)
	}
	if err := s.live.Decide(dec.action); err != nil {
		return row, true, fmt.Errorf("report: stream: %w", err)
	}
	row.Decided, row.Action, row.Probs, row.Value = true, dec.action, dec.probs, dec.value
	return row, true, nil
}

// Warnings are those only the end of the stream brings (a run of bars that look divided
// by 100 still open); call it once, at the end.
func (s *Stream) Warnings() []env.Warning { return s.live.Warnings() }

// InvalidActions counts the decisions that were masked at their bar's real open time.
func (s *Stream) InvalidActions() int64 { return s.live.InvalidActions() }
