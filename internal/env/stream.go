package env

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// BarStream reads a bar file one line at a time, as a live feed delivers it: a header line,
// then one bar per line. Each line is parsed and validated with Load's rules and messages
// (docs/data.md), and a valid bar inside the data session is appended to a growing Dataset
// whose sessions and market features are computed as the bar arrives, by the same code
// that NewDataset and Load run over a whole file. A stream of a file's lines therefore
// holds exactly the Dataset Load returns for it (TestBarStreamMatchesLoad), bit for bit.
//
// Unlike Load, a bad line does not end the stream: Add returns its error and the bar is
// left out, as if the line had not been there. Its time, even when valid, does not become
// the reference of the order check (a file's does): a feed that sends a corrupt bar and
// then the bar again is not refused the second time. Each line is its own CSV record: a
// quoted field cannot span lines. Not safe for concurrent use.
type BarStream struct {
	l    *loader
	ds   *Dataset
	zc   *zoneCache
	sb   sessionBuilder
	feat *marketState
	line int // lines given so far, the header included
}

// BarEvent says what became of one line given to BarStream.Add.
type BarEvent struct {
	Line int   // the line's number: the header is line 1
	Time int64 // the bar's open time, Unix seconds (0 for a blank line)

	// Bar is the index of the line's bar in the Dataset, or -1 when it holds none: a blank
	// line, or a valid bar that was dropped (Dropped, Holiday).
	Bar     int
	Dropped bool // a valid bar whose open time is outside the instrument's data session
	Holiday bool // a valid bar on a holiday of the instrument's calendar

	// Warnings found at this line: gaps and jumps against the previous bar, and a run of
	// bars that look divided by 100 when it ends (its warning names its first line).
	Warnings []Warning
}

// NewBarStream returns a stream for inst; name stands for the source in errors (for
// example "stdin") and is the Dataset's Source. It reads cfg.DataTZ and cfg.RepairDiv100.
func NewBarStream(name string, inst Instrument, cfg Config) (*BarStream, error) {
	l, err := newLoader(name, inst, cfg, 0)
	if err != nil {
		return nil, err
	}
	return &BarStream{
		l:    l,
		ds:   &Dataset{Source: name, Instrument: inst},
		zc:   newZoneCache(inst.Zone),
		sb:   sessionBuilder{inst: inst},
		feat: newMarketState(1024),
	}, nil
}

// ErrHeaderFirst: Add was called before the header was read.
var ErrHeaderFirst = errors.New("env: bar stream: the header line comes first")

// Header reads the header line (line 1). A missing or duplicated column is a *ParseError
// (ErrMissingColumn, ErrDuplicateColumn), as for a file, and the stream cannot go on.
func (s *BarStream) Header(line string) error {
	if s.line > 0 {
		return errors.New("env: bar stream: the header was already read")
	}
	s.line = 1
	rec, err := lineReader(line).Read()
	switch {
	case err == io.EOF:
		s.l.fail(1, 0, fmt.Errorf("%w: empty header line (want the column names)", ErrEmpty))
	case err != nil:
		s.l.csvError(err)
	default:
		s.l.columns(rec)
	}
	if len(s.l.errs) > 0 {
		s.l.fatal = true
		return s.l.errs[0]
	}
	return nil
}

// Add reads the next line (without its line end). A bad line returns its first error, a
// *ParseError naming the stream, the line and the column as Load would, and leaves the
// dataset as it was; the stream goes on with the next line.
func (s *BarStream) Add(line string) (BarEvent, error) {
	if s.line == 0 || s.l.fatal {
		return BarEvent{Bar: -1}, ErrHeaderFirst
	}
	s.line++
	ev := BarEvent{Line: s.line, Bar: -1}
	l := s.l
	cr := lineReader(line)
	rec, err := cr.Read()
	switch {
	case err == io.EOF: // a blank line, which CSV skips
		return ev, nil
	case err != nil:
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%w: %v (byte %d of the line)", ErrSyntax, pe.Err, pe.Column)
		}
		return ev, &ParseError{File: l.name, Line: s.line, Err: err}
	}

	// The loader parses, validates and keeps the row; its counters say what happened.
	kept, dropped, holiday, nwarn := l.bars.Len(), l.dropped, l.holidayBars, len(l.warnings)
	havePrev, prevSec, prevLine := l.havePrev, l.prevSec, l.prevLine
	l.lineBase = s.line - 1
	l.rows++
	l.row(cr, rec)
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[:0] // each line reports its own first error
		l.havePrev, l.prevSec, l.prevLine = havePrev, prevSec, prevLine
		return ev, err
	}
	ev.Time = l.prevSec // a good row's time is the order check's reference now
	if nw := len(l.warnings); nw > nwarn {
		ev.Warnings = append([]Warning(nil), l.warnings[nwarn:]...)
	}
	l.warnings = l.warnings[:0]
	switch {
	case l.dropped > dropped:
		ev.Dropped = true
		s.ds.Dropped = l.dropped
		return ev, nil
	case l.holidayBars > holiday:
		ev.Holiday = true
		return ev, nil
	}
	if l.bars.Len() == kept {
		return ev, nil
	}
	ev.Bar = s.grow()
	return ev, nil
}

// grow appends the loader's newest bar to the dataset: its clock, its session and its row
// of market features. It returns the bar's index.
func (s *BarStream) grow() int {
	ds, lb := s.ds, &s.l.bars
	i := lb.Len() - 1
	b := &ds.Bars
	b.Time, b.Open, b.High, b.Low, b.Close, b.Volume = lb.Time, lb.Open, lb.High, lb.Low, lb.Close, lb.Volume
	day, clock := s.zc.local(b.Time[i])
	b.Clock = append(b.Clock, clock)
	ds.Sessions = s.sb.add(ds.Sessions, i, day, clock)
	b.Session = append(b.Session, int32(len(ds.Sessions)-1))
	var row [MarketDim]float32
	ds.Market = append(ds.Market, row[:]...)
	s.feat.row(ds, i, ds.Market[i*MarketDim:])
	return i
}

// lineReader returns a CSV reader over one line with the loader's settings. Its Read gives
// the line's record (io.EOF for a blank line); the loader then asks it where each field
// starts.
func lineReader(line string) *csv.Reader {
	r := csv.NewReader(strings.NewReader(line))
	r.FieldsPerRecord = -1 // rows may carry extra columns; missing fields are checked per row
	return r
}

// Dataset is the bars read so far, with their sessions and market features. It grows with
// each Add: the slices it holds may be replaced, so read them again after an Add. The last
// session may still grow: its End, and its FlattenBar until a bar at or after the flatten
// time arrives, describe its bars so far.
func (s *BarStream) Dataset() *Dataset { return s.ds }

// Warnings returns the warnings that only the end of the stream brings: a run of bars that
// look divided by 100 still open at the last line. Call it once, at the end.
func (s *BarStream) Warnings() []Warning {
	s.l.endRun()
	ws := append([]Warning(nil), s.l.warnings...)
	s.l.warnings = s.l.warnings[:0]
	return ws
}
