package policy

// Our own safetensors codec (https://github.com/huggingface/safetensors, format section):
//
//	8 bytes   N, the header length, unsigned little-endian
//	N bytes   a JSON object, padded with spaces (0x20) to a multiple of 8:
//	          {"__metadata__": {string: string},
//	           NAME: {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}
//	rest      the tensors' raw little-endian bytes; offsets are relative to the start of
//	          this buffer, which every tensor covers exactly once, with no gap
//
// The reader is as strict as the reference implementation (contiguous offsets covering the
// whole buffer, no duplicate names, UTF-8 header starting with '{', header at most 100 MB),
// so that every file it accepts PyTorch accepts too; it also rejects dtypes it does not
// hold (anything but F32, F64, I64). It never panics on corrupt input: FuzzReadSafetensors.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DType names a tensor's element type as safetensors spells it.
type DType string

// The element types a checkpoint holds.
const (
	DTypeF32 DType = "F32" // float32: weights
	DTypeF64 DType = "F64" // float64: normaliser statistics
	DTypeI64 DType = "I64" // int64: counters such as Adam's step count
)

// size is the element's width in bytes (0 for an unknown dtype).
func (d DType) size() int {
	switch d {
	case DTypeF32:
		return 4
	case DTypeF64, DTypeI64:
		return 8
	}
	return 0
}

// maxHeaderLen bounds the JSON header, as the reference implementation does (100 MB): a
// corrupt length must not make the reader allocate gigabytes.
const maxHeaderLen = 100_000_000

// metadataKey is the header's reserved entry for string metadata.
const metadataKey = "__metadata__"

// safetensorsError is a malformed safetensors file or an invalid tensor given to the
// writer. It matches ErrCheckpoint under errors.Is.
type safetensorsError struct{ msg string }

func (e *safetensorsError) Error() string        { return "safetensors: " + e.msg }
func (e *safetensorsError) Is(target error) bool { return target == ErrCheckpoint }

func stErrorf(format string, args ...any) error {
	return &safetensorsError{msg: fmt.Sprintf(format, args...)}
}

// EncodeSafetensors returns the safetensors encoding of tensors with the string metadata
// meta (may be nil). The bytes depend only on the arguments: the header lists the tensors
// sorted by name, metadata keys sorted, and the data is laid out by element width (8-byte
// types first) then by name, which keeps every tensor aligned to its element size as the
// reference writer does (the format allows no gaps between tensors). A tensor must hold
// exactly one of F32, F64, I64 (non-nil), with as many elements as its shape says; names
// must be non-empty, unique, valid UTF-8 and not "__metadata__".
func EncodeSafetensors(tensors []NamedTensor, meta map[string]string) ([]byte, error) {
	type entry struct {
		t     *NamedTensor
		dtype DType
		n     int // elements
	}
	entries := make([]entry, len(tensors))
	for i := range tensors {
		t := &tensors[i]
		if t.Name == "" || t.Name == metadataKey || !utf8.ValidString(t.Name) {
			return nil, stErrorf("tensor %d: invalid name %q", i, t.Name)
		}
		dt, err := t.checkData()
		if err != nil {
			return nil, err
		}
		entries[i] = entry{t: t, dtype: dt, n: t.Len()}
	}
	byName := func(a, b entry) int { return strings.Compare(a.t.Name, b.t.Name) }
	slices.SortFunc(entries, byName)
	for i := 1; i < len(entries); i++ {
		if entries[i].t.Name == entries[i-1].t.Name {
			return nil, stErrorf("duplicate tensor name %q", entries[i].t.Name)
		}
	}
	layout := slices.Clone(entries)
	slices.SortStableFunc(layout, func(a, b entry) int { return b.dtype.size() - a.dtype.size() })
	begin := make(map[string]int, len(layout))
	total := 0
	for _, e := range layout {
		begin[e.t.Name] = total
		total += e.n * e.dtype.size()
	}

	// The header is written by hand (not encoding/json over a map) so that its bytes are
	// fixed: metadata first, then tensors by name, fields in the reference's order.
	var h bytes.Buffer
	h.WriteString(`{"` + metadataKey + `":{`)
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if !utf8.ValidString(k) || !utf8.ValidString(meta[k]) {
			return nil, stErrorf("metadata %q: not valid UTF-8", k)
		}
		if i > 0 {
			h.WriteByte(',')
		}
		writeJSONString(&h, k)
		h.WriteByte(':')
		writeJSONString(&h, meta[k])
	}
	h.WriteByte('}')
	for _, e := range entries {
		h.WriteByte(',')
		writeJSONString(&h, e.t.Name)
		h.WriteString(`:{"dtype":"` + string(e.dtype) + `","shape":[`)
		for j, d := range e.t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		b := begin[e.t.Name]
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, b, b+e.n*e.dtype.size())
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}

	out := make([]byte, 8, 8+h.Len()+total)
	binary.LittleEndian.PutUint64(out, uint64(h.Len()))
	out = append(out, h.Bytes()...)
	for _, e := range layout {
		switch {
		case e.t.F32 != nil:
			for _, v := range e.t.F32 {
				out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
			}
		case e.t.F64 != nil:
			for _, v := range e.t.F64 {
				out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
			}
		default:
			for _, v := range e.t.I64 {
				out = binary.LittleEndian.AppendUint64(out, uint64(v))
			}
		}
	}
	return out, nil
}

// writeJSONString writes s as a JSON string without encoding/json's HTML escaping, so that
// names read as written.
func writeJSONString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
}

// tensorInfo is one header entry as the file spells it.
type tensorInfo struct {
	Dtype       string   `json:"dtype"`
	Shape       *[]int64 `json:"shape"`        // nil: missing
	DataOffsets *[]int64 `json:"data_offsets"` // nil: missing
}

// DecodeSafetensors parses a safetensors file held in data and returns its tensors sorted
// by name, with its string metadata (nil when the header has none). Every error matches
// ErrCheckpoint and says what is wrong and where (byte offset, tensor name).
func DecodeSafetensors(data []byte) ([]NamedTensor, map[string]string, error) {
	if len(data) < 8 {
		return nil, nil, stErrorf("file is %d bytes, shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxHeaderLen {
		return nil, nil, stErrorf("header length %d exceeds the limit of %d bytes", n, maxHeaderLen)
	}
	if n > uint64(len(data)-8) {
		return nil, nil, stErrorf("header length %d runs past the end of the file (%d bytes after the length; truncated?)", n, len(data)-8)
	}
	header := data[8 : 8+n]
	buf := data[8+n:]
	if !utf8.Valid(header) {
		return nil, nil, stErrorf("header is not valid UTF-8")
	}
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, stErrorf("header does not start with '{'")
	}

	raw, err := splitHeader(header)
	if err != nil {
		return nil, nil, err
	}
	var meta map[string]string
	type item struct {
		name    string
		dtype   string
		shape   []int64
		offsets []int64
	}
	items := make([]item, 0, len(raw))
	for _, kv := range raw {
		if kv.name == "" {
			return nil, nil, stErrorf("header: empty tensor name")
		}
		if kv.name == metadataKey {
			if err := json.Unmarshal(kv.value, &meta); err != nil {
				return nil, nil, stErrorf("%s: want an object of strings: %v", metadataKey, err)
			}
			continue
		}
		var ti tensorInfo
		if err := json.Unmarshal(kv.value, &ti); err != nil {
			return nil, nil, stErrorf("tensor %q: %v", kv.name, err)
		}
		if ti.Shape == nil || ti.DataOffsets == nil {
			return nil, nil, stErrorf("tensor %q: want the fields dtype, shape and data_offsets", kv.name)
		}
		items = append(items, item{kv.name, ti.Dtype, *ti.Shape, *ti.DataOffsets})
	}

	// Check every entry before allocating anything: the sizes are then bounded by the file.
	tensors := make([]NamedTensor, len(items))
	dtypes := make([]DType, len(items))
	for i, it := range items {
		dt := DType(it.dtype)
		if dt.size() == 0 {
			return nil, nil, stErrorf("tensor %q: dtype %q not supported (want F32, F64 or I64)", it.name, it.dtype)
		}
		if len(it.offsets) != 2 {
			return nil, nil, stErrorf("tensor %q: data_offsets has %d values, want 2", it.name, len(it.offsets))
		}
		b, e := it.offsets[0], it.offsets[1]
		if b < 0 || e < b || e > int64(len(buf)) {
			return nil, nil, stErrorf("tensor %q: data_offsets [%d, %d] outside the %d-byte data buffer", it.name, b, e, len(buf))
		}
		shape := make([]int, len(it.shape))
		elems := uint64(1)
		overflow := false
		for j, d := range it.shape {
			if d < 0 {
				return nil, nil, stErrorf("tensor %q: shape %v has a negative dimension", it.name, it.shape)
			}
			shape[j] = int(d)
			hi, lo := bits.Mul64(elems, uint64(d))
			overflow = overflow || hi != 0
			elems = lo
		}
		if d := slices.Index(it.shape, 0); d >= 0 {
			elems, overflow = 0, false
		}
		hi, want := bits.Mul64(elems, uint64(dt.size()))
		if overflow || hi != 0 || want != uint64(e-b) {
			return nil, nil, stErrorf("tensor %q: %s shape %v needs %s bytes, data_offsets [%d, %d] give %d",
				it.name, dt, it.shape, byteCount(elems, dt, overflow || hi != 0), b, e, e-b)
		}
		tensors[i] = NamedTensor{Name: it.name, Shape: shape}
		dtypes[i] = dt
	}

	// The reference implementation requires the tensors to tile the data buffer exactly:
	// no gap (a place to hide data), no overlap.
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		oa, ob := items[a].offsets, items[b].offsets
		if c := int64Compare(oa[0], ob[0]); c != 0 {
			return c
		}
		return int64Compare(oa[1], ob[1])
	})
	pos := int64(0)
	for _, i := range order {
		off := items[i].offsets
		if off[0] != pos {
			return nil, nil, stErrorf("tensor %q: data starts at %d, want %d (tensors must tile the data buffer without gap or overlap)", items[i].name, off[0], pos)
		}
		pos = off[1]
	}
	if pos != int64(len(buf)) {
		return nil, nil, stErrorf("tensors cover %d bytes of a %d-byte data buffer (trailing bytes or truncated header)", pos, len(buf))
	}

	for i := range tensors {
		off := items[i].offsets
		src := buf[off[0]:off[1]]
		t := &tensors[i]
		switch dtypes[i] {
		case DTypeF32:
			t.F32 = make([]float32, len(src)/4)
			for j := range t.F32 {
				t.F32[j] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*j:]))
			}
		case DTypeF64:
			t.F64 = make([]float64, len(src)/8)
			for j := range t.F64 {
				t.F64[j] = math.Float64frombits(binary.LittleEndian.Uint64(src[8*j:]))
			}
		case DTypeI64:
			t.I64 = make([]int64, len(src)/8)
			for j := range t.I64 {
				t.I64[j] = int64(binary.LittleEndian.Uint64(src[8*j:]))
			}
		}
	}
	slices.SortFunc(tensors, func(a, b NamedTensor) int { return strings.Compare(a.Name, b.Name) })
	return tensors, meta, nil
}

func int64Compare(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func byteCount(elems uint64, dt DType, overflow bool) string {
	if overflow {
		return "more than 2^64"
	}
	return strconv.FormatUint(elems*uint64(dt.size()), 10)
}

type rawEntry struct {
	name  string
	value json.RawMessage
}

// splitHeader reads the header's top-level object entry by entry, so that duplicate names
// (which encoding/json would silently merge) are an error, and checks that only whitespace
// follows the object.
func splitHeader(header []byte) ([]rawEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	if _, err := dec.Token(); err != nil { // '{', checked by the caller
		return nil, stErrorf("header: %v", err)
	}
	var out []rawEntry
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, stErrorf("header at byte %d: %v", 8+dec.InputOffset(), err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, stErrorf("header at byte %d: want a tensor name", 8+dec.InputOffset())
		}
		if seen[name] {
			return nil, stErrorf("header: duplicate entry %q", name)
		}
		seen[name] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, stErrorf("header: entry %q: %v", name, err)
		}
		out = append(out, rawEntry{name, v})
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, stErrorf("header at byte %d: %v", 8+dec.InputOffset(), err)
	}
	rest := header[dec.InputOffset():]
	if len(bytes.Trim(rest, " \t\r\n")) != 0 {
		return nil, stErrorf("header: unexpected bytes after the JSON object at byte %d", 8+dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, stErrorf("header: unexpected content after the JSON object")
	}
	return out, nil
}

// errNoData is the reason a NamedTensor holds no data slice.
var errNoData = errors.New("no data (F32, F64 and I64 are all nil)")
