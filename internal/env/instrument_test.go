package env

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinSymbolsOrder(t *testing.T) {
	want := []string{"ES", "NQ", "YM", "RTY", "MES", "MNQ", "M2K", "MYM", "CL", "GC"}
	if got := BuiltinSymbols(); !slices.Equal(got, want) {
		t.Fatalf("BuiltinSymbols() = %v, want %v", got, want)
	}
	if _, ok := BuiltinInstrument("XX"); ok {
		t.Error("BuiltinInstrument(XX) found an instrument")
	}
}

// The table of spec §2, with the tick values computed by hand.
func TestBuiltinInstruments(t *testing.T) {
	tests := []struct {
		sym                                       string
		point, tick, tickValue, commission, typic float64
		slippage                                  int
	}{
		{"ES", 50, 0.25, 12.50, 2.50, 6400, 1},
		{"NQ", 20, 0.25, 5.00, 2.50, 24000, 1},
		{"YM", 5, 1.0, 5, 2.50, 44000, 2},
		{"RTY", 50, 0.10, 5, 2.50, 2200, 2},
		{"MES", 5, 0.25, 1.25, 0.60, 6400, 1},
		{"MNQ", 2, 0.25, 0.50, 0.60, 24000, 1},
		{"M2K", 5, 0.10, 0.50, 0.60, 2200, 2},
		{"MYM", 0.5, 1.0, 0.50, 0.60, 44000, 2},
		{"CL", 1000, 0.01, 10, 2.50, 70, 2},
		{"GC", 100, 0.10, 10, 2.50, 2400, 2},
	}
	for _, tc := range tests {
		t.Run(tc.sym, func(t *testing.T) {
			in, ok := BuiltinInstrument(tc.sym)
			if !ok {
				t.Fatal("not found")
			}
			if in.Symbol != tc.sym || in.PointValue != tc.point || in.TickSize != tc.tick ||
				in.CommissionPerSide != tc.commission || in.SlippageTicks != tc.slippage || in.TypicalPrice != tc.typic {
				t.Errorf("got %+v, want point %g tick %g commission %g slippage %d typical %g",
					in, tc.point, tc.tick, tc.commission, tc.slippage, tc.typic)
			}
			// 0.1 and 0.01 are not exact in binary: compare to a cent's billionth.
			if got := in.TickValue(); math.Abs(got-tc.tickValue) > 1e-9 {
				t.Errorf("TickValue() = %v, want %v", got, tc.tickValue)
			}
			if in.Zone == nil || in.Zone.String() != "America/New_York" {
				t.Errorf("zone = %v, want America/New_York", in.Zone)
			}
			if !slices.Equal(in.DataSession, []ClockRange{{510, 1019}}) || in.EntryStart != 570 || in.FlattenTime != 1019 {
				t.Errorf("calendar = %v entry %s flatten %s, want [08:30-16:59] entry 09:30 flatten 16:59",
					in.DataSession, in.EntryStart, in.FlattenTime)
			}
		})
	}
}

func validSpec() InstrumentSpec {
	return InstrumentSpec{
		PointValue: 10, TickSize: 0.5, CommissionPerSide: 1, SlippageTicks: 1, TypicalPrice: 500,
		Timezone: "Europe/Berlin", DataSession: []string{"08:00-11:59", "13:00-17:29"},
		EntryStart: "09:00", FlattenTime: "17:25",
	}
}

func TestNewInstrument(t *testing.T) {
	in, err := validSpec().NewInstrument("XYZ")
	if err != nil {
		t.Fatal(err)
	}
	want := []ClockRange{{480, 719}, {780, 1049}}
	if in.Symbol != "XYZ" || in.Zone.String() != "Europe/Berlin" || !slices.Equal(in.DataSession, want) ||
		in.EntryStart != 540 || in.FlattenTime != 1045 || in.TickValue() != 5 {
		t.Errorf("got %+v, want XYZ Europe/Berlin %v entry 540 flatten 1045 tick value 5", in, want)
	}
	for c, wantIn := range map[Clock]bool{479: false, 480: true, 719: true, 720: false, 779: false, 780: true, 1049: true, 1050: false} {
		if got := in.InDataSession(c); got != wantIn {
			t.Errorf("InDataSession(%s) = %v, want %v", c, got, wantIn)
		}
	}
}

func TestNewInstrumentErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*InstrumentSpec)
		want   string
	}{
		{"tick", func(s *InstrumentSpec) { s.TickSize = 0 }, "env: instruments.XYZ.tick_size must be > 0, got 0"},
		{"point", func(s *InstrumentSpec) { s.PointValue = -2 }, "env: instruments.XYZ.point_value must be > 0, got -2"},
		{"point nan", func(s *InstrumentSpec) { s.PointValue = math.NaN() }, "env: instruments.XYZ.point_value must be > 0, got NaN"},
		{"typical", func(s *InstrumentSpec) { s.TypicalPrice = math.Inf(1) }, "env: instruments.XYZ.typical_price must be > 0, got +Inf"},
		{"commission", func(s *InstrumentSpec) { s.CommissionPerSide = -0.5 }, "env: instruments.XYZ.commission_per_side must be >= 0, got -0.5"},
		{"slippage", func(s *InstrumentSpec) { s.SlippageTicks = -1 }, "env: instruments.XYZ.slippage_ticks must be >= 0, got -1"},
		{"no zone", func(s *InstrumentSpec) { s.Timezone = "" }, "env: instruments.XYZ.timezone is required"},
		{"bad zone", func(s *InstrumentSpec) { s.Timezone = "Mars/Olympus" }, `env: instruments.XYZ.timezone: unknown time zone "Mars/Olympus"`},
		{"local zone", func(s *InstrumentSpec) { s.Timezone = "Local" }, `env: instruments.XYZ.timezone: time zone "Local" depends on the machine`},
		{"no session", func(s *InstrumentSpec) { s.DataSession = nil }, "env: instruments.XYZ.data_session is required"},
		{"bad range", func(s *InstrumentSpec) { s.DataSession = []string{"08:00"} }, `env: instruments.XYZ.data_session[0]: want HH:MM-HH:MM, got "08:00"`},
		{"bad clock", func(s *InstrumentSpec) { s.DataSession = []string{"08:00-24:00"} }, `env: instruments.XYZ.data_session[0]: range "08:00-24:00": want HH:MM between 00:00 and 23:59, got "24:00"`},
		{"reversed", func(s *InstrumentSpec) { s.DataSession = []string{"17:00-08:00"} }, `env: instruments.XYZ.data_session[0]: range "17:00-08:00" ends before it starts`},
		{"overlap", func(s *InstrumentSpec) { s.DataSession = []string{"08:00-12:00", "12:00-17:29"} }, `env: instruments.XYZ.data_session[1]: range "12:00-17:29" must start after the previous range ends (12:00)`},
		{"order", func(s *InstrumentSpec) { s.DataSession = []string{"13:00-17:29", "08:00-11:59"} }, `env: instruments.XYZ.data_session[1]: range "08:00-11:59" must start after the previous range ends (17:29)`},
		{"entry format", func(s *InstrumentSpec) { s.EntryStart = "9:00" }, `env: instruments.XYZ.entry_start: want HH:MM, got "9:00"`},
		{"entry in break", func(s *InstrumentSpec) { s.EntryStart = "12:30" }, "env: instruments.XYZ.entry_start must be inside the data session 08:00-11:59,13:00-17:29, got 12:30"},
		{"flatten format", func(s *InstrumentSpec) { s.FlattenTime = "" }, `env: instruments.XYZ.flatten_time: want HH:MM, got ""`},
		{"flatten before entry", func(s *InstrumentSpec) { s.FlattenTime = "08:30" }, "env: instruments.XYZ.flatten_time must be after entry_start 09:00, got 08:30"},
		{"flatten outside", func(s *InstrumentSpec) { s.FlattenTime = "17:45" }, "env: instruments.XYZ.flatten_time must be inside the data session 08:00-11:59,13:00-17:29, got 17:45"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.mutate(&s)
			_, err := s.NewInstrument("XYZ")
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v, want prefix %q", err, tc.want)
			}
		})
	}
}

func TestClockString(t *testing.T) {
	for c, want := range map[Clock]string{0: "00:00", 570: "09:30", 1439: "23:59", 1440: "Clock(1440)", -1: "Clock(-1)"} {
		if got := c.String(); got != want {
			t.Errorf("Clock(%d).String() = %q, want %q", int(c), got, want)
		}
	}
}
