package env

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the loader. It must never panic; every failure must be a
// *ParseError; a loaded dataset must satisfy the invariants the simulator relies on; and
// ValidateReader must agree with Read (no errors exactly when Read succeeds, and the same
// first error). Seeds: every file in testdata/ (the first 4 KB of each).
//
//	go test -run='^$' -fuzz=FuzzRead -fuzztime=60s ./internal/env/
func FuzzRead(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.csv"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:min(len(data), 4096)], false, false)
		f.Add(data[:min(len(data), 4096)], true, true)
	}
	in, ok := BuiltinInstrument("NQ")
	if !ok {
		f.Fatal("no NQ")
	}
	f.Fuzz(func(t *testing.T, data []byte, naiveNY, repair bool) {
		cfg := DefaultConfig()
		cfg.WarmupBars = 0
		cfg.RepairDiv100 = repair
		if naiveNY {
			cfg.DataTZ = "America/New_York"
		}
		ds, err := Read(bytes.NewReader(data), "fuzz.csv", in, cfg)
		errs, _, verr := ValidateReader(bytes.NewReader(data), "fuzz.csv", in, cfg, 10)
		if verr != nil {
			t.Fatalf("ValidateReader: configuration error %v", verr)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v (%T), want a *ParseError", err, err)
			}
			if len(errs) == 0 || errs[0].Error() != err.Error() {
				t.Fatalf("Read: %v; ValidateReader's first error: %v", err, errs)
			}
			return
		}
		if len(errs) != 0 {
			t.Fatalf("Read succeeded but ValidateReader found %v", errs)
		}
		checkDataset(t, ds)
	})
}

// checkDataset asserts the invariants of a loaded dataset.
func checkDataset(t *testing.T, ds *Dataset) {
	t.Helper()
	b := &ds.Bars
	n := b.Len()
	if n == 0 || len(b.Clock) != n || len(b.Session) != n || len(ds.Market) != n*MarketDim {
		t.Fatalf("bad lengths: %d bars, %d clocks, %d sessions, %d market", n, len(b.Clock), len(b.Session), len(ds.Market))
	}
	for i := range n {
		if i > 0 && b.Time[i] <= b.Time[i-1] {
			t.Fatalf("bar %d: time %d not after %d", i, b.Time[i], b.Time[i-1])
		}
		if _, err := checkBar(b.Open[i], b.High[i], b.Low[i], b.Close[i], b.Volume[i]); err != nil {
			t.Fatalf("bar %d: %v", i, err)
		}
		if !ds.Instrument.InDataSession(b.Clock[i]) {
			t.Fatalf("bar %d: clock %s outside the data session", i, b.Clock[i])
		}
	}
	next := 0
	for k, s := range ds.Sessions {
		if s.Start != next || s.End <= s.Start {
			t.Fatalf("session %d: [%d, %d) after %d", k, s.Start, s.End, next)
		}
		for i := s.Start; i < s.End; i++ {
			if int(b.Session[i]) != k {
				t.Fatalf("bar %d: session %d, want %d", i, b.Session[i], k)
			}
		}
		if s.EntryBar >= 0 && (s.EntryBar < s.Start || s.EntryBar >= s.End) ||
			s.FlattenBar >= 0 && (s.FlattenBar < s.Start || s.FlattenBar >= s.End) {
			t.Fatalf("session %d: entry %d flatten %d outside [%d, %d)", k, s.EntryBar, s.FlattenBar, s.Start, s.End)
		}
		next = s.End
	}
	if next != n {
		t.Fatalf("sessions cover %d of %d bars", next, n)
	}
}
