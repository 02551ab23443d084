package env

import (
	"fmt"
	"io"
)

// Warning is a non-fatal finding of the loader: a gap inside a session, bars that look
// divided by 100, a bar-to-bar close jump over 5%, the dropped bars of a holiday, or dates
// the calendar does not cover. Line is the file line of the bar it concerns (the first bar
// of a run).
type Warning struct {
	File string
	Line int
	Kind string // WarnGap, WarnDiv100, WarnJump, WarnHoliday or WarnCalendar
	Msg  string
}

// Kinds of Warning.
const (
	WarnGap    = "gap"    // minutes missing between two bars of one session (breaks excluded)
	WarnDiv100 = "div100" // a run of bars whose close looks divided by 100 (see docs/data.md)
	WarnJump   = "jump"   // |close / previous close - 1| > 5%

	// WarnHoliday: bars on a holiday of the instrument's calendar, dropped (one warning per
	// holiday).
	WarnHoliday = "holiday"
	// WarnCalendar: bars on dates the instrument's calendar does not cover, where holidays
	// and early closes are unknown (one warning where such dates begin).
	WarnCalendar = "calendar"
)

// jumpLimit is the bar-to-bar relative close change above which a jump warning is given.
const jumpLimit = 0.05

// String formats the warning as "file:line: warning: msg".
func (w Warning) String() string {
	return fmt.Sprintf("%s:%d: warning: %s", w.File, w.Line, w.Msg)
}

// ValidateFile checks a bar file completely instead of stopping at the first defect (the
// `data validate` command). errs lists, in file order, at most limit errors, each a
// *ParseError with its line and column; when more were found, one *OmittedError ("and N
// more errors") follows them. limit <= 0 lists every error. A file that cannot be opened
// gives one *ParseError wrapping ErrRead. warnings are those of the valid bars. err is
// non-nil only for a configuration problem (cfg.DataTZ, an instrument without zone), never
// for a defect of the file.
//
// After a CSV syntax error, a missing or duplicated column, the file cannot be read further
// and that error is the last one. The too-few-bars check runs only on a file without other
// errors.
func ValidateFile(path string, inst Instrument, cfg Config, limit int) (errs []error, warnings []Warning, err error) {
	return ValidateFiles([]string{path}, inst, cfg, limit)
}

// ValidateFiles is ValidateFile for several files that LoadFiles would merge: each file's
// errors in the order the files are given, then the overlaps between files (ErrOverlap);
// limit counts them all together. The too-few-bars check runs on the merged bars, when no
// file has another error.
func ValidateFiles(paths []string, inst Instrument, cfg Config, limit int) (errs []error, warnings []Warning, err error) {
	files := make([]*loader, 0, len(paths))
	for _, p := range paths {
		l, err := newLoader(p, inst, cfg, max(limit, 0))
		if err != nil {
			return nil, nil, err
		}
		l.readFile(p)
		files = append(files, l)
	}
	return validated(files, max(limit, 0), cfg.WarmupBars)
}

// ValidateReader is ValidateFile for an open reader; name is used in errors.
func ValidateReader(r io.Reader, name string, inst Instrument, cfg Config, limit int) (errs []error, warnings []Warning, err error) {
	l, err := newLoader(name, inst, cfg, max(limit, 0))
	if err != nil {
		return nil, nil, err
	}
	l.read(r)
	return validated([]*loader{l}, max(limit, 0), cfg.WarmupBars)
}

// validated gathers the errors of files that were read completely, up to limit (0: all),
// followed by an *OmittedError when more were found.
func validated(files []*loader, limit, warmupBars int) (errs []error, warnings []Warning, err error) {
	total := 0
	keep := func(e ...error) {
		for _, x := range e {
			if limit == 0 || len(errs) < limit {
				errs = append(errs, x)
			}
		}
	}
	for _, l := range files {
		total += l.total
		keep(l.errs...)
	}
	m := mergeFiles(files)
	total += len(m.overlaps)
	keep(m.overlaps...)
	if total == 0 {
		if _, err := m.dataset(warmupBars); err != nil {
			total++
			keep(err)
		}
	}
	if total > len(errs) {
		errs = append(errs, &OmittedError{Count: total - len(errs)})
	}
	return errs, m.warnings, nil
}
