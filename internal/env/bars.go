package env

// Bars holds 1-minute bars in columns, in time order, stamped at bar open. Time is Unix
// seconds; Clock is the bar's open time of day in the instrument's zone; Session is the
// index into Dataset.Sessions of the session the bar belongs to.
type Bars struct {
	Time    []int64
	Open    []float64
	High    []float64
	Low     []float64
	Close   []float64
	Volume  []float64
	Clock   []Clock
	Session []int32
}

// Len is the number of bars.
func (b *Bars) Len() int { return len(b.Time) }

// Session is one exchange date's data session: bars [Start, End) of the dataset.
type Session struct {
	Date       string // exchange date, YYYY-MM-DD
	Start, End int    // bar index range [Start, End)
	// EntryBar is the first bar at or after the entry start (-1 if none); FlattenBar is the
	// bar on which an open position is flattened: the one opening at flatten time - 1 minute,
	// else the last bar before the flatten time (-1 if the session has none).
	EntryBar, FlattenBar int
	// FlattenTime is the session's flatten time: the instrument's, or the early close of its
	// calendar on that date. Entries end no_entry_minutes before it, and the time-to-flatten
	// feature counts to it.
	FlattenTime Clock
}

// Dataset is an instrument's bars with their sessions and the market features, precomputed
// once: Market holds, bar-major, MarketDim float32 per bar (the BarFeatures window features
// followed by the MarketContextDim context features), so that a step copies a contiguous
// window.
type Dataset struct {
	Source     string // file name, or "synthetic:<symbol>:<seed>"
	Instrument Instrument
	Bars       Bars
	Sessions   []Session
	Market     []float32

	Dropped     int       // bars outside the data session, dropped at load
	HolidayBars int       // bars inside it on holidays of the instrument's calendar, dropped at load
	Warnings    []Warning // gaps, suspected divided-by-100 prices, large jumps, holidays
}

// MarketDim is the number of precomputed float32 per bar in Dataset.Market.
const MarketDim = BarFeatures + MarketContextDim
