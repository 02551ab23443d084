package sb3

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"

	"github.com/nlpodyssey/gopickle/types"
)

// numpy's pickles, rebuilt as Go values. An array is pickled as
//
//	_reconstruct(ndarray, (0,), b'b') then BUILD (version, shape, dtype, fortran, raw bytes)
//
// (protocols 2 to 4; its raw bytes, at protocol 2, as _codecs.encode(latin-1 str)), or as
// _frombuffer(buffer, dtype, shape, order) at protocol 5; a dtype as dtype('f8', False,
// True) then BUILD (3, '<', ...); a scalar as scalar(dtype, raw bytes). Only what the
// statistics need is interpreted (float arrays and numbers); other arrays (gymnasium's
// bool bounds, object arrays) are checked for size and kept opaque.

// maxDims bounds an array's rank (numpy's own limit is 64).
const maxDims = 32

// dtype is a numpy dtype: its kind letter (f, i, u, b, O, U, S, V, ...), the item size in
// bytes and the byte order ('<', '>', '|' or '=').
type dtype struct {
	kind  byte
	size  int
	order byte
}

func (d *dtype) String() string { return fmt.Sprintf("%c%c%d", d.order, d.kind, d.size) }

// newDtype is numpy.dtype(obj, align, copy) for obj such as "f8", "<f4", "b1", "U4".
func newDtype(args []any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("numpy.dtype: no arguments")
	}
	s, ok := args[0].(string)
	if !ok || s == "" || len(s) > 16 {
		return nil, fmt.Errorf("numpy.dtype: want a type string such as \"f8\", got %T", args[0])
	}
	d := &dtype{order: '|'}
	if c := s[0]; c == '<' || c == '>' || c == '|' || c == '=' {
		d.order, s = c, s[1:]
	}
	if s == "" {
		return nil, fmt.Errorf("numpy.dtype %q: no kind", args[0])
	}
	d.kind = s[0]
	if len(s) > 1 {
		n, err := strconv.Atoi(s[1:])
		if err != nil || n < 0 || n > 1<<20 {
			return nil, fmt.Errorf("numpy.dtype %q: bad item size", args[0])
		}
		d.size = n
		if d.kind == 'U' {
			d.size = 4 * n // characters of UCS-4
		}
	}
	return d, nil
}

// PySetState takes the dtype's pickled state (version, byteorder, subarray, names,
// fields, elsize, alignment, flags[, metadata]): the byte order, and the item size of the
// flexible kinds, which their type string leaves out.
func (d *dtype) PySetState(state any) error {
	t, ok := state.(*types.Tuple)
	if !ok || t.Len() < 2 {
		return fmt.Errorf("numpy.dtype state: want a tuple, got %T", state)
	}
	if o, ok := t.Get(1).(string); ok && len(o) == 1 {
		d.order = o[0]
	}
	if t.Len() >= 6 {
		if n, ok := t.Get(5).(int); ok && n > 0 && n <= 1<<20 {
			d.size = n
		}
	}
	return nil
}

// ndarray is a numpy array: raw holds its elements in C order, little-endian once built.
// An object array keeps no elements.
type ndarray struct {
	dtype  *dtype
	shape  []int
	raw    []byte
	object bool
	built  bool
}

// reconstruct is numpy.core.multiarray._reconstruct(ndarray, shape, typecode): an empty
// array that the following BUILD fills.
func reconstruct(args []any) (any, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("numpy _reconstruct: %d arguments, want 3", len(args))
	}
	if _, ok := args[0].(ndarrayClass); !ok {
		return nil, fmt.Errorf("numpy _reconstruct: the class is %T, want numpy.ndarray", args[0])
	}
	return &ndarray{}, nil
}

// PySetState is ndarray.__setstate__: (version, shape, dtype, fortran, rawdata), the
// version left out by old numpy versions.
func (a *ndarray) PySetState(state any) error {
	t, ok := state.(*types.Tuple)
	if !ok {
		return fmt.Errorf("numpy array state: want a tuple, got %T", state)
	}
	items := []any(*t)
	if len(items) == 5 {
		items = items[1:]
	}
	if len(items) != 4 {
		return fmt.Errorf("numpy array state: %d items, want 4 or 5", t.Len())
	}
	if a.built {
		return fmt.Errorf("numpy array state set twice")
	}
	d, ok := items[1].(*dtype)
	if !ok {
		return fmt.Errorf("numpy array state: the dtype is %T", items[1])
	}
	shape, err := intTuple(items[0])
	if err != nil {
		return fmt.Errorf("numpy array shape: %w", err)
	}
	fortran, _ := items[2].(bool)
	if n, ok := items[2].(int); ok {
		fortran = n != 0
	}
	if _, ok := items[3].(*types.List); ok || d.kind == 'O' {
		// An object array: its items are pickled objects, not bytes; none is needed.
		a.dtype, a.shape, a.object, a.built = d, shape, true, true
		return nil
	}
	raw, err := bytesOf(items[3])
	if err != nil {
		return fmt.Errorf("numpy array data: %w", err)
	}
	return a.set(d, shape, raw, fortran)
}

// set fills a with the elements raw of dtype d and shape, in Fortran order when fortran,
// after checking that raw holds exactly that many elements.
func (a *ndarray) set(d *dtype, shape []int, raw []byte, fortran bool) error {
	n, ok := elements(shape)
	if !ok {
		return fmt.Errorf("numpy array shape %v: negative, or too many elements", shape)
	}
	if d.size <= 0 {
		return fmt.Errorf("numpy array of dtype %s: unknown item size", d)
	}
	hi, want := bits.Mul64(uint64(n), uint64(d.size))
	if hi != 0 || want != uint64(len(raw)) {
		return fmt.Errorf("numpy array of shape %v and dtype %s needs %d x %d bytes, has %d", shape, d, n, d.size, len(raw))
	}
	if fortran && len(shape) > 1 {
		raw = fortranToC(raw, shape, d.size)
	}
	if d.order == '>' && d.size > 1 {
		raw = swapBytes(raw, d.size)
	}
	a.dtype, a.shape, a.raw, a.built = d, shape, raw, true
	return nil
}

// frombuffer is numpy.core.numeric._frombuffer(buf, dtype, shape, order), how protocol 5
// pickles an array (the buffer in band: bytes or a bytearray).
func frombuffer(args []any) (any, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("numpy _frombuffer: %d arguments, want 4", len(args))
	}
	raw, err := bytesOf(args[0])
	if err != nil {
		return nil, fmt.Errorf("numpy _frombuffer: %w", err)
	}
	d, ok := args[1].(*dtype)
	if !ok {
		return nil, fmt.Errorf("numpy _frombuffer: the dtype is %T", args[1])
	}
	shape, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("numpy _frombuffer shape: %w", err)
	}
	order, _ := args[3].(string)
	if order != "C" && order != "F" {
		return nil, fmt.Errorf("numpy _frombuffer: order %v, want \"C\" or \"F\"", args[3])
	}
	a := &ndarray{}
	if err := a.set(d, shape, raw, order == "F"); err != nil {
		return nil, err
	}
	return a, nil
}

// scalar is numpy.core.multiarray.scalar(dtype, raw bytes): a 0-d array.
func scalar(args []any) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("numpy scalar: %d arguments, want 2", len(args))
	}
	d, ok := args[0].(*dtype)
	if !ok {
		return nil, fmt.Errorf("numpy scalar: the dtype is %T", args[0])
	}
	a := &ndarray{}
	if d.kind == 'O' {
		a.dtype, a.shape, a.object, a.built = d, []int{}, true, true
		return a, nil
	}
	raw, err := bytesOf(args[1])
	if err != nil {
		return nil, fmt.Errorf("numpy scalar: %w", err)
	}
	if err := a.set(d, []int{}, raw, false); err != nil {
		return nil, err
	}
	return a, nil
}

// ndarrayClass stands for numpy.ndarray, the class argument of _reconstruct.
type ndarrayClass struct{}

// float64s returns a float array's elements in C order.
func (a *ndarray) float64s() ([]float64, error) {
	if !a.built {
		return nil, fmt.Errorf("numpy array without data")
	}
	if a.object || a.dtype.kind != 'f' || (a.dtype.size != 4 && a.dtype.size != 8) {
		return nil, fmt.Errorf("numpy array of dtype %s, want float32 or float64", a.dtype)
	}
	out := make([]float64, len(a.raw)/a.dtype.size)
	for i := range out {
		if a.dtype.size == 8 {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(a.raw[8*i:]))
		} else {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(a.raw[4*i:])))
		}
	}
	return out, nil
}

// elements is the product of shape, false when a dimension is negative, the rank is
// above maxDims or the product overflows.
func elements(shape []int) (int, bool) {
	if len(shape) > maxDims {
		return 0, false
	}
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		n = lo
	}
	return int(n), true
}

// fortranToC reorders the elements of a Fortran-ordered array into C order.
func fortranToC(raw []byte, shape []int, size int) []byte {
	out := make([]byte, len(raw))
	n := len(raw) / size
	idx := make([]int, len(shape))
	for c := range n {
		// idx is the multi-index of C position c; its Fortran offset has the first
		// dimension varying fastest.
		f, stride := 0, 1
		for k := range shape {
			f += idx[k] * stride
			stride *= shape[k]
		}
		copy(out[c*size:(c+1)*size], raw[f*size:(f+1)*size])
		for k := len(shape) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

// swapBytes reverses the bytes of every item of size size.
func swapBytes(raw []byte, size int) []byte {
	out := make([]byte, len(raw))
	for i := 0; i < len(raw); i += size {
		for k := range size {
			out[i+k] = raw[i+size-1-k]
		}
	}
	return out
}

// bytesOf returns the bytes of a pickled bytes, bytearray or (Python 2) str.
func bytesOf(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case *types.ByteArray:
		return []byte(*b), nil
	case string:
		return []byte(b), nil
	}
	return nil, fmt.Errorf("want bytes, got %T", v)
}

// codecsEncode is _codecs.encode(str, "latin1"), how Python 3 writes bytes at protocol 2:
// each character is one byte.
func codecsEncode(args []any) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("_codecs.encode: %d arguments, want 2", len(args))
	}
	s, ok1 := args[0].(string)
	enc, ok2 := args[1].(string)
	if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
		return nil, fmt.Errorf("_codecs.encode: want (str, \"latin1\")")
	}
	out := make([]byte, 0, len(s))
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r > 0xff || (r == utf8.RuneError && n == 1) {
			return nil, fmt.Errorf("_codecs.encode: character %U is not latin-1", r)
		}
		out = append(out, byte(r))
		s = s[n:]
	}
	return out, nil
}

// intTuple returns a tuple (or list) of non-negative ints.
func intTuple(v any) ([]int, error) {
	var items []any
	switch t := v.(type) {
	case *types.Tuple:
		items = *t
	case *types.List:
		items = *t
	default:
		return nil, fmt.Errorf("want a tuple of ints, got %T", v)
	}
	if len(items) > maxDims {
		return nil, fmt.Errorf("%d dimensions, at most %d", len(items), maxDims)
	}
	out := make([]int, len(items))
	for i, x := range items {
		n, ok := x.(int)
		if !ok || n < 0 {
			return nil, fmt.Errorf("item %d is %v, want an int >= 0", i, x)
		}
		out[i] = n
	}
	return out, nil
}
