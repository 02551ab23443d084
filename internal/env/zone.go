package env

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	// The zone database is embedded so that the binary converts times correctly on a
	// machine without /usr/share/zoneinfo (a container, Windows): about 450 KB.
	_ "time/tzdata"
)

// zones caches loaded locations: time.LoadLocation parses the zone file on every call.
var zones sync.Map // string -> *time.Location

// loadZone returns the IANA zone called name ("UTC", "America/New_York", ...). "Local" is
// refused: a run must mean the same thing on every machine. The error has no "env:" prefix;
// callers add the key at fault.
func loadZone(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, errors.New(`time zone "Local" depends on the machine; name an IANA zone such as "America/New_York"`)
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as \"America/New_York\" or \"UTC\")", name)
	}
	zones.Store(name, loc)
	return loc, nil
}

// zoneCache converts Unix seconds to local wall-clock seconds in one zone. It remembers the
// offset and the interval in which it holds (time.Time.ZoneBounds), so that a time-ordered
// series costs one comparison per bar instead of a zone lookup: the loader and NewDataset
// convert every bar.
type zoneCache struct {
	loc        *time.Location
	start, end int64 // the cached offset holds for Unix seconds in [start, end)
	off        int64 // seconds east of UTC
}

func newZoneCache(loc *time.Location) *zoneCache {
	return &zoneCache{loc: loc, start: 1, end: 0} // empty interval: first call looks up
}

// offset returns the zone's UTC offset in seconds at Unix second sec.
func (z *zoneCache) offset(sec int64) int64 {
	if sec >= z.start && sec < z.end {
		return z.off
	}
	t := time.Unix(sec, 0).In(z.loc)
	_, off := t.Zone()
	s, e := t.ZoneBounds()
	z.off = int64(off)
	z.start, z.end = math.MinInt64, math.MaxInt64
	if !s.IsZero() {
		z.start = s.Unix()
	}
	if !e.IsZero() {
		z.end = e.Unix()
	}
	return z.off
}

// local returns the local day number (days since 1970-01-01 in the zone) and the
// time of day (minutes after local midnight) of Unix second sec.
func (z *zoneCache) local(sec int64) (day int64, clock Clock) {
	w := sec + z.offset(sec)
	day = floorDiv(w, 86400)
	return day, Clock((w - day*86400) / 60)
}

// fromWall returns the Unix second at which the zone's wall clock shows w (local seconds
// since 1970-01-01 as if the zone were UTC). A wall time inside a DST fall-back hour exists
// twice: the earliest instant after prev is taken (prev = math.MinInt64 for none), so that
// a naive file that simply repeats the hour stays in order. A wall time inside a
// spring-forward gap does not exist: ok is false.
func (z *zoneCache) fromWall(w, prev int64) (sec int64, ok bool) {
	if z.loc == time.UTC {
		return w, true
	}
	// Fast path: the cached offset gives an instant well inside the cached interval, where
	// no other offset can also map to w (offsets differ by at most a day).
	if u := w - z.off; u > z.start+86400 && u < z.end-86400 {
		return u, true
	}
	// Slow path: the offsets in force a little before and after the wall time are the only
	// candidates (zone transitions are months apart).
	var cands [2]int64
	n := 0
	for _, probe := range [2]int64{w - 2*86400, w + 2*86400} {
		o := z.offset(probe)
		u := w - o
		if z.offset(u) == o && (n == 0 || cands[0] != u) {
			cands[n] = u
			n++
		}
	}
	switch {
	case n == 0:
		return 0, false
	case n == 2 && cands[1] < cands[0]:
		cands[0], cands[1] = cands[1], cands[0]
	}
	if n == 2 && cands[0] <= prev {
		return cands[1], true
	}
	return cands[0], true
}

// floorDiv is a / b rounded toward minus infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// dayString formats a local day number as YYYY-MM-DD.
func dayString(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
}
