package tfevents

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"
)

// file returns an event file of n scalar events after the file-version event, and the
// offset where each record ends.
func file(t *testing.T, n int) ([]byte, []int) {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	var ends []int
	add := func(e Event) {
		if err := w.Write(&e); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, buf.Len()+w.Buffered())
	}
	add(Event{WallTime: 10, FileVersion: FileVersion})
	for i := range n {
		add(Event{WallTime: 11 + float64(i), Step: int64(100 * (i + 1)), Summary: []Value{
			{Tag: "s", SimpleValue: float32(i) / 4},
			{Tag: "h", Histo: NewHistogram([]float64{float64(i), 1, 2}, 3)},
		}})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ends
}

func TestReaderRoundTrip(t *testing.T) {
	data, _ := file(t, 3)
	r := NewReader(bytes.NewReader(data))
	var got []Event
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		e, err := ParseEvent(rec)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if r.Offset() != int64(len(data)) {
		t.Errorf("Offset() = %d after the last record, want %d", r.Offset(), len(data))
	}
	if len(got) != 4 || got[0].FileVersion != FileVersion || got[0].WallTime != 10 {
		t.Fatalf("events %+v: want the file-version event and 3 more", got)
	}
	for i, e := range got[1:] {
		want := Event{WallTime: 11 + float64(i), Step: int64(100 * (i + 1)), Summary: []Value{
			{Tag: "s", SimpleValue: float32(i) / 4},
			{Tag: "h", Histo: NewHistogram([]float64{float64(i), 1, 2}, 3)},
		}}
		if !reflect.DeepEqual(e, want) {
			t.Errorf("event %d = %+v, want %+v", i+1, e, want)
		}
	}
}

// TestReaderTornTail cuts a file at every byte: a cut between records reads as the end of
// the file after the records before it, any other cut as io.ErrUnexpectedEOF after them.
func TestReaderTornTail(t *testing.T) {
	data, ends := file(t, 2)
	for cut := 0; cut <= len(data); cut++ {
		r := NewReader(bytes.NewReader(data[:cut]))
		whole := 0
		var err error
		for {
			if _, err = r.Next(); err != nil {
				break
			}
			whole++
		}
		wantWhole := 0
		for _, e := range ends {
			if e <= cut {
				wantWhole++
			}
		}
		atBoundary := cut == 0 || wantWhole > 0 && ends[wantWhole-1] == cut
		switch {
		case whole != wantWhole:
			t.Fatalf("cut at %d: %d whole records, want %d", cut, whole, wantWhole)
		case atBoundary && !errors.Is(err, io.EOF):
			t.Fatalf("cut at %d (between records): %v, want io.EOF", cut, err)
		case !atBoundary && !errors.Is(err, io.ErrUnexpectedEOF):
			t.Fatalf("cut at %d (inside a record): %v, want io.ErrUnexpectedEOF", cut, err)
		}
		if r.Offset() != int64(ends[max(wantWhole-1, 0)]) && wantWhole > 0 {
			t.Fatalf("cut at %d: Offset() = %d, want %d", cut, r.Offset(), ends[wantWhole-1])
		}
	}
}

// TestReaderChecksums flips one bit in the length, its checksum, the data and the data's
// checksum of the second record.
func TestReaderChecksums(t *testing.T) {
	data, ends := file(t, 1)
	start := ends[0]
	for _, tc := range []struct {
		name string
		at   int
	}{
		{"length", start},
		{"length checksum", start + 8},
		{"data", start + 12},
		{"data checksum", ends[1] - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Clone(data)
			bad[tc.at] ^= 0x10
			r := NewReader(bytes.NewReader(bad))
			if _, err := r.Next(); err != nil {
				t.Fatalf("first record: %v", err)
			}
			_, err := r.Next()
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("second record with a flipped bit in its %s: %v, want ErrCorrupt", tc.name, err)
			}
			if r.Offset() != int64(start) {
				t.Errorf("Offset() = %d, want %d (the end of the last good record)", r.Offset(), start)
			}
		})
	}
}

func TestParseEventRejectsGarbage(t *testing.T) {
	for _, data := range [][]byte{
		{0x09, 1, 2},             // wall_time cut short
		{0x2a, 0x05, 0x0a},       // summary longer than the event
		{0x2a, 0x02, 0x0a, 0x05}, // a value longer than the summary
	} {
		if e, err := ParseEvent(data); err == nil {
			t.Errorf("ParseEvent(% x) = %+v, want an error", data, e)
		}
	}
}

func TestNewHistogram(t *testing.T) {
	nan := float32(0)
	nan /= nan
	for _, tc := range []struct {
		name   string
		values []float32
		n      int
		want   Histogram
	}{
		{"equal-width buckets, the maximum in the last", []float32{0, 1, 2, 3, 4}, 2,
			Histogram{Min: 0, Max: 4, Num: 5, Sum: 10, SumSquares: 30, BucketLimit: []float64{2, 4}, Bucket: []float64{2, 3}}},
		{"all equal: one bucket", []float32{0.5, 0.5, 0.5}, 10,
			Histogram{Min: 0.5, Max: 0.5, Num: 3, Sum: 1.5, SumSquares: 0.75, BucketLimit: []float64{0.5}, Bucket: []float64{3}}},
		{"non-finite values left out", []float32{nan, -1, 1}, 1,
			Histogram{Min: -1, Max: 1, Num: 2, Sum: 0, SumSquares: 2, BucketLimit: []float64{1}, Bucket: []float64{2}}},
		{"empty", nil, 4,
			Histogram{BucketLimit: []float64{0}, Bucket: []float64{0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewHistogram(tc.values, tc.n); !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("NewHistogram(%v, %d) = %+v, want %+v", tc.values, tc.n, *got, tc.want)
			}
		})
	}
}

func TestFileName(t *testing.T) {
	at := time.Unix(1700000000, 5e8)
	for host, want := range map[string]string{
		"box-1.example": "events.out.tfevents.1700000000.box-1.example",
		"a/b c":         "events.out.tfevents.1700000000.a_b_c",
		"":              "events.out.tfevents.1700000000.localhost",
	} {
		if got := FileName(at, host); got != want {
			t.Errorf("FileName(%v, %q) = %q, want %q", at, host, got, want)
		}
	}
}
