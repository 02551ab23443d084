package policy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// handBuilt is a safetensors file written out byte by byte from the format description,
// not by EncodeSafetensors: three tensors, one per dtype, laid out 8-byte types first
// (b, c) then a, each in name order.
//
//	a F32 [2]    = {1, -2}  bits 0x3F800000, 0xC0000000
//	b F64 []     = 0.5      bits 0x3FE0000000000000
//	c I64 [1, 1] = {3}
//
// The header is 195 characters, padded with 5 spaces to 200 = 0xC8.
var handBuiltHeader = `{"__metadata__":{"format":"pt"},` +
	`"a":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},` +
	`"b":{"dtype":"F64","shape":[],"data_offsets":[0,8]},` +
	`"c":{"dtype":"I64","shape":[1,1],"data_offsets":[8,16]}}` + "     "

func handBuilt() []byte {
	out := []byte{0xC8, 0, 0, 0, 0, 0, 0, 0}
	out = append(out, handBuiltHeader...)
	out = append(out, 0, 0, 0, 0, 0, 0, 0xE0, 0x3F) // b = 0.5
	out = append(out, 3, 0, 0, 0, 0, 0, 0, 0)       // c = 3
	out = append(out, 0, 0, 0x80, 0x3F)             // a[0] = 1
	out = append(out, 0, 0, 0, 0xC0)                // a[1] = -2
	return out
}

func handBuiltTensors() []NamedTensor {
	// Deliberately not in name order: the writer must sort.
	return []NamedTensor{
		{Name: "c", Shape: []int{1, 1}, I64: []int64{3}},
		{Name: "a", Shape: []int{2}, F32: []float32{1, -2}},
		{Name: "b", Shape: []int{}, F64: []float64{0.5}},
	}
}

func TestHandBuiltHeaderLength(t *testing.T) {
	if got := len(handBuiltHeader); got != 200 {
		t.Fatalf("hand-built header is %d bytes, the hand count says 200", got)
	}
}

func TestEncodeSafetensorsMatchesHandBuilt(t *testing.T) {
	got, err := EncodeSafetensors(handBuiltTensors(), map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	want := handBuilt()
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded bytes differ from the hand-built file\ngot  %q\nwant %q", got, want)
	}
}

func TestDecodeSafetensorsHandBuilt(t *testing.T) {
	ts, meta, err := DecodeSafetensors(handBuilt())
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" || len(meta) != 1 {
		t.Errorf("metadata = %v, want map[format:pt]", meta)
	}
	want := []NamedTensor{
		{Name: "a", Shape: []int{2}, F32: []float32{1, -2}},
		{Name: "b", Shape: []int{}, F64: []float64{0.5}},
		{Name: "c", Shape: []int{1, 1}, I64: []int64{3}},
	}
	assertTensorsEqual(t, ts, want)
}

// assertTensorsEqual compares names, shapes, dtypes and the bits of every element.
func assertTensorsEqual(t *testing.T, got, want []NamedTensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || !slices.Equal(g.Shape, w.Shape) || g.DType() != w.DType() {
			t.Fatalf("tensor %d: got %s %s %v, want %s %s %v", i, g.Name, g.DType(), g.Shape, w.Name, w.DType(), w.Shape)
		}
		if len(g.F32) != len(w.F32) || len(g.F64) != len(w.F64) || len(g.I64) != len(w.I64) {
			t.Fatalf("tensor %q: data lengths differ", w.Name)
		}
		for j := range w.F32 {
			if math.Float32bits(g.F32[j]) != math.Float32bits(w.F32[j]) {
				t.Fatalf("tensor %q[%d]: got bits %#x, want %#x", w.Name, j, math.Float32bits(g.F32[j]), math.Float32bits(w.F32[j]))
			}
		}
		for j := range w.F64 {
			if math.Float64bits(g.F64[j]) != math.Float64bits(w.F64[j]) {
				t.Fatalf("tensor %q[%d]: got bits %#x, want %#x", w.Name, j, math.Float64bits(g.F64[j]), math.Float64bits(w.F64[j]))
			}
		}
		if !slices.Equal(g.I64, w.I64) {
			t.Fatalf("tensor %q: got %v, want %v", w.Name, g.I64, w.I64)
		}
	}
}

// specialTensors holds random values plus the ones a lossy codec would get wrong: signed
// zero, infinities, NaN payloads, subnormals, extremes.
func specialTensors(rng *rand.Rand) []NamedTensor {
	f32 := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7FC00001), math.Float32frombits(0xFFA00000), math.SmallestNonzeroFloat32,
		-math.MaxFloat32, 1e-40}
	for len(f32) < 3*7 {
		f32 = append(f32, float32(rng.NormFloat64()))
	}
	f64 := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1),
		math.Float64frombits(0x7FF8000000000123), math.SmallestNonzeroFloat64, math.MaxFloat64}
	for len(f64) < 11 {
		f64 = append(f64, rng.NormFloat64()*1e6)
	}
	return []NamedTensor{
		{Name: "adapter.bias", Shape: []int{3}, F32: f32[:3]},
		{Name: "adapter.weight", Shape: []int{3, 6}, F32: f32[3:]},
		{Name: "empty", Shape: []int{0, 4}, F32: []float32{}},
		{Name: "obs_rms.mean", Shape: []int{11}, F64: f64},
		{Name: "step", Shape: []int{}, I64: []int64{math.MinInt64}},
		{Name: "steps", Shape: []int{2}, I64: []int64{1, math.MaxInt64}},
	}
}

func TestSafetensorsRoundTripBitExact(t *testing.T) {
	want := specialTensors(rand.New(rand.NewPCG(1, 2)))
	data, err := EncodeSafetensors(want, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	got, meta, err := DecodeSafetensors(data)
	if err != nil {
		t.Fatal(err)
	}
	if meta["k"] != "v" {
		t.Errorf("metadata = %v, want map[k:v]", meta)
	}
	assertTensorsEqual(t, got, want) // want is already in name order
}

func TestEncodeSafetensorsDeterministic(t *testing.T) {
	ts := specialTensors(rand.New(rand.NewPCG(3, 4)))
	meta := map[string]string{"z": "1", "a": "2", "m": "3"}
	first, err := EncodeSafetensors(ts, meta)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 20 {
		shuffled := slices.Clone(ts)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		again, err := EncodeSafetensors(shuffled, map[string]string{"m": "3", "a": "2", "z": "1"})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("shuffle %d: encoding depends on input order", i)
		}
	}
}

// Every tensor must start at a multiple of its element size counted from the file's start,
// as PyTorch needs to view the bytes in place.
func TestEncodeSafetensorsAlignment(t *testing.T) {
	data, err := EncodeSafetensors(specialTensors(rand.New(rand.NewPCG(7, 8))), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(data)
	if n%8 != 0 {
		t.Fatalf("header length %d is not a multiple of 8", n)
	}
	for _, kv := range mustSplit(t, data[8:8+n]) {
		if kv.name == metadataKey {
			continue
		}
		var off struct {
			Dtype       string   `json:"dtype"`
			DataOffsets [2]int64 `json:"data_offsets"`
		}
		mustUnmarshal(t, kv.value, &off)
		if size := DType(off.Dtype).size(); (8+int64(n)+off.DataOffsets[0])%int64(size) != 0 {
			t.Errorf("tensor %q (%s) starts at file byte %d, not a multiple of %d", kv.name, off.Dtype, 8+int64(n)+off.DataOffsets[0], size)
		}
	}
}

func TestEncodeSafetensorsRejects(t *testing.T) {
	tests := []struct {
		name string
		ts   []NamedTensor
		want string
	}{
		{"empty name", []NamedTensor{{Name: "", Shape: []int{1}, F32: []float32{1}}}, "invalid name"},
		{"reserved name", []NamedTensor{{Name: "__metadata__", Shape: []int{1}, F32: []float32{1}}}, "invalid name"},
		{"invalid utf-8", []NamedTensor{{Name: "a\xff", Shape: []int{1}, F32: []float32{1}}}, "invalid name"},
		{"duplicate", []NamedTensor{{Name: "a", Shape: []int{1}, F32: []float32{1}}, {Name: "a", Shape: []int{1}, F64: []float64{1}}}, `duplicate tensor name "a"`},
		{"no data", []NamedTensor{{Name: "a", Shape: []int{1}}}, "no data"},
		{"two slices", []NamedTensor{{Name: "a", Shape: []int{1}, F32: []float32{1}, F64: []float64{1}}}, "more than one"},
		{"shape mismatch", []NamedTensor{{Name: "a", Shape: []int{2, 2}, F32: []float32{1, 2, 3}}}, `tensor "a": shape [2 2] has 4 elements, data has 3`},
		{"negative dim", []NamedTensor{{Name: "a", Shape: []int{-1}, F32: []float32{}}}, "negative"},
		{"overflow", []NamedTensor{{Name: "a", Shape: []int{1 << 40, 1 << 40}, F32: []float32{}}}, "too many"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EncodeSafetensors(tc.ts, nil)
			assertErr(t, err, tc.want)
		})
	}
}

// assertErr checks that err matches ErrCheckpoint and mentions want.
func assertErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want)
	}
	if !errors.Is(err, ErrCheckpoint) {
		t.Errorf("error %q does not match ErrCheckpoint", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

// rawFile builds a safetensors file from a header string (padded here) and a data buffer.
func rawFile(header string, data []byte) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), data...)
}

func TestDecodeSafetensorsRejects(t *testing.T) {
	eight := make([]byte, 8)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte header length"},
		{"huge header length", binary.LittleEndian.AppendUint64(nil, 1<<40), "exceeds the limit"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "runs past the end"},
		{"not an object", rawFile(`[]`, nil), "does not start with '{'"},
		{"invalid utf-8", rawFile("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"bad json", rawFile(`{"a":`, nil), "header"},
		{"trailing garbage", rawFile(`{} x`, nil), "after the JSON object"},
		{"duplicate", rawFile(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, eight), `duplicate entry "a"`},
		{"empty name", rawFile(`{"":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, eight), "empty tensor name"},
		{"unsupported dtype", rawFile(`{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}`, eight), `dtype "F16" not supported`},
		{"missing shape", rawFile(`{"a":{"dtype":"F64","data_offsets":[0,8]}}`, eight), "want the fields"},
		{"null offsets", rawFile(`{"a":{"dtype":"F64","shape":[1],"data_offsets":null}}`, eight), "want the fields"},
		{"three offsets", rawFile(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8,8]}}`, eight), "data_offsets has 3 values"},
		{"fractional dim", rawFile(`{"a":{"dtype":"F64","shape":[1.5],"data_offsets":[0,8]}}`, eight), `tensor "a"`},
		{"negative dim", rawFile(`{"a":{"dtype":"F64","shape":[-1],"data_offsets":[0,8]}}`, eight), "negative dimension"},
		{"offsets past end", rawFile(`{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}`, eight), "outside the 8-byte data buffer"},
		{"offsets reversed", rawFile(`{"a":{"dtype":"F64","shape":[0],"data_offsets":[8,0]}}`, eight), "outside"},
		{"size mismatch", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight), "needs 12 bytes, data_offsets [0, 8] give 8"},
		{"shape overflow", rawFile(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, eight), "more than 2^64"},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), "data starts at 4, want 0"},
		{"overlap", rawFile(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, eight), "data starts at 0, want 8"},
		{"trailing data", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, eight), "cover 4 bytes of a 8-byte data buffer"},
		{"metadata not strings", rawFile(`{"__metadata__":{"a":1}}`, nil), "want an object of strings"},
		{"entry not an object", rawFile(`{"a":3}`, nil), `tensor "a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeSafetensors(tc.file)
			assertErr(t, err, tc.want)
		})
	}
}

// Every strict prefix of a valid file is an error, never a panic or a silently shorter
// tensor list.
func TestDecodeSafetensorsTruncated(t *testing.T) {
	full := handBuilt()
	for n := range len(full) {
		if _, _, err := DecodeSafetensors(full[:n]); err == nil || !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("prefix of %d of %d bytes: got error %v, want one matching ErrCheckpoint", n, len(full), err)
		}
	}
}

func TestDecodeSafetensorsAcceptsEmptyAndUnpadded(t *testing.T) {
	// The format allows an unpadded header and a file without tensors or metadata.
	for _, file := range [][]byte{
		append(binary.LittleEndian.AppendUint64(nil, 2), "{}"...),
		append(binary.LittleEndian.AppendUint64(nil, 5), "{}\n\t "...),
	} {
		ts, meta, err := DecodeSafetensors(file)
		if err != nil || len(ts) != 0 || meta != nil {
			t.Errorf("%q: got %v, %v, %v; want no tensors, no metadata, no error", file, ts, meta, err)
		}
	}
}

func mustSplit(t *testing.T, header []byte) []rawEntry {
	t.Helper()
	kvs, err := splitHeader(header)
	if err != nil {
		t.Fatal(err)
	}
	return kvs
}

func mustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

func FuzzReadSafetensors(f *testing.F) {
	f.Add(handBuilt())
	good, _ := EncodeSafetensors(specialTensors(rand.New(rand.NewPCG(9, 10))), map[string]string{"format": "pt"})
	f.Add(good)
	f.Add(rawFile(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, meta, err := DecodeSafetensors(data)
		if err != nil {
			if !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("error %q does not match ErrCheckpoint", err)
			}
			return
		}
		// What was accepted must survive a round trip through the writer.
		again, err := EncodeSafetensors(ts, meta)
		if err != nil {
			t.Fatalf("decoded tensors do not re-encode: %v", err)
		}
		ts2, _, err := DecodeSafetensors(again)
		if err != nil {
			t.Fatalf("re-encoded file does not decode: %v", err)
		}
		assertTensorsEqual(t, ts2, ts)
	})
}

// benchTensors is the default Phase 3 network's parameters in their real shapes (about
// 0.62 M float32) plus the observation normaliser.
func benchTensors() []NamedTensor {
	rng := rand.New(rand.NewPCG(11, 12))
	var ts []NamedTensor
	add := func(name string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64())
		}
		ts = append(ts, NamedTensor{Name: name, Shape: shape, F32: data})
	}
	add("adapter.weight", 228, 261)
	add("adapter.bias", 228)
	for _, net := range []string{"policy_net", "value_net"} {
		in := 228
		for i, out := range []int{512, 256, 128} {
			add("mlp_extractor."+net+"."+string(rune('0'+2*i))+".weight", out, in)
			add("mlp_extractor."+net+"."+string(rune('0'+2*i))+".bias", out)
			in = out
		}
	}
	add("action_net.weight", 6, 128)
	add("action_net.bias", 6)
	add("value_net.weight", 1, 128)
	add("value_net.bias", 1)
	ts = append(ts, NamedTensor{Name: "obs_rms.mean", Shape: []int{261}, F64: make([]float64, 261)})
	return ts
}

func BenchmarkEncodeSafetensors(b *testing.B) {
	ts := benchTensors()
	b.ReportAllocs()
	for b.Loop() {
		data, err := EncodeSafetensors(ts, safetensorsMeta)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
	}
}

func BenchmarkDecodeSafetensors(b *testing.B) {
	data, err := EncodeSafetensors(benchTensors(), safetensorsMeta)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeSafetensors(data); err != nil {
			b.Fatal(err)
		}
	}
}
