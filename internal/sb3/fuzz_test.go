package sb3

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/nlpodyssey/gopickle/types"
)

// fuzzConfig keeps what a fuzzed input may make the reader load small.
var fuzzConfig = Config{ObsDim: 228, NumActions: 6, MaxBytes: 1 << 20}

// checkReadError fails unless err is nil or an *Error matching policy.ErrCheckpoint.
func checkReadError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if err != nil && !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
}

// FuzzVecNormalize feeds the statistics reader (scan, gopickle, the allow-list, numpy's
// arrays) with mutations of the fixtures' pickles: it returns statistics or an *Error,
// never panics, and never allocates by a length the input states (the scan bounds them).
func FuzzVecNormalize(f *testing.F) {
	pkls, _ := filepath.Glob(filepath.Join("testdata", "*.pkl"))
	for _, p := range pkls {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, h := range hostilePickles() {
		f.Add(h.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeVecNormalize(data, where{file: "fuzz.pkl"}, fuzzConfig)
		checkReadError(t, err)
		if err == nil && (len(s.ObsMean) != 228 && s.ObsMean != nil) {
			t.Fatalf("statistics of %d features accepted", len(s.ObsMean))
		}
	})
}

// FuzzPolicy feeds the torch archive reader and the state-dict checks with mutations of
// the fixtures' policy.pth (the zip, its pickle and its storages).
func FuzzPolicy(f *testing.F) {
	zips, _ := filepath.Glob(filepath.Join("testdata", "*.zip"))
	for _, p := range zips {
		zr, err := zip.OpenReader(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range zr.File {
			if e.Name == entryPolicy {
				data, err := readEntry(e, 1<<20)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(data)
			}
		}
		zr.Close()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w := where{file: "fuzz.zip", entry: entryPolicy}
		v, err := readTorch(data, w, fuzzConfig)
		checkReadError(t, err)
		if err != nil {
			return
		}
		ts, _, err := stateDict(v, w)
		checkReadError(t, err)
		if err != nil {
			return
		}
		_, _, err = architecture(ts, 228, 6, w)
		checkReadError(t, err)
	})
}

// FuzzModel feeds the whole model reader with mutations of the fixtures' zips.
func FuzzModel(f *testing.F) {
	zips, _ := filepath.Glob(filepath.Join("testdata", "*.zip"))
	for _, p := range zips {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		_, err = readModel(zr, where{file: "fuzz.zip"}, fuzzConfig)
		checkReadError(t, err)
	})
}

type hostile struct {
	name string
	data []byte
	want string // in the error
}

// le8 is n as 8 little-endian bytes.
func le8(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }

// cat joins byte strings and strings.
func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch x := p.(type) {
		case string:
			b = append(b, x...)
		case []byte:
			b = append(b, x...)
		}
	}
	return b
}

// hostilePickles are pickles written to break a reader: lengths that would allocate
// exabytes, absurd shapes, gopickle's own panics, a forbidden global.
func hostilePickles() []hostile {
	frombuffer := "\x8c\x12numpy.core.numeric\x8c\x0b_frombuffer\x93"
	f8 := "\x8c\x05numpy\x8c\x05dtype\x93\x8c\x02f8\x89\x88\x87R"
	return []hostile{
		{"bytes of 2^62", cat("\x80\x04\x8e", le8(1<<62), "."), "are left: truncated"},
		{"frame of 2^62", cat("\x80\x04\x95", le8(1<<62), "N."), "are left: truncated"},
		{"opcode 0xff", []byte("\x80\x04\xff."), "opcode 0xff"},
		{"extension registry", []byte("\x80\x02\x82\x01."), "opcode 0x82"},
		{"long of no bytes", []byte("\x80\x02\x8a\x00."), "LONG of length 0"},
		{"protocol 0", []byte("(lp0\n."), "not a pickle of protocol 2"},
		{"protocol 9", []byte("\x80\x09N."), "protocol 9"},
		{"odd dict", []byte("\x80\x02(K\x01d."), "malformed"},
		{"unhashable key", []byte("\x80\x02ccollections\nOrderedDict\n)RC\x01aK\x01s."), "malformed"},
		{"forbidden global", []byte("\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R."), "os.system"},
		{"forbidden builtin", []byte("\x80\x02c__builtin__\neval\nX\x04\x00\x00\x001+1\x85R."), "__builtin__.eval"},
		{"cyclic list", []byte("\x80\x02]q\x00h\x00a."), "want a stable_baselines3"},
		{"array of 2^80 elements", cat("\x80\x05", frombuffer, "(C\x00", f8,
			"\x8a\x06\x00\x00\x00\x00\x00\x01\x8a\x06\x00\x00\x00\x00\x00\x01\x86\x8c\x01Ct", "R."), "too many elements"},
		{"array larger than its bytes", cat("\x80\x05", frombuffer, "(C\x08\x00\x00\x00\x00\x00\x00\xf0?", f8,
			"M\x00\x10\x85\x8c\x01Ct", "R."), "needs 4096 x 8 bytes, has 8"},
		{"marks to the limit", cat("\x80\x04", strings.Repeat("(", maxPickleOps-2), "."), "malformed"},
		{"opcodes beyond the limit", cat("\x80\x04", strings.Repeat("N", maxPickleOps), "."), "more than"},
		{"no stop", []byte("\x80\x04N"), "no STOP"},
		{"bytes after stop", []byte("\x80\x04N.N"), "after STOP"},
	}
}

// TestHostilePickles: each hostile pickle is an *Error of the statistics reader naming
// what is wrong; none panics, and none makes the reader allocate more than a few tens of
// megabytes (the worst is the opcode limit of MARKs, each a small slice in gopickle).
func TestHostilePickles(t *testing.T) {
	for _, h := range hostilePickles() {
		t.Run(h.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := decodeVecNormalize(h.data, where{file: "hostile.pkl"}, DefaultConfig())
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("accepted")
			}
			checkReadError(t, err)
			if !strings.Contains(err.Error(), h.want) {
				t.Errorf("%v: want %q", err, h.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MB", alloc>>20)
			}
		})
	}
}

// TestHostileTensors: a state dict whose tensor asks for more elements than its storage,
// or indexes past it, is refused before anything of that size is allocated.
func TestHostileTensors(t *testing.T) {
	st := &storage{typ: &storageType{name: "float32", kind: 'f', size: 4}, key: "0", n: 4, data: make([]byte, 16)}
	big := &storage{typ: st.typ, key: "2", n: 100, data: make([]byte, 400)}
	tuple := func(xs ...int) any {
		t := make(types.Tuple, len(xs))
		for i, x := range xs {
			t[i] = x
		}
		return &t
	}
	for _, tc := range []struct {
		name string
		args []any
		want string
	}{
		{"broadcast of 2^60", []any{st, 0, tuple(1<<30, 1<<30), tuple(0, 0), false, nil}, "from storage"},
		{"past the storage", []any{st, 3, tuple(2), tuple(1), false, nil}, "reaches element 4"},
		{"stride overflow", []any{big, 0, tuple(5, 5), tuple(1<<62, 1), false, nil}, "overflows"},
		{"negative offset", []any{st, -1, tuple(1), tuple(1), false, nil}, "offset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rebuildTensor(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	// A transposed view reads its elements in C order.
	st = &storage{typ: st.typ, key: "1", n: 6, data: make([]byte, 24)}
	for i := range 6 {
		binary.LittleEndian.PutUint32(st.data[4*i:], math.Float32bits(float32(i)))
	}
	v, err := rebuildTensor([]any{st, 0, tuple(3, 2), tuple(1, 3), false, nil})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(*tensor).f32; !slices.Equal(got, []float32{0, 3, 1, 4, 2, 5}) {
		t.Errorf("transposed view: got %v, want [0 3 1 4 2 5]", got)
	}
}
