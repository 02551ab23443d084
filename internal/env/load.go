package env

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// timeColumns are the accepted names of the time column, in order of preference: the first
// one present in the header is read.
var timeColumns = [...]string{"timestamp", "datetime", "ts_event", "time", "date"}

// Load reads a bar file for inst, converts it to the exchange zone, drops bars outside the
// data session, validates it (stopping at the first error) and precomputes the market
// features. Every failure to read or validate the file is a *ParseError (a file that cannot
// be opened too, wrapping ErrRead and the os error, so errors.Is(err, fs.ErrNotExist) works);
// a bad cfg.DataTZ is a plain configuration error. docs/data.md describes the format.
func Load(path string, inst Instrument, cfg Config) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ParseError{File: path, Err: fmt.Errorf("%w: %w", ErrRead, err)}
	}
	defer f.Close()
	return Read(f, path, inst, cfg)
}

// Read is Load for an already open reader; name is used in errors and as Dataset.Source.
// It reads cfg.DataTZ (zone of naive timestamps), cfg.RepairDiv100 and cfg.WarmupBars.
func Read(r io.Reader, name string, inst Instrument, cfg Config) (*Dataset, error) {
	l, err := newLoader(name, inst, cfg, stopAtFirst)
	if err != nil {
		return nil, err
	}
	l.read(r)
	if len(l.errs) > 0 {
		return nil, l.errs[0]
	}
	ds, err := l.dataset(cfg.WarmupBars)
	if err != nil {
		return nil, err
	}
	ds.Market = marketFeatures(ds)
	return ds, nil
}

// loader parses and validates a bar file row by row. It either stops at the first error
// (Read) or collects errors up to a limit (ValidateFile); valid rows inside the data session
// are kept, and the warnings are found on them as they arrive.
type loader struct {
	name     string
	inst     Instrument
	repair   bool
	dataZone *zoneCache // zone of naive timestamps
	exZone   *zoneCache // the instrument's zone

	limit     int     // list at most this many errors; 0 means no limit
	stopFirst bool    // stop reading at the first error (Read)
	errs      []error // the first limit errors, each a *ParseError
	total     int     // errors found, listed or not
	fatal     bool    // the CSV reader cannot go on

	idx   [numCols]int    // field index of each column
	order [numCols]int    // the columns in field order, so a row's first error is its leftmost
	names [numCols]string // header names as written, for messages

	bars     Bars
	rows     int // data rows read
	dropped  int
	warnings []Warning

	// Previous row with a valid time, for the order check.
	havePrev bool
	prevSec  int64
	prevLine int

	// Previous kept bar, for the gap and jump warnings.
	haveKept  bool
	keptDay   int64
	keptClock Clock
	keptClose float64
	keptLine  int

	// The open run of bars that look divided by 100.
	runCount, runLine, runLast int
	runClose                   float64
}

// stopAtFirst as newLoader's limit makes the loader stop at the first error, as Read does.
const stopAtFirst = -1

// newLoader returns a loader that lists at most limit errors (0: all; stopAtFirst: one, and
// stop reading there).
func newLoader(name string, inst Instrument, cfg Config, limit int) (*loader, error) {
	if inst.Zone == nil || len(inst.DataSession) == 0 {
		return nil, fmt.Errorf("env: instrument %q has no zone or data session (use BuiltinInstrument or InstrumentSpec.NewInstrument)", inst.Symbol)
	}
	dz, err := loadZone(cfg.DataTZ)
	if err != nil {
		return nil, fmt.Errorf("env: data_tz: %w", err)
	}
	stopFirst := limit == stopAtFirst
	switch {
	case stopFirst:
		limit = 1
	case limit < 0:
		limit = 0
	}
	const guess = 4096 // rows; append grows it
	return &loader{
		name: name, inst: inst, repair: cfg.RepairDiv100,
		dataZone: newZoneCache(dz), exZone: newZoneCache(inst.Zone),
		limit: limit, stopFirst: stopFirst,
		bars: Bars{
			Time: make([]int64, 0, guess), Open: make([]float64, 0, guess), High: make([]float64, 0, guess),
			Low: make([]float64, 0, guess), Close: make([]float64, 0, guess), Volume: make([]float64, 0, guess),
		},
	}, nil
}

// fail records an error at line and column (0 = whole file or row).
func (l *loader) fail(line, col int, err error) {
	l.total++
	if l.limit == 0 || len(l.errs) < l.limit {
		l.errs = append(l.errs, &ParseError{File: l.name, Line: line, Column: col, Err: err})
	}
}

// stopped reports whether reading must end.
func (l *loader) stopped() bool { return l.fatal || (l.stopFirst && l.total > 0) }

func (l *loader) read(r io.Reader) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // rows may carry extra columns; missing fields are checked per row
	header, err := cr.Read()
	if err == io.EOF {
		l.fail(0, 0, fmt.Errorf("%w: empty file (want a header row and bars)", ErrEmpty))
		return
	}
	if err != nil {
		l.csvError(err)
		return
	}
	if !l.columns(header) {
		return
	}
	for !l.stopped() {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			l.csvError(err)
			return
		}
		l.rows++
		l.row(cr, rec)
	}
	l.endRun()
	// A divided-by-100 run is reported when it ends, after warnings on its later lines.
	slices.SortStableFunc(l.warnings, func(a, b Warning) int { return cmp.Compare(a.Line, b.Line) })
}

// csvError records a CSV syntax or I/O error; the reader cannot go on after either.
func (l *loader) csvError(err error) {
	l.fatal = true
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		l.fail(pe.Line, 0, fmt.Errorf("%w: %v (byte %d of the line)", ErrSyntax, pe.Err, pe.Column))
		return
	}
	l.fail(0, 0, fmt.Errorf("%w: %w", ErrRead, err))
}

// columns finds the columns in the header (names case-insensitive, surrounding spaces and a
// UTF-8 byte order mark ignored). It reports every missing or duplicated column.
func (l *loader) columns(header []string) bool {
	lower := make([]string, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		lower[i] = strings.ToLower(strings.TrimSpace(h))
	}
	find := func(name string) int {
		first := -1
		for i, h := range lower {
			if h != name {
				continue
			}
			if first >= 0 {
				l.fail(1, i+1, fmt.Errorf("%w %q: also column %d", ErrDuplicateColumn, header[i], first+1))
				continue
			}
			first = i
		}
		return first
	}
	ok := true
	l.idx[colTime] = -1
	for _, name := range timeColumns {
		if l.idx[colTime] = find(name); l.idx[colTime] >= 0 {
			break
		}
	}
	if l.idx[colTime] < 0 {
		l.fail(1, 0, fmt.Errorf("%w: time (want one of %s)", ErrMissingColumn, strings.Join(timeColumns[:], ", ")))
		ok = false
	}
	for c := colOpen; c < numCols; c++ {
		if l.idx[c] = find(colNames[c]); l.idx[c] < 0 {
			l.fail(1, 0, fmt.Errorf("%w: %s", ErrMissingColumn, colNames[c]))
			ok = false
		}
	}
	if !ok || l.total > 0 {
		l.fatal = true
		return false
	}
	for c := range numCols {
		l.order[c] = c
		l.names[c] = strings.TrimSpace(strings.TrimPrefix(header[l.idx[c]], "\ufeff"))
	}
	// Insertion sort by field index: six elements.
	for i := 1; i < numCols; i++ {
		for j := i; j > 0 && l.idx[l.order[j]] < l.idx[l.order[j-1]]; j-- {
			l.order[j], l.order[j-1] = l.order[j-1], l.order[j]
		}
	}
	return true
}

// row parses, validates and (when inside the data session) keeps one data row.
func (l *loader) row(cr *csv.Reader, rec []string) {
	line, _ := cr.FieldPos(0)
	if last := l.idx[l.order[numCols-1]]; last >= len(rec) {
		// Report the leftmost column the row lacks.
		for _, c := range l.order {
			if fi := l.idx[c]; fi >= len(rec) {
				l.fail(line, fi+1, fmt.Errorf("%w: %s is field %d, the row has %d", ErrFieldCount, l.names[c], fi+1, len(rec)))
				return
			}
		}
	}
	// The row's errors are gathered and reported left to right, so that the first error of
	// a file (what Read returns) is the leftmost defect of the first bad row.
	var errs [numCols + 1]struct {
		col int
		err error
	}
	nerr := 0
	add := func(c int, err error) {
		errs[nerr].col, errs[nerr].err = l.idx[c], err
		nerr++
	}

	var v [numCols]float64
	var sec int64
	var bad [numCols]bool
	for _, c := range l.order {
		s := strings.TrimSpace(rec[l.idx[c]])
		var err error
		if c == colTime {
			sec, err = l.parseTime(s)
		} else {
			v[c], err = l.parseValue(c, s)
		}
		if err != nil {
			bad[c] = true
			add(c, err)
		}
	}
	if !bad[colOpen] && !bad[colHigh] && !bad[colLow] && !bad[colClose] {
		o, h, lo, c := v[colOpen], v[colHigh], v[colLow], v[colClose]
		if h < max(o, c) {
			add(colHigh, fmt.Errorf("%s %v below max(open %v, close %v): %w", l.names[colHigh], h, o, c, ErrHighLow))
		}
		if lo > min(o, c) {
			add(colLow, fmt.Errorf("%s %v above min(open %v, close %v): %w", l.names[colLow], lo, o, c, ErrHighLow))
		}
	}
	if !bad[colTime] {
		tl, _ := cr.FieldPos(l.idx[colTime])
		if l.havePrev && sec <= l.prevSec {
			what := "before"
			if sec == l.prevSec {
				what = "the same as"
			}
			add(colTime, fmt.Errorf("%w: %s %q is %s line %d's %s (UTC)",
				ErrTimeOrder, l.names[colTime], strings.TrimSpace(rec[l.idx[colTime]]), what, l.prevLine, utcString(l.prevSec)))
		} else {
			l.havePrev, l.prevSec, l.prevLine = true, sec, tl
		}
	}
	if nerr == 0 {
		l.keep(line, sec, v)
		return
	}
	// Insertion sort by field index (a handful of entries).
	for i := 1; i < nerr; i++ {
		for j := i; j > 0 && errs[j].col < errs[j-1].col; j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
	for _, e := range errs[:nerr] {
		ln, _ := cr.FieldPos(e.col)
		l.fail(ln, e.col+1, e.err)
		if l.stopped() {
			return
		}
	}
}

func (l *loader) parseTime(s string) (int64, error) {
	w, naive, err := parseTime(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w: %v", l.names[colTime], s, ErrBadTime, err)
	}
	if !naive {
		return w, nil
	}
	prev := int64(math.MinInt64)
	if l.havePrev {
		prev = l.prevSec
	}
	sec, ok := l.dataZone.fromWall(w, prev)
	if !ok {
		return 0, fmt.Errorf("%s %q: %w: that wall time does not exist in data_tz %s (skipped by a daylight-saving change)",
			l.names[colTime], s, ErrBadTime, l.dataZone.loc)
	}
	return sec, nil
}

func (l *loader) parseValue(c int, s string) (float64, error) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%s %q: %w (out of range)", l.names[c], s, ErrNonFinite)
		}
		return 0, fmt.Errorf("%s %q: %w", l.names[c], s, ErrBadNumber)
	}
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return 0, fmt.Errorf("%s %q: %w", l.names[c], s, ErrNonFinite)
	case c == colVolume && x < 0:
		return 0, fmt.Errorf("%s %q: %w", l.names[c], s, ErrNegativeVolume)
	case c != colVolume && x <= 0:
		return 0, fmt.Errorf("%s %q: %w", l.names[c], s, ErrNonPositivePrice)
	}
	return x, nil
}

// keep adds a valid row to the bars if it opens inside the data session, and finds the
// warnings on it.
func (l *loader) keep(line int, sec int64, v [numCols]float64) {
	day, clock := l.exZone.local(sec)
	if !l.inst.InDataSession(clock) {
		l.dropped++
		return
	}
	o, h, lo, c := v[colOpen], v[colHigh], v[colLow], v[colClose]
	if l.suspectDiv100(c) {
		if l.runCount == 0 {
			l.runLine, l.runClose = line, c
		}
		l.runCount++
		l.runLast = line
		if l.repair {
			o, h, lo, c = o*100, h*100, lo*100, c*100
		}
	} else {
		l.endRun()
	}
	if l.haveKept && day == l.keptDay {
		if n := l.inst.missingMinutes(l.keptClock, clock); n > 0 {
			l.warn(line, WarnGap, fmt.Sprintf("gap inside the session %s: %d minute(s) missing between the %s bar (line %d) and the %s bar",
				dayString(day), n, l.keptClock, l.keptLine, clock))
		}
	}
	if l.haveKept {
		// Compared as |c - p| > 5% of p: c/p - 1 would flag an exact 5% move (1.05 - 1 > 0.05).
		if p := l.keptClose; math.Abs(c-p) > jumpLimit*p {
			l.warn(line, WarnJump, fmt.Sprintf("close jumped %+.2f%% from %v (line %d) to %v", 100*(c/p-1), p, l.keptLine, c))
		}
	}
	l.haveKept, l.keptDay, l.keptClock, l.keptClose, l.keptLine = true, day, clock, c, line
	b := &l.bars
	b.Time = append(b.Time, sec)
	b.Open = append(b.Open, o)
	b.High = append(b.High, h)
	b.Low = append(b.Low, lo)
	b.Close = append(b.Close, c)
	b.Volume = append(b.Volume, v[colVolume])
}

// suspectDiv100 is the divided-by-100 rule, applied per bar to its close:
// close < typical/2 (the spec's trigger) and typical/4 <= 100 x close <= 4 x typical, i.e.
// multiplying by 100 lands within a factor 4 of the typical price. The second condition keeps
// genuine history far below today's typical price (NQ at 11,000 in 2022, CL at 20 in 2020)
// from being flagged, and "repaired" into nonsense.
func (l *loader) suspectDiv100(c float64) bool {
	t := l.inst.TypicalPrice
	return t > 0 && c < t/2 && 100*c >= t/4 && 100*c <= 4*t
}

// endRun closes the open run of divided-by-100 bars with one warning.
func (l *loader) endRun() {
	if l.runCount == 0 {
		return
	}
	what := "set repair_div100 to multiply their open, high, low and close by 100"
	if l.repair {
		what = "repaired: open, high, low and close multiplied by 100"
	}
	where := fmt.Sprintf("%d bars on lines %d-%d look", l.runCount, l.runLine, l.runLast)
	if l.runCount == 1 {
		where = fmt.Sprintf("1 bar on line %d looks", l.runLine)
	}
	l.warn(l.runLine, WarnDiv100, fmt.Sprintf("%s divided by 100 (close %v, typical price %v); %s",
		where, l.runClose, l.inst.TypicalPrice, what))
	l.runCount = 0
}

func (l *loader) warn(line int, kind, msg string) {
	l.warnings = append(l.warnings, Warning{File: l.name, Line: line, Kind: kind, Msg: msg})
}

// dataset builds the Dataset (without market features) from the kept bars and checks that
// the file has enough of them.
func (l *loader) dataset(warmupBars int) (*Dataset, error) {
	if l.bars.Len() == 0 {
		return nil, &ParseError{File: l.name, Err: fmt.Errorf("%w inside the data session %s %s (%d rows read, %d outside it)",
			ErrEmpty, l.inst.sessionString(), l.inst.Zone, l.rows, l.dropped)}
	}
	ds, err := newDataset(l.name, l.inst, l.bars)
	if err != nil {
		return nil, &ParseError{File: l.name, Err: err}
	}
	ds.Dropped = l.dropped
	ds.Warnings = l.warnings
	all := make([]int, len(ds.Sessions))
	for i := range all {
		all[i] = i
	}
	if len(ds.EligibleSessions(all, warmupBars)) == 0 {
		return nil, &ParseError{File: l.name, Err: fmt.Errorf(
			"%w: %d bars in %d session(s), and no session has warmup_bars (%d) bars of history before its entry bar at %s; want at least warmup_bars bars plus one session",
			ErrTooFewBars, ds.Bars.Len(), len(ds.Sessions), warmupBars, l.inst.EntryStart)}
	}
	return ds, nil
}
