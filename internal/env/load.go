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
	return LoadFiles([]string{path}, inst, cfg)
}

// LoadFiles is Load for several bar files of one instrument: each file is read and
// validated on its own (errors name the file and its lines), then the files are merged in
// time order, whatever order they are given in. Files must cover separate time ranges: a
// file whose first row is not after the last row of a file that starts before it is an
// error naming both files and lines, wrapping ErrOverlap. Dataset.Source is the file names
// joined by commas, in the order given. Use DataFiles to expand directories first.
func LoadFiles(paths []string, inst Instrument, cfg Config) (*Dataset, error) {
	if len(paths) == 0 {
		return nil, errors.New("env: no bar files given")
	}
	files := make([]*loader, 0, len(paths))
	for _, p := range paths {
		l, err := newLoader(p, inst, cfg, stopAtFirst)
		if err != nil {
			return nil, err
		}
		l.readFile(p)
		if len(l.errs) > 0 {
			return nil, l.errs[0]
		}
		files = append(files, l)
	}
	return finish(files, cfg.WarmupBars)
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
	return finish([]*loader{l}, cfg.WarmupBars)
}

// finish merges the files that read without error, checks that they do not overlap and
// that the bars suffice, and precomputes the market features.
func finish(files []*loader, warmupBars int) (*Dataset, error) {
	m := mergeFiles(files)
	if len(m.overlaps) > 0 {
		return nil, m.overlaps[0]
	}
	ds, err := m.dataset(warmupBars)
	if err != nil {
		return nil, err
	}
	ds.Market = marketFeatures(ds)
	return ds, nil
}

// readFile reads the file at path; a file that cannot be opened is one ErrRead error.
func (l *loader) readFile(path string) {
	f, err := os.Open(path)
	if err != nil {
		l.fail(0, 0, fmt.Errorf("%w: %w", ErrRead, err))
		return
	}
	defer f.Close()
	l.read(f)
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
	// lineBase is added to the lines the CSV reader counts: a BarStream parses each line with
	// a reader of its own, which counts from 1.
	lineBase int

	idx   [numCols]int    // field index of each column
	order [numCols]int    // the columns in field order, so a row's first error is its leftmost
	names [numCols]string // header names as written, for messages

	bars     Bars
	rows     int // data rows read
	dropped  int
	warnings []Warning

	// Previous row with a valid time, for the order check; at the end, the last one. The
	// first one is kept too: merging several files compares their time ranges.
	havePrev  bool
	prevSec   int64
	prevLine  int
	firstSec  int64
	firstLine int

	// Line of the first kept bar, for the warnings at the boundary between two files.
	firstKeptLine int

	// Previous kept bar, for the gap and jump warnings.
	haveKept  bool
	keptDay   int64
	keptClock Clock
	keptClose float64
	keptLine  int

	// The open run of bars that look divided by 100.
	runCount, runLine, runLast int
	runClose                   float64

	// Bars inside the data session on holidays of the instrument's calendar, dropped, and
	// the open run of one holiday's bars (one warning each). uncovered: the last kept bar's
	// date lies outside the dates the calendar covers (load_calendar.go).
	holidayBars int
	holiday     holidayRun
	uncovered   bool
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
	line := l.fieldLine(cr, 0)
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
		tl := l.fieldLine(cr, l.idx[colTime])
		if l.havePrev && sec <= l.prevSec {
			what := "before"
			if sec == l.prevSec {
				what = "the same as"
			}
			add(colTime, fmt.Errorf("%w: %s %q is %s line %d's %s (UTC)",
				ErrTimeOrder, l.names[colTime], strings.TrimSpace(rec[l.idx[colTime]]), what, l.prevLine, utcString(l.prevSec)))
		} else {
			if !l.havePrev {
				l.firstSec, l.firstLine = sec, tl
			}
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
		ln := l.fieldLine(cr, e.col)
		l.fail(ln, e.col+1, e.err)
		if l.stopped() {
			return
		}
	}
}

// fieldLine is the file line on which field i of the record cr last read starts.
func (l *loader) fieldLine(cr *csv.Reader, i int) int {
	line, _ := cr.FieldPos(i)
	return l.lineBase + line
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
	if l.onHoliday(line, day) {
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
	if l.haveKept {
		prev := keptBar{day: l.keptDay, clock: l.keptClock, close: l.keptClose, where: fmt.Sprintf("line %d", l.keptLine)}
		l.warnings = prev.follow(keptBar{day: day, clock: clock, close: c}, l.inst, l.name, line, l.warnings)
	} else {
		l.firstKeptLine = line
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

// endRun closes the open run of divided-by-100 bars with one warning, and the open run of a
// holiday's dropped bars (endHoliday): both end at an ordinary bar and at the end.
func (l *loader) endRun() {
	l.endHoliday()
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

// keptBar is what the gap and jump warnings need of a kept bar; where names it in messages
// ("line 3", or "a.csv:511" for the last bar of another file).
type keptBar struct {
	day   int64
	clock Clock
	close float64
	where string
}

// follow appends to ws the warnings of bar b (at file:line) coming right after bar p: a gap
// when minutes of the data session are missing between them on one day, a jump when the
// close moved more than 5%.
func (p keptBar) follow(b keptBar, inst Instrument, file string, line int, ws []Warning) []Warning {
	if b.day == p.day {
		if n := inst.missingMinutes(p.clock, b.clock); n > 0 {
			ws = append(ws, Warning{File: file, Line: line, Kind: WarnGap, Msg: fmt.Sprintf(
				"gap inside the session %s: %d minute(s) missing between the %s bar (%s) and the %s bar",
				dayString(b.day), n, p.clock, p.where, b.clock)})
		}
	}
	// Compared as |c - p| > 5% of p: c/p - 1 would flag an exact 5% move (1.05 - 1 > 0.05).
	if math.Abs(b.close-p.close) > jumpLimit*p.close {
		ws = append(ws, Warning{File: file, Line: line, Kind: WarnJump, Msg: fmt.Sprintf(
			"close jumped %+.2f%% from %v (%s) to %v", 100*(b.close/p.close-1), p.close, p.where, b.close)})
	}
	return ws
}
