package env

import (
	"fmt"
	"reflect"
)

// envState is everything that changes while an Env runs: the episode's place in the data,
// the account, the position, the trade counters and the episode totals. It holds no
// pointers or slices, so that copying it copies the env's state and encoding/json writes it
// exactly (Go prints float64 in the shortest form that reads back to the same bits).
type envState struct {
	Active bool `json:"active"` // an episode is in progress
	T      int  `json:"t"`      // bar of the coming decision
	Pos    int  `json:"pos"`    // position of the current session in Env.sessions
	Left   int  `json:"left"`   // sessions of the episode after the current one
	Next   int  `json:"next"`   // ModeOrdered: position of the next episode's session

	// Account. Balance is the cash balance (the entry commission of an open position already
	// paid); Equity the equity marked at the last close; Peak the highest live equity seen
	// (bar extremes); Threshold the Apex liquidation threshold.
	Balance   float64 `json:"balance"`
	Equity    float64 `json:"equity"`
	Peak      float64 `json:"peak"`
	Threshold float64 `json:"threshold"`
	Breached  bool    `json:"breached"`

	// Position; prices in ticks.
	Side     int8    `json:"side"`
	Entry    int64   `json:"entry"`
	Stop     int64   `json:"stop"`
	Target   int64   `json:"target"`
	Trail    bool    `json:"trail"`
	EntryBar int     `json:"entry_bar"`
	MAE      float64 `json:"mae"` // lowest unrealized P&L at a close since entry (<= 0)
	MFE      float64 `json:"mfe"` // highest unrealized P&L at a close since entry (>= 0)

	// Closed-trade counters of the account.
	LossRun int    `json:"loss_run"` // losing trades in a row
	Recent  uint16 `json:"recent"`   // bit i: the i-th most recent trade won
	RecentN int    `json:"recent_n"` // trades in Recent (at most recentTrades)

	// Episode totals.
	EpReward float64 `json:"ep_reward"`
	EpLen    int     `json:"ep_len"`
	EpTrades int     `json:"ep_trades"`
	EpWins   int     `json:"ep_wins"`
	EpPeak   float64 `json:"ep_peak"`
	EpMaxDD  float64 `json:"ep_max_dd"`

	Invalid int64 `json:"invalid"` // masked actions received since creation
}

// restore installs a state read back from MarshalState after checking that it fits this
// env (indices inside the data), so that a corrupt or foreign state is an error rather than
// a panic, and recomputes the mask of the coming decision.
func (e *Env) restore(s envState) error {
	if s.Pos < 0 || s.Pos >= len(e.sessions) || s.Next < 0 || s.Next >= len(e.sessions) {
		return fmt.Errorf("session position %d (next %d) outside the env's %d sessions", s.Pos, s.Next, len(e.sessions))
	}
	sess := &e.ds.Sessions[e.sessions[s.Pos]]
	if s.Active && (s.T < firstDecision(sess) || s.T > sess.FlattenBar) {
		return fmt.Errorf("decision bar %d outside session %s (bars %d..%d)", s.T, sess.Date, firstDecision(sess), sess.FlattenBar)
	}
	if s.Side < -1 || s.Side > 1 || (s.Side != 0 && (s.EntryBar < 0 || s.EntryBar > s.T)) {
		return fmt.Errorf("position side %d entered at bar %d", s.Side, s.EntryBar)
	}
	if s.Left < 0 || s.RecentN < 0 || s.RecentN > recentTrades || s.Invalid < 0 {
		return fmt.Errorf("counters out of range")
	}
	if !s.Active {
		// An ended episode restarts at the next Step; the mask is that of a fresh episode.
		s.T = firstDecision(sess)
	}
	e.st = s
	e.computeMask(s.T-1, e.clock[s.T])
	return nil
}

// configDiff names the first field in which two configurations differ, "" if none.
func configDiff(a, b Config) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		if !va.Field(i).Equal(vb.Field(i)) {
			return va.Type().Field(i).Name
		}
	}
	return ""
}
