package env

import "time"

// Clock is a time of day in an exchange's zone, in minutes after midnight (0..1439).
type Clock int16

// ClockRange is an inclusive range of bar open times, as in a data session "08:30-16:59".
type ClockRange struct {
	From, To Clock
}

// Instrument describes a futures contract and its trading calendar. Nothing in the package
// is specific to one market: the ten built-in specifications and custom instruments from
// configuration are values of this type.
type Instrument struct {
	Symbol            string
	PointValue        float64 // dollars per 1.0 price point
	TickSize          float64 // price points per tick
	CommissionPerSide float64 // dollars per contract per side
	SlippageTicks     int     // adverse ticks on entries, stop, breach and flatten exits
	TypicalPrice      float64 // used by the divided-by-100 warning and synthetic bars

	Zone        *time.Location // exchange time zone
	DataSession []ClockRange   // bar open times kept at load (several ranges = breaks)
	EntryStart  Clock          // first bar open time at which BUY/SELL may be legal
	FlattenTime Clock          // positions are flat at this time; the flatten bar opens 1 minute before
}

// TickValue is the dollar value of one tick for one contract.
func (in Instrument) TickValue() float64 { return in.PointValue * in.TickSize }

// InstrumentSpec is a custom instrument as written in a configuration file (key
// `instruments`). Times are "HH:MM" strings in the instrument's zone; DataSession is a list
// of "HH:MM-HH:MM" ranges.
type InstrumentSpec struct {
	PointValue        float64  `yaml:"point_value" mapstructure:"point_value"`
	TickSize          float64  `yaml:"tick_size" mapstructure:"tick_size"`
	CommissionPerSide float64  `yaml:"commission_per_side" mapstructure:"commission_per_side"`
	SlippageTicks     int      `yaml:"slippage_ticks" mapstructure:"slippage_ticks"`
	TypicalPrice      float64  `yaml:"typical_price" mapstructure:"typical_price"`
	Timezone          string   `yaml:"timezone" mapstructure:"timezone"`
	DataSession       []string `yaml:"data_session" mapstructure:"data_session"`
	EntryStart        string   `yaml:"entry_start" mapstructure:"entry_start"`
	FlattenTime       string   `yaml:"flatten_time" mapstructure:"flatten_time"`
}
