package env

import (
	"errors"
	"strconv"
)

// Unix integer timestamps are told apart by magnitude. A value v is read as
//
//	seconds       if v <  1e11 (1e11 s is the year 5138)
//	milliseconds  if v <  1e14
//	microseconds  if v <  1e17
//	nanoseconds   otherwise
//
// Every instant between 1973-03-03 (1e8 s) and the year 5138 is read correctly in every
// unit; an earlier instant is only recognised in seconds, which is irrelevant for minute
// bars of traded futures.
const (
	unixMaxSeconds = 1e11
	unixMaxMillis  = 1e14
	unixMaxMicros  = 1e17
)

var errTimeForm = errors.New("want RFC 3339 such as 2024-03-08T14:30:00Z or 2024-03-08 09:30:00-05:00, " +
	"a naive 2024-03-08 09:30:00 (read in data_tz), or integer Unix seconds, milliseconds, microseconds or nanoseconds")

// parseTime parses one time field. It returns Unix seconds, or, when naive is true, the
// wall-clock seconds since 1970-01-01 as if the zone were UTC (the caller resolves them in
// data_tz). Fractional seconds are truncated: bars are stamped at whole minutes.
//
// Accepted forms: all digits (Unix, see the thresholds above); YYYY-MM-DD, then 'T', 't' or
// one space, then HH:MM[:SS[.fraction]], then nothing (naive) or an optional space and 'Z',
// 'z', ±HH, ±HHMM or ±HH:MM.
func parseTime(s string) (sec int64, naive bool, err error) {
	if s == "" {
		return 0, false, errTimeForm
	}
	if allDigits(s) {
		if len(s) > 19 {
			return 0, false, errors.New("integer time out of range")
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false, errors.New("integer time out of range")
		}
		switch {
		case v < unixMaxSeconds:
			return v, false, nil
		case v < unixMaxMillis:
			return v / 1e3, false, nil
		case v < unixMaxMicros:
			return v / 1e6, false, nil
		default:
			return v / 1e9, false, nil
		}
	}
	// YYYY-MM-DD
	if len(s) < 16 || s[4] != '-' || s[7] != '-' {
		return 0, false, errTimeForm
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return 0, false, errTimeForm
	}
	if c := s[10]; c != 'T' && c != 't' && c != ' ' {
		return 0, false, errTimeForm
	}
	// HH:MM[:SS[.fraction]]
	hour, ok1 := digits(s[11:13])
	minute, ok2 := digits(s[14:16])
	if !ok1 || !ok2 || s[13] != ':' || hour > 23 || minute > 59 {
		return 0, false, errTimeForm
	}
	second := 0
	rest := s[16:]
	if len(rest) > 0 && rest[0] == ':' {
		if len(rest) < 3 {
			return 0, false, errTimeForm
		}
		var ok bool
		if second, ok = digits(rest[1:3]); !ok || second > 59 {
			return 0, false, errTimeForm
		}
		rest = rest[3:]
		if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
			n := 1
			for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
				n++
			}
			if n == 1 {
				return 0, false, errTimeForm
			}
			rest = rest[n:]
		}
	}
	wall := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+second)
	if len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
		if rest == "" {
			return 0, false, errTimeForm
		}
	}
	switch {
	case rest == "":
		return wall, true, nil
	case rest == "Z" || rest == "z":
		return wall, false, nil
	case rest[0] == '+' || rest[0] == '-':
		var oh, om int
		var ok bool
		switch len(rest) {
		case 3: // ±HH
			oh, ok = digits(rest[1:3])
		case 5: // ±HHMM
			oh, ok = digits(rest[1:3])
			if ok {
				om, ok = digits(rest[3:5])
			}
		case 6: // ±HH:MM
			oh, ok = digits(rest[1:3])
			if ok && rest[3] == ':' {
				om, ok = digits(rest[4:6])
			} else {
				ok = false
			}
		}
		if !ok || oh > 23 || om > 59 {
			return 0, false, errTimeForm
		}
		off := int64(oh*3600 + om*60)
		if rest[0] == '-' {
			off = -off
		}
		return wall - off, false, nil
	}
	return 0, false, errTimeForm
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// digits parses a short all-digit string.
func digits(s string) (int, bool) {
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, len(s) > 0
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to the proleptic Gregorian date
// (Howard Hinnant's days_from_civil): the loader converts a year of bars without time.Date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= 0: parseTime accepts years 0001..9999
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
