package env

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrOverlap: two bar files given together share a time range (a duplicated or an
// interleaved minute); wrapped by a *ParseError at the later file's first row.
var ErrOverlap = errors.New("files overlap in time")

// DataFiles expands the data paths of a run into bar files: a file stays as it is, a
// directory stands for the files directly inside it whose names end in .csv (any case), in
// name order; subdirectories and other files are ignored. A path that does not exist, or a
// directory without a CSV file, is a *ParseError wrapping ErrRead (a missing path also
// matches fs.ErrNotExist). The same file named twice is an error: it would overlap itself.
// No paths at all is a plain error.
func DataFiles(paths []string) ([]string, error) {
	var out []string
	seen := map[string]string{} // cleaned path -> as given
	add := func(p, given string) error {
		key := filepath.Clean(p)
		if prev, ok := seen[key]; ok {
			return &ParseError{File: given, Err: fmt.Errorf("%w: %s is given twice (also as %s)", ErrOverlap, p, prev)}
		}
		seen[key] = given
		out = append(out, p)
		return nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, &ParseError{File: p, Err: fmt.Errorf("%w: %w", ErrRead, err)}
		}
		if !st.IsDir() {
			if err := add(p, p); err != nil {
				return nil, err
			}
			continue
		}
		entries, err := os.ReadDir(p) // sorted by name
		if err != nil {
			return nil, &ParseError{File: p, Err: fmt.Errorf("%w: %w", ErrRead, err)}
		}
		n := 0
		for _, e := range entries {
			if !strings.EqualFold(filepath.Ext(e.Name()), ".csv") {
				continue
			}
			full := filepath.Join(p, e.Name())
			if st, err := os.Stat(full); err != nil || st.IsDir() {
				continue // a directory named x.csv, or a broken link: not a bar file
			}
			if err := add(full, p); err != nil {
				return nil, err
			}
			n++
		}
		if n == 0 {
			return nil, &ParseError{File: p, Err: fmt.Errorf("%w: directory has no .csv files", ErrRead)}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("env: no bar files given")
	}
	return out, nil
}

// mergedFiles is the bars of one or more files, each read by its own loader, in time order.
type mergedFiles struct {
	name     string // the file, or the files joined by commas in the order given
	inst     Instrument
	bars     Bars
	rows     int
	dropped  int
	holidays int       // bars dropped on holidays
	warnings []Warning // each file's, in merge order, then those at the boundaries
	overlaps []error   // *ParseError wrapping ErrOverlap, in merge order
}

// mergeFiles orders the files by their first row and concatenates their kept bars. Two
// files overlap when one's first row is not after the last row of a file that starts
// before it (all rows with a valid time count, also those outside the data session: the
// same minute from two sources is a defect even where it is dropped). Where files meet,
// the gap and jump warnings compare the last bar of one with the first of the next.
func mergeFiles(files []*loader) *mergedFiles {
	names := make([]string, len(files))
	for i, l := range files {
		names[i] = l.name
	}
	m := &mergedFiles{name: strings.Join(names, ","), inst: files[0].inst}
	order := slices.Clone(files)
	// Files without a valid row have no range; they sort first and add nothing.
	slices.SortStableFunc(order, func(a, b *loader) int {
		if a.havePrev != b.havePrev {
			if a.havePrev {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.firstSec, b.firstSec)
	})
	var reach *loader // the file, among those before, whose last row is latest
	var last *loader  // the last file with kept bars so far
	n, withBars := 0, 0
	for _, l := range order {
		n += l.bars.Len()
		if l.bars.Len() > 0 {
			withBars++
		}
	}
	b := &m.bars
	if withBars > 1 {
		b.Time = make([]int64, 0, n)
		b.Open, b.High, b.Low = make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n)
		b.Close, b.Volume = make([]float64, 0, n), make([]float64, 0, n)
	}
	for _, l := range order {
		m.rows += l.rows
		m.dropped += l.dropped
		m.holidays += l.holidayBars
		m.warnings = append(m.warnings, l.warnings...)
		if !l.havePrev {
			continue
		}
		if reach != nil && l.firstSec <= reach.prevSec {
			m.overlaps = append(m.overlaps, overlapError(l, reach))
		}
		if reach == nil || l.prevSec > reach.prevSec {
			reach = l
		}
		if l.bars.Len() == 0 {
			continue
		}
		if last != nil {
			lb := &last.bars
			k := lb.Len() - 1
			day, clock := last.exZone.local(lb.Time[k])
			p := keptBar{day: day, clock: clock, close: lb.Close[k], where: fmt.Sprintf("%s:%d", last.name, last.keptLine)}
			day, clock = l.exZone.local(l.bars.Time[0])
			m.warnings = p.follow(keptBar{day: day, clock: clock, close: l.bars.Close[0]}, m.inst, l.name, l.firstKeptLine, m.warnings)
		}
		last = l
		if withBars == 1 {
			*b = l.bars // one file: its columns as they are, without a copy
			continue
		}
		b.Time = append(b.Time, l.bars.Time...)
		b.Open = append(b.Open, l.bars.Open...)
		b.High = append(b.High, l.bars.High...)
		b.Low = append(b.Low, l.bars.Low...)
		b.Close = append(b.Close, l.bars.Close...)
		b.Volume = append(b.Volume, l.bars.Volume...)
	}
	// Each file's warnings are in line order already; keep files in merge order and put a
	// boundary warning among its file's own by line.
	rank := make(map[string]int, len(order))
	for i, l := range order {
		rank[l.name] = i
	}
	slices.SortStableFunc(m.warnings, func(a, b Warning) int {
		return cmp.Or(cmp.Compare(rank[a.File], rank[b.File]), cmp.Compare(a.Line, b.Line))
	})
	return m
}

// overlapError reports file l's first row, which is not after the last row of file prev.
func overlapError(l, prev *loader) error {
	what := "is not after"
	if l.firstSec == prev.prevSec {
		what = "is the same as"
	}
	return &ParseError{File: l.name, Line: l.firstLine, Column: l.idx[colTime] + 1, Err: fmt.Errorf(
		"%w: its first row, %s (UTC), %s %s:%d's %s, the last row of that file (rows from line %d); files must cover separate time ranges",
		ErrOverlap, utcString(l.firstSec), what, prev.name, prev.prevLine, utcString(prev.prevSec), prev.firstLine)}
}

// dataset builds the Dataset (without market features) from the merged bars and checks
// that there are enough of them.
func (m *mergedFiles) dataset(warmupBars int) (*Dataset, error) {
	if m.bars.Len() == 0 {
		onHolidays := ""
		if m.holidays > 0 {
			onHolidays = fmt.Sprintf(", %d on holidays of the %s calendar", m.holidays, m.inst.Calendar.Name())
		}
		return nil, &ParseError{File: m.name, Err: fmt.Errorf("%w inside the data session %s %s (%d rows read, %d outside it%s)",
			ErrEmpty, m.inst.sessionString(), m.inst.Zone, m.rows, m.dropped, onHolidays)}
	}
	ds, err := newDataset(m.name, m.inst, m.bars)
	if err != nil {
		return nil, &ParseError{File: m.name, Err: err}
	}
	ds.Dropped = m.dropped
	ds.HolidayBars = m.holidays
	ds.Warnings = m.warnings
	all := make([]int, len(ds.Sessions))
	for i := range all {
		all[i] = i
	}
	if len(ds.EligibleSessions(all, warmupBars)) == 0 {
		return nil, &ParseError{File: m.name, Err: fmt.Errorf(
			"%w: %d bars in %d session(s), and no session has warmup_bars (%d) bars of history before its entry bar at %s; want at least warmup_bars bars plus one session",
			ErrTooFewBars, ds.Bars.Len(), len(ds.Sessions), warmupBars, m.inst.EntryStart)}
	}
	return ds, nil
}
