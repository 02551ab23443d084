package env

import (
	"math"
	"os"
	"testing"
	"time"
)

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadZone(t *testing.T) {
	for _, name := range []string{"", "UTC", "America/New_York", "Europe/London", "Asia/Tokyo"} {
		loc, err := loadZone(name)
		if err != nil || loc == nil {
			t.Errorf("loadZone(%q) = %v, %v", name, loc, err)
		}
	}
	for _, name := range []string{"Local", "America/Nowhere", "../etc/passwd"} {
		if _, err := loadZone(name); err == nil {
			t.Errorf("loadZone(%q): got nil error", name)
		}
	}
}

// zoneCache against the standard library on every hour of 2024 in New York, including both
// daylight-saving changes, visited out of order to exercise the cache's invalidation.
func TestZoneCacheMatchesTime(t *testing.T) {
	ny, _ := loadZone("America/New_York")
	zc := newZoneCache(ny)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for i := int64(0); i < 366*24; i++ {
		sec := start + ((i*7919)%(366*24))*3600 + 59*60 // a permutation of the hours, at :59
		day, clock := zc.local(sec)
		lt := time.Unix(sec, 0).In(ny)
		wantDay := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
		wantClock := Clock(lt.Hour()*60 + lt.Minute())
		if day != wantDay || clock != wantClock {
			t.Fatalf("%s: got day %d clock %s, want %d %s", lt, day, clock, wantDay, wantClock)
		}
	}
}

func TestFromWall(t *testing.T) {
	ny, _ := loadZone("America/New_York")
	wall := func(s string) int64 {
		tm, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Unix()
	}
	tests := []struct {
		name string
		wall string
		prev int64
		want string // RFC 3339 UTC, "" for a wall time that does not exist
	}{
		{"winter", "2024-01-15 09:30", math.MinInt64, "2024-01-15T14:30:00Z"},
		{"summer", "2024-07-15 09:30", math.MinInt64, "2024-07-15T13:30:00Z"},
		{"spring gap", "2024-03-10 02:30", math.MinInt64, ""},
		{"just after the gap", "2024-03-10 03:00", math.MinInt64, "2024-03-10T07:00:00Z"},
		{"fall back, first 01:30", "2024-11-03 01:30", math.MinInt64, "2024-11-03T05:30:00Z"},
		{"fall back, second 01:30 after the first", "2024-11-03 01:30", mustUnix(t, "2024-11-03T05:59:00Z"), "2024-11-03T06:30:00Z"},
		{"fall back, 01:30 after an earlier bar", "2024-11-03 01:30", mustUnix(t, "2024-11-03T05:00:00Z"), "2024-11-03T05:30:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh cache and a warm one (primed far away) must agree.
			for _, zc := range []*zoneCache{newZoneCache(ny), primed(ny)} {
				got, ok := zc.fromWall(wall(tc.wall), tc.prev)
				if tc.want == "" {
					if ok {
						t.Errorf("got %s, want no such wall time", utcString(got))
					}
					continue
				}
				if !ok || utcString(got) != tc.want {
					t.Errorf("got %s (ok %v), want %s", utcString(got), ok, tc.want)
				}
			}
		})
	}
}

func primed(loc *time.Location) *zoneCache {
	zc := newZoneCache(loc)
	zc.offset(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC).Unix())
	return zc
}

func mustUnix(t testing.TB, s string) int64 { return unix(t, s) }
