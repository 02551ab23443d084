package env

// maskState is everything the legal actions of a decision depend on besides its time: the
// position, its stop relative to the entry, the trailing flag and the unrealized P&L at the
// last close (close[L]).
type maskState struct {
	side        int8  // +1 long, -1 short, 0 flat
	entry, stop int64 // ticks; meaningful in position only
	trail       bool
	unrealized  float64 // dollars at close[L]
}

// entryWindow is the range of decision-bar open times at which BUY and SELL can be legal:
// from <= clock < to, with to = flatten time - no_entry_minutes.
type entryWindow struct{ from, to Clock }

// legalActions is the one function that decides which actions are legal for the decision at
// a bar opening at clock (spec §4). Every mask the package emits, and the validity check of
// Step, come from it.
//
//	HOLD           always
//	BUY, SELL      flat, and from <= clock < to
//	MOVE_SL_TO_BE  in position, unrealized > 0, stop not yet at or past the entry
//	ENABLE_TRAIL   in position, unrealized > 0, stop at or past the entry, trailing off
//	DISABLE_TRAIL  trailing on
func legalActions(m *[NumActions]bool, s maskState, clock Clock, w entryWindow) {
	inPos := s.side != 0
	// "At or past the entry" is on the protected side: above it for a long, below for a short.
	beDone := inPos && int64(s.side)*(s.stop-s.entry) >= 0
	profit := inPos && s.unrealized > 0
	m[Hold] = true
	m[Buy] = !inPos && clock >= w.from && clock < w.to
	m[Sell] = m[Buy]
	m[MoveStopToBE] = profit && !beDone
	m[EnableTrail] = profit && beDone && !s.trail
	m[DisableTrail] = inPos && s.trail
}
