package env

import (
	"errors"
	"testing"
)

func TestParseTime(t *testing.T) {
	// 2024-03-08T14:30:00Z = 1709908200: 19790 days x 86400 + 14.5 h (19790 days from
	// 1970-01-01 to 2024-03-08: 54 years with 13 leap days = 19723, plus 67 days of 2024).
	const want = 19790*86400 + 14*3600 + 30*60
	tests := []struct {
		in    string
		sec   int64
		naive bool
	}{
		{"2024-03-08T14:30:00Z", want, false},
		{"2024-03-08 14:30:00", want, true},
		{"2024-03-08 14:30", want, true},
		{"2024-03-08T14:30:59.999999999Z", want + 59, false}, // fractions truncate
		{"2024-03-08T14:30:00,5Z", want, false},              // ISO 8601 decimal comma
		{"2024-03-08T23:30:00+09:00", want, false},
		{"2024-03-08T14:30:00-00:00", want, false},
		{"2024-03-08 10:00:00-04:30", want, false},
		{"2024-02-29T00:00:00Z", 19782 * 86400, false}, // leap day
		{"1970-01-01T00:00:00Z", 0, false},
		{"2000-03-01T00:00:00Z", 11017 * 86400, false},
		// Unix integers: each unit on both sides of its threshold.
		{"1709908200", want, false},
		{"99999999999", 99999999999, false},       // largest seconds (1e11 - 1)
		{"100000000000", 100000000, false},        // smallest milliseconds: 1e8 s
		{"99999999999999", 99999999999, false},    // largest milliseconds
		{"100000000000000", 100000000, false},     // smallest microseconds
		{"1709908200123", want, false},            // ms
		{"1709908200123456", want, false},         // us
		{"1709908200123456789", want, false},      // ns
		{"99999999999999999", 99999999999, false}, // largest microseconds
		{"100000000000000000", 100000000, false},  // smallest nanoseconds
		{"0", 0, false},
	}
	for _, tc := range tests {
		sec, naive, err := parseTime(tc.in)
		if err != nil || sec != tc.sec || naive != tc.naive {
			t.Errorf("parseTime(%q) = %d, %v, %v; want %d, %v", tc.in, sec, naive, err, tc.sec, tc.naive)
		}
	}
}

func TestParseTimeRejects(t *testing.T) {
	for _, in := range []string{
		"", " ", "abc", "2024-03-08", "2024-03-08T", "2024-03-08T14", "2024-03-08T14:3", "2024/03/08 14:30:00",
		"2024-3-08 14:30:00", "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-00-01T00:00:00Z",
		"0000-01-01T00:00:00Z", "2024-03-08T24:00:00Z", "2024-03-08T14:60:00Z", "2024-03-08T14:30:60Z",
		"2024-03-08T14:30:00.Z", "2024-03-08T14:30:0Z", "2024-03-08T14:30:00+5", "2024-03-08T14:30:00+05:0",
		"2024-03-08T14:30:00+24:00", "2024-03-08T14:30:00+05:60", "2024-03-08T14:30:00ZZ", "2024-03-08T14:30:00 ",
		"2024-03-08X14:30:00", "1709908200.0", "-1709908200", "+1709908200", "1e9", "17099082001234567890",
		"99999999999999999999", "2024-03-08T14:30:00 EST", "١٧٠٩٩٠٨٢٠٠",
	} {
		if sec, naive, err := parseTime(in); err == nil {
			t.Errorf("parseTime(%q) = %d, %v; want an error", in, sec, naive)
		}
	}
}

// The loader wraps every time error in ErrBadTime.
func TestParseTimeWrapped(t *testing.T) {
	l, err := newLoader("f", nq(t), testConfig(), stopAtFirst)
	if err != nil {
		t.Fatal(err)
	}
	l.names[colTime] = "ts"
	_, err = l.parseTime("tomorrow")
	if !errors.Is(err, ErrBadTime) || err.Error()[:15] != `ts "tomorrow": ` {
		t.Errorf("got %v, want ts \"tomorrow\": wrapping ErrBadTime", err)
	}
}
