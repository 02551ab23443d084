package sb3

import (
	"fmt"

	"github.com/nlpodyssey/gopickle/types"
)

// The allow-list: every global a pickle may name, and the Go value it gets instead of the
// Python object. Nothing here runs code from the file: the reconstructors are this
// package's own functions over the pickled data, the classes are inert records of their
// attributes. gopickle itself maps three names before asking (collections.OrderedDict,
// __builtin__.object and copy_reg._reconstructor, all inert Go values as well).

// kindError is an error of one of the kinds raised while decoding (a forbidden global, a
// storage that does not fit), passed through gopickle unchanged.
type kindError struct {
	kind  error
	entry string // the archive entry at fault, when not the pickle itself
	msg   string
}

func (e *kindError) Error() string { return e.msg }

func kindErrorf(kind error, format string, args ...any) *kindError {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// pyFunc is an allowed function: the reconstructor it names, in Go.
type pyFunc struct {
	name string
	call func(args []any) (any, error)
}

// Call runs the Go reconstructor; its errors name the function.
func (f *pyFunc) Call(args ...any) (any, error) {
	v, err := f.call(args)
	if err != nil {
		if _, ok := err.(*kindError); ok {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	return v, nil
}

// pyClass is an allowed class whose instances are kept as inert records: created by
// NEWOBJ (cls.__new__) or by calling the class, filled by BUILD.
type pyClass struct {
	module, name string
}

func (c *pyClass) String() string { return c.module + "." + c.name }

// PyNew is cls.__new__(cls, *args): an empty record.
func (c *pyClass) PyNew(args ...any) (any, error) { return &pyObject{class: c, args: args}, nil }

// Call is cls(*args), which Python would run __init__ for: here only a record of the
// arguments (numpy's bit generators are rebuilt so; none of them matters to the import).
func (c *pyClass) Call(args ...any) (any, error) { return &pyObject{class: c, args: args}, nil }

// pyObject is an instance of an allowed class: its attributes (__dict__ and slots, as
// BUILD gave them) and its constructor arguments.
type pyObject struct {
	class *pyClass
	args  []any
	dict  map[string]any
	state any // a BUILD state that is not a dict (kept, never used)
}

// PySetState is BUILD: a dict of attributes, or (dict, slots) as pickle writes for
// objects with __slots__, or anything else, kept as is.
func (o *pyObject) PySetState(state any) error {
	merge := func(d *types.Dict) error {
		if o.dict == nil {
			o.dict = map[string]any{}
		}
		for _, e := range *d {
			k, ok := e.Key.(string)
			if !ok {
				return fmt.Errorf("%s: attribute name %T, want str", o.class, e.Key)
			}
			o.dict[k] = e.Value // later wins, as in Python
		}
		return nil
	}
	switch s := state.(type) {
	case *types.Dict:
		return merge(s)
	case *types.Tuple:
		if s.Len() == 2 {
			for _, part := range *s {
				if d, ok := part.(*types.Dict); ok {
					if err := merge(d); err != nil {
						return err
					}
				} else if part != nil {
					o.state = state
				}
			}
			return nil
		}
	}
	o.state = state
	return nil
}

// attr returns the attribute name, false when the object has none.
func (o *pyObject) attr(name string) (any, bool) {
	v, ok := o.dict[name]
	return v, ok
}

// storageNames are torch's storage classes by their pickled names, with the element
// type they hold.
var storageNames = map[string]storageType{
	"FloatStorage":    {name: "float32", kind: 'f', size: 4},
	"DoubleStorage":   {name: "float64", kind: 'f', size: 8},
	"HalfStorage":     {name: "float16", kind: 'h', size: 2},
	"BFloat16Storage": {name: "bfloat16", kind: 'B', size: 2},
	"LongStorage":     {name: "int64", kind: 'i', size: 8},
	"IntStorage":      {name: "int32", kind: 'i', size: 4},
	"ShortStorage":    {name: "int16", kind: 'i', size: 2},
	"CharStorage":     {name: "int8", kind: 'i', size: 1},
	"ByteStorage":     {name: "uint8", kind: 'u', size: 1},
	"BoolStorage":     {name: "bool", kind: 'b', size: 1},
}

// inertClasses are classes whose instances are kept as records: SB3's, gymnasium's (and
// gym's, for models saved before SB3 2.0) spaces that VecNormalize pickles, and numpy's
// random generators that a space may hold.
var inertClasses = map[string]bool{
	"stable_baselines3.common.vec_env.vec_normalize.VecNormalize": true,
	"stable_baselines3.common.running_mean_std.RunningMeanStd":    true,
	"gymnasium.spaces.box.Box":                                    true,
	"gymnasium.spaces.discrete.Discrete":                          true,
	"gym.spaces.box.Box":                                          true,
	"gym.spaces.discrete.Discrete":                                true,
	"numpy.random._pickle.__generator_ctor":                       true,
	"numpy.random._pickle.__bit_generator_ctor":                   true,
	"numpy.random._pickle.__randomstate_ctor":                     true,
	"numpy.random._generator.Generator":                           true,
	"numpy.random.mtrand.RandomState":                             true,
	"numpy.random._pcg64.PCG64":                                   true,
	"numpy.random._pcg64.PCG64DXSM":                               true,
	"numpy.random._mt19937.MT19937":                               true,
	"numpy.random._philox.Philox":                                 true,
	"numpy.random._sfc64.SFC64":                                   true,
}

// findGlobal is the unpickler's FindClass: the allow-list. torch tells whether torch's
// names are allowed (a state dict) or not (a VecNormalize has no tensors).
func findGlobal(torch bool) func(module, name string) (any, error) {
	return func(module, name string) (any, error) {
		full := module + "." + name
		switch full {
		case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
			return &pyFunc{full, reconstruct}, nil
		case "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer":
			return &pyFunc{full, frombuffer}, nil
		case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
			return &pyFunc{full, scalar}, nil
		case "numpy.dtype":
			return &pyFunc{full, newDtype}, nil
		case "numpy.ndarray":
			return ndarrayClass{}, nil
		case "_codecs.encode":
			return &pyFunc{full, codecsEncode}, nil
		case "__builtin__.bytes", "builtins.bytes":
			return &pyFunc{full, emptyBytes}, nil
		}
		if inertClasses[full] {
			return &pyClass{module: module, name: name}, nil
		}
		if torch {
			switch full {
			case "torch._utils._rebuild_tensor_v2":
				return &pyFunc{full, rebuildTensor}, nil
			case "torch._utils._rebuild_parameter":
				return &pyFunc{full, rebuildParameter}, nil
			}
			if st, ok := storageNames[name]; ok && module == "torch" {
				return &st, nil
			}
		}
		return nil, kindErrorf(ErrForbidden, "the pickle names %s, which is not on the allow-list of docs/sb3.md "+
			"(Python's pickle.load would import and run it; this reader refuses the file)", clip(full))
	}
}

// emptyBytes is bytes(), how protocol 2 writes b"".
func emptyBytes(args []any) (any, error) {
	if len(args) != 0 {
		return nil, fmt.Errorf("bytes() with %d arguments: only the empty form is read", len(args))
	}
	return []byte{}, nil
}
