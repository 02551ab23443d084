package sb3

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/nlpodyssey/gopickle/pickle"
)

// Limits of one pickle. The pickles this package reads are small: a state dict is a few
// hundred opcodes whatever the network's size (the weights live in separate storages), a
// VecNormalize a few thousand bytes of opcodes around its arrays. The opcode limit bounds
// the objects gopickle can make from a hostile file (each opcode makes at most one, of a
// few hundred bytes); the line limit bounds the protocol 0 arguments (GLOBAL's names).
const (
	maxPickleOps  = 1 << 16
	maxPickleLine = 1 << 10
)

// How an opcode's argument is laid out in the stream (Python's pickletools).
type argKind uint8

const (
	argNone  argKind = iota
	argFixed         // n bytes
	argLen1          // 1-byte length, then that many bytes
	argLen4          // 4-byte little-endian length, then that many bytes
	argLen8          // 8-byte little-endian length, then that many bytes
	argLine          // one newline-terminated line
	argLine2         // two lines (GLOBAL's module and name)
)

type opArg struct {
	kind argKind
	n    int // argFixed's width
}

// pickleOps are the opcodes of protocols 0 to 5 that a pickle of a torch state dict or a
// VecNormalize can contain and gopickle decodes. Left out, so refused by the scan: INST
// and OBJ (protocol 0 and 1 objects), PERSID (text persistent IDs), the EXT opcodes of the
// extension registry and NEXT_BUFFER (out-of-band buffers), none of which Python writes
// for these objects.
var pickleOps = map[byte]opArg{
	'(': {}, '.': {}, '0': {}, '1': {}, '2': {}, 'N': {}, 'Q': {}, 'R': {}, 'a': {}, 'b': {},
	'd': {}, '}': {}, 'e': {}, 'l': {}, ']': {}, 's': {}, 't': {}, ')': {}, 'u': {},
	'F': {kind: argLine}, 'I': {kind: argLine}, 'L': {kind: argLine}, 'S': {kind: argLine},
	'V': {kind: argLine}, 'g': {kind: argLine}, 'p': {kind: argLine},
	'c':  {kind: argLine2},
	'J':  {kind: argFixed, n: 4},
	'K':  {kind: argFixed, n: 1},
	'M':  {kind: argFixed, n: 2},
	'G':  {kind: argFixed, n: 8},
	'h':  {kind: argFixed, n: 1},
	'j':  {kind: argFixed, n: 4},
	'q':  {kind: argFixed, n: 1},
	'r':  {kind: argFixed, n: 4},
	'T':  {kind: argLen4},
	'U':  {kind: argLen1},
	'X':  {kind: argLen4},
	'B':  {kind: argLen4},
	'C':  {kind: argLen1},
	0x80: {kind: argFixed, n: 1}, // PROTO
	0x81: {},                     // NEWOBJ
	0x85: {}, 0x86: {}, 0x87: {}, // TUPLE1..3
	0x88: {}, 0x89: {}, // NEWTRUE, NEWFALSE
	0x8a: {kind: argLen1},                                      // LONG1
	0x8b: {kind: argLen4},                                      // LONG4
	0x8c: {kind: argLen1},                                      // SHORT_BINUNICODE
	0x8d: {kind: argLen8},                                      // BINUNICODE8
	0x8e: {kind: argLen8},                                      // BINBYTES8
	0x8f: {}, 0x90: {}, 0x91: {}, 0x92: {}, 0x93: {}, 0x94: {}, // EMPTY_SET .. MEMOIZE
	0x95: {kind: argFixed, n: 8}, // FRAME: its length is checked like the others'
	0x96: {kind: argLen8},        // BYTEARRAY8
	0x98: {},                     // READONLY_BUFFER
}

// scanPickle walks the opcode stream of data without building anything: protocol 2 to 5,
// known opcodes only, every length within the data, at most maxPickleOps opcodes, STOP as
// the last byte. gopickle allocates each argument at the length the stream states before
// reading it, and indexes a table of 255 entries by the opcode byte; after this scan
// neither can be made to exhaust memory or go out of range.
func scanPickle(data []byte) error {
	if len(data) < 2 || data[0] != 0x80 {
		return errors.New("not a pickle of protocol 2 or later (no PROTO opcode at the start)")
	}
	if p := data[1]; p < 2 || p > 5 {
		return fmt.Errorf("pickle protocol %d: protocols 2 to 5 are read", p)
	}
	ops := 0
	for i := 0; i < len(data); {
		at, op := i, data[i]
		i++
		if ops++; ops > maxPickleOps {
			return fmt.Errorf("more than %d opcodes: not a model or statistics pickle", maxPickleOps)
		}
		if op == '.' {
			if i != len(data) {
				return fmt.Errorf("%d bytes after STOP at byte %d", len(data)-i, at)
			}
			return nil
		}
		a, ok := pickleOps[op]
		if !ok {
			return fmt.Errorf("byte %d: opcode 0x%02x is not read here", at, op)
		}
		rest := data[i:]
		var n uint64
		switch a.kind {
		case argNone:
			continue
		case argFixed:
			n = uint64(a.n)
		case argLen1, argLen4, argLen8:
			w := map[argKind]int{argLen1: 1, argLen4: 4, argLen8: 8}[a.kind]
			if len(rest) < w {
				return fmt.Errorf("byte %d: opcode 0x%02x: truncated length", at, op)
			}
			var b [8]byte
			copy(b[:], rest[:w])
			n = binary.LittleEndian.Uint64(b[:])
			if (op == 0x8a || op == 0x8b) && n == 0 {
				// Python writes small integers as BININT; a LONG of no bytes would
				// make gopickle index an empty slice.
				return fmt.Errorf("byte %d: LONG of length 0", at)
			}
			i += w
			rest = rest[w:]
		case argLine, argLine2:
			lines := 1
			if a.kind == argLine2 {
				lines = 2
			}
			for range lines {
				k := bytes.IndexByte(rest[:min(len(rest), maxPickleLine)], '\n')
				if k < 0 {
					return fmt.Errorf("byte %d: opcode %q: no end of line within %d bytes", at, op, maxPickleLine)
				}
				i += k + 1
				rest = rest[k+1:]
			}
			continue
		}
		if n > uint64(len(rest)) {
			return fmt.Errorf("byte %d: opcode 0x%02x wants %d bytes, %d are left: truncated", at, op, n, len(rest))
		}
		if op == 0x95 { // FRAME: the frame's length follows, its content is opcodes
			fl := binary.LittleEndian.Uint64(rest[:8])
			if fl > uint64(len(rest)-8) {
				return fmt.Errorf("byte %d: frame of %d bytes, %d are left: truncated", at, fl, len(rest)-8)
			}
		}
		i += int(n)
	}
	return errors.New("no STOP opcode: the pickle is truncated")
}

// unpickler decodes one scanned pickle with find for every global and persistent for
// every persistent ID (nil: none allowed).
type unpickler struct {
	find       func(module, name string) (any, error)
	persistent func(pid any) (any, error)
}

// load scans data and decodes it. A panic inside gopickle (an unhashable dictionary key,
// an odd number of items for a dict, ...) is an error, never a crash.
func (u unpickler) load(data []byte) (v any, err error) {
	if err := scanPickle(data); err != nil {
		return nil, fmt.Errorf("pickle: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("pickle: malformed: %s", clip(fmt.Sprint(r)))
		}
	}()
	p := pickle.NewUnpickler(bytes.NewReader(data))
	p.FindClass = u.find
	if u.persistent != nil {
		p.PersistentLoad = u.persistent
	}
	v, err = p.Load()
	if err != nil {
		if _, ok := err.(*kindError); ok {
			return nil, err
		}
		return nil, fmt.Errorf("pickle: malformed: %s", clip(err.Error()))
	}
	return v, nil
}

// decodeError turns an error of load into an *Error: a kindError keeps its kind (and
// names its own entry when it has one), anything else is ErrCorrupt.
func (w where) decodeError(err error) *Error {
	if ke, ok := err.(*kindError); ok {
		if ke.entry != "" {
			w = where{w.file, ke.entry}
		}
		return w.fail(ke.kind, "", ke)
	}
	return w.fail(ErrCorrupt, "", err)
}

// clip shortens a message gopickle built from the values at hand (%#v of what may be a
// long list) to one readable line.
func clip(s string) string {
	const n = 200
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
