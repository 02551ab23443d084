package sb3

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

// torch.save's zip format (PyTorch >= 1.6): an archive whose entries share one top folder
// (ARCHIVE: "archive" when saved to a buffer, as SB3 does):
//
//	ARCHIVE/data.pkl     the pickled object (protocol 2); each tensor is
//	                     _rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
//	                     backward_hooks[, metadata]), its storage a persistent ID
//	                     ("storage", torch.FloatStorage, key, location, numel)
//	ARCHIVE/data/KEY     the storage's numel elements, raw, little-endian
//	ARCHIVE/byteorder    "little" (PyTorch >= 2.1; absent before, meaning little)
//	ARCHIVE/version, ARCHIVE/.data/...   not read

// storageType is a storage class: the element type it holds.
type storageType struct {
	name string // float32, float64, float16, bfloat16, int64, ...
	kind byte   // 'f' IEEE float (4 or 8 bytes), 'h' float16, 'B' bfloat16, 'i', 'u', 'b'
	size int    // bytes per element
}

// storage is one data/KEY entry: n elements of typ.
type storage struct {
	typ  *storageType
	key  string
	n    int
	data []byte
}

// tensor is a rebuilt tensor: its shape, and its elements in C order as float32 when the
// storage holds floats (f32 is nil otherwise).
type tensor struct {
	shape []int
	typ   *storageType
	f32   []float32
}

// torchArchive reads a torch.save zip held in data.
type torchArchive struct {
	w        where
	cfg      Config
	files    map[string]*zip.File
	prefix   string // "ARCHIVE/"
	storages map[string]*storage
}

// readTorch decodes the object a torch.save zip holds. The archive is in memory (an entry
// of the SB3 zip), every entry read is bounded by cfg.MaxBytes.
func readTorch(data []byte, w where, cfg Config) (any, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, w.failf(ErrCorrupt, "", "not a torch.save zip archive (PyTorch >= 1.6 writes one): %v", err)
	}
	a := &torchArchive{w: w, cfg: cfg, files: map[string]*zip.File{}, storages: map[string]*storage{}}
	var pkl []string
	for _, f := range zr.File {
		a.files[f.Name] = f
		switch path.Base(f.Name) {
		case "data.pkl":
			pkl = append(pkl, f.Name)
		case "constants.pkl":
			return nil, w.in(f.Name).failf(ErrUnsupported, "", "a TorchScript archive: SB3 saves a state dict")
		}
	}
	if len(pkl) != 1 {
		return nil, w.failf(ErrMissing, "", "%d data.pkl entries, want 1 (torch.save's zip format)", len(pkl))
	}
	a.prefix = strings.TrimSuffix(pkl[0], "data.pkl")
	if f, ok := a.files[a.prefix+"byteorder"]; ok {
		b, err := readEntry(f, 16)
		if err != nil {
			return nil, w.in(f.Name).fail(ErrCorrupt, "", err)
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, w.in(f.Name).failf(ErrUnsupported, "", "byte order %q: only little-endian archives are read", s)
		}
	}
	raw, err := readEntry(a.files[pkl[0]], cfg.MaxBytes)
	if err != nil {
		return nil, w.in(pkl[0]).fail(ErrCorrupt, "", err)
	}
	u := unpickler{find: findGlobal(true), persistent: a.persistentLoad}
	v, err := u.load(raw)
	if err != nil {
		return nil, w.in(pkl[0]).decodeError(err)
	}
	return v, nil
}

// persistentLoad resolves ("storage", type, key, location, numel) to the storage's
// elements, read once per key.
func (a *torchArchive) persistentLoad(pid any) (any, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() < 5 {
		return nil, fmt.Errorf("persistent ID %T: want (\"storage\", type, key, location, numel)", pid)
	}
	if s, _ := t.Get(0).(string); s != "storage" {
		return nil, fmt.Errorf("persistent ID of type %q: only storages are read", clip(fmt.Sprint(t.Get(0))))
	}
	typ, ok1 := t.Get(1).(*storageType)
	key, ok2 := t.Get(2).(string)
	n, ok3 := t.Get(4).(int)
	if !ok1 || !ok2 || !ok3 || n < 0 {
		return nil, fmt.Errorf("storage persistent ID: want (\"storage\", torch.<T>Storage, str, str, int >= 0)")
	}
	if st, ok := a.storages[key]; ok {
		if st.typ.name != typ.name || st.n != n {
			return nil, kindErrorf(ErrCorrupt, "storage %q named as %s of %d and as %s of %d", clip(key), st.typ.name, st.n, typ.name, n)
		}
		return st, nil
	}
	name := a.prefix + "data/" + key
	f, ok := a.files[name]
	if !ok {
		return nil, kindErrorf(ErrMissing, "storage %q: no entry %s", clip(key), clip(name))
	}
	hi, want := bits.Mul64(uint64(n), uint64(typ.size))
	if hi != 0 || want > uint64(a.cfg.MaxBytes) || f.UncompressedSize64 != want {
		return nil, &kindError{kind: ErrCorrupt, entry: a.w.entry + ": " + name,
			msg: fmt.Sprintf("%d bytes, a storage of %d %s elements needs %d", f.UncompressedSize64, n, typ.name, want)}
	}
	data, err := readEntry(f, int64(want))
	if err == nil && uint64(len(data)) != want {
		err = fmt.Errorf("%d bytes, want %d", len(data), want)
	}
	if err != nil {
		return nil, &kindError{kind: ErrCorrupt, entry: a.w.entry + ": " + name, msg: err.Error()}
	}
	st := &storage{typ: typ, key: key, n: n, data: data}
	a.storages[key] = st
	return st, nil
}

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
// requires_grad, backward_hooks[, metadata]): the elements the sizes and strides select
// from the storage, in C order. Every index is checked against the storage, and a tensor
// cannot have more elements than its storage (what a state dict holds never does; a
// broadcast view could, and would let a small file ask for a huge tensor).
func rebuildTensor(args []any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("%d arguments, want at least 4", len(args))
	}
	st, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("the storage is %T", args[0])
	}
	off, ok := args[1].(int)
	if !ok || off < 0 {
		return nil, fmt.Errorf("storage offset %v, want an int >= 0", args[1])
	}
	shape, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("size: %w", err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, fmt.Errorf("stride: %w", err)
	}
	if len(stride) != len(shape) {
		return nil, fmt.Errorf("size %v and stride %v differ in rank", shape, stride)
	}
	n, ok := elements(shape)
	if !ok || n > st.n {
		return nil, kindErrorf(ErrCorrupt, "tensor of size %v from storage %q of %d elements", shape, st.key, st.n)
	}
	t := &tensor{shape: shape, typ: st.typ}
	if n == 0 {
		if st.typ.kind == 'f' || st.typ.kind == 'h' || st.typ.kind == 'B' {
			t.f32 = []float32{}
		}
		return t, nil
	}
	// The last element's index bounds every other one (strides are non-negative).
	last := uint64(off)
	for k, d := range shape {
		hi, lo := bits.Mul64(uint64(d-1), uint64(stride[k]))
		if hi != 0 || last+lo < last {
			return nil, kindErrorf(ErrCorrupt, "tensor of size %v, stride %v overflows", shape, stride)
		}
		last += lo
	}
	if last >= uint64(st.n) {
		return nil, kindErrorf(ErrCorrupt, "tensor of size %v, stride %v, offset %d reaches element %d of storage %q of %d",
			shape, stride, off, last, st.key, st.n)
	}
	if t.f32 = st.floats(off, shape, stride, n); t.f32 == nil {
		return t, nil // not a float storage: the shape is enough to refuse it later
	}
	return t, nil
}

// rebuildParameter is torch._utils._rebuild_parameter(data, requires_grad, hooks): the
// tensor (an nn.Parameter pickled outside a state dict).
func rebuildParameter(args []any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("no arguments")
	}
	t, ok := args[0].(*tensor)
	if !ok {
		return nil, fmt.Errorf("the data is %T, want a tensor", args[0])
	}
	return t, nil
}

// floats gathers the n selected elements as float32, nil for a storage of integers.
// float64 is rounded to float32; float16 and bfloat16 convert exactly.
func (s *storage) floats(off int, shape, stride []int, n int) []float32 {
	var at func(i int) float32
	d := s.data
	switch {
	case s.typ.kind == 'f' && s.typ.size == 4:
		at = func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:])) }
	case s.typ.kind == 'f' && s.typ.size == 8:
		at = func(i int) float32 { return float32(math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:]))) }
	case s.typ.kind == 'h':
		at = func(i int) float32 { return halfToFloat(binary.LittleEndian.Uint16(d[2*i:])) }
	case s.typ.kind == 'B':
		at = func(i int) float32 { return math.Float32frombits(uint32(binary.LittleEndian.Uint16(d[2*i:])) << 16) }
	default:
		return nil
	}
	out := make([]float32, n)
	idx := make([]int, len(shape))
	for c := range n {
		src := off
		for k := range shape {
			src += idx[k] * stride[k]
		}
		out[c] = at(src)
		for k := len(shape) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

// halfToFloat converts an IEEE 754 binary16 to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// readEntry reads one zip entry, refusing one larger than limit whatever its header
// says; the zip reader checks the CRC-32 at the end.
func readEntry(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%d bytes, more than the %d this reader takes", f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than the %d bytes this reader takes", limit)
	}
	return b, nil
}
