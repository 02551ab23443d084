package sb3

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"

	"github.com/nlpodyssey/gopickle/types"
)

// Stats are a VecNormalize's statistics and settings (SB3's
// stable_baselines3/common/vec_env/vec_normalize.py): observations are normalised as
// clip((obs - obs_rms.mean) / sqrt(obs_rms.var + epsilon), -clip_obs, clip_obs), rewards
// divided by sqrt(ret_rms.var + epsilon) and clipped at clip_reward.
type Stats struct {
	File string

	// ObsMean and ObsVar are obs_rms's per-feature mean and population variance, nil when
	// the VecNormalize kept no observation statistics (norm_obs false); ObsCount is its one
	// count of observations.
	ObsMean, ObsVar []float64
	ObsCount        float64
	// RetMean, RetVar and RetCount are ret_rms's, the discounted return's statistics.
	RetMean, RetVar, RetCount float64

	ClipObs, ClipReward, Epsilon, Gamma float64
	NormObs, NormReward, Training       bool
}

// The VecNormalize class the pickle must hold at its top.
const vecNormalizeClass = "stable_baselines3.common.vec_env.vec_normalize.VecNormalize"

// ReadVecNormalize reads what VecNormalize.save wrote. The observation statistics must
// have cfg.ObsDim features. Errors are *Error naming path and the attribute at fault.
func ReadVecNormalize(path string, cfg Config) (*Stats, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := where{file: path}
	data, err := readFile(path, cfg.MaxBytes)
	if err != nil {
		kind := ErrCorrupt
		if errors.Is(err, fs.ErrNotExist) {
			kind = ErrMissing
		}
		return nil, w.fail(kind, "", err)
	}
	return decodeVecNormalize(data, w, cfg)
}

// decodeVecNormalize decodes the pickle and reads its statistics.
func decodeVecNormalize(data []byte, w where, cfg Config) (*Stats, error) {
	v, err := unpickler{find: findGlobal(false)}.load(data)
	if err != nil {
		return nil, w.decodeError(err)
	}
	o, ok := v.(*pyObject)
	if !ok || o.class.String() != vecNormalizeClass {
		return nil, w.failf(ErrUnsupported, "", "the pickle holds %s, want a %s (what VecNormalize.save writes)", describe(v), vecNormalizeClass)
	}
	s := &Stats{File: w.file}
	r := attrReader{o: o, w: w}
	s.NormObs = r.boolean("norm_obs")
	s.NormReward = r.boolean("norm_reward")
	s.Training = r.optionalBool("training", true)
	s.ClipObs = r.number("clip_obs")
	s.ClipReward = r.number("clip_reward")
	s.Epsilon = r.number("epsilon")
	s.Gamma = r.number("gamma")
	if r.err != nil {
		return nil, r.err
	}
	if _, ok := o.attr("obs_rms"); ok || s.NormObs {
		// SB3 creates obs_rms only when norm_obs is on; one that is there is read and
		// checked either way.
		if s.ObsMean, s.ObsVar, s.ObsCount, err = r.rms("obs_rms", cfg.ObsDim); err != nil {
			return nil, err
		}
	}
	mean, variance, count, err := r.rms("ret_rms", 1)
	if err != nil {
		return nil, err
	}
	s.RetMean, s.RetVar, s.RetCount = mean[0], variance[0], count

	for _, c := range []struct {
		key string
		v   float64
	}{{"clip_obs", s.ClipObs}, {"clip_reward", s.ClipReward}, {"epsilon", s.Epsilon}} {
		if !(c.v > 0) || math.IsInf(c.v, 0) {
			return nil, w.failf(ErrValues, c.key, "%v, want a finite number > 0", c.v)
		}
	}
	return s, nil
}

// attrReader reads attributes of one object, keeping the first error.
type attrReader struct {
	o   *pyObject
	w   where
	err error
}

func (r *attrReader) get(key string) (any, bool) {
	if r.err != nil {
		return nil, false
	}
	v, ok := r.o.attr(key)
	if !ok {
		r.err = r.w.failf(ErrMissing, key, "the %s has no attribute %s", r.o.class.name, key)
	}
	return v, ok
}

func (r *attrReader) boolean(key string) bool {
	v, ok := r.get(key)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		r.err = r.w.failf(ErrCorrupt, key, "%s, want a bool", describe(v))
	}
	return b
}

func (r *attrReader) optionalBool(key string, def bool) bool {
	if _, ok := r.o.attr(key); !ok {
		return def
	}
	return r.boolean(key)
}

func (r *attrReader) number(key string) float64 {
	v, ok := r.get(key)
	if !ok {
		return 0
	}
	x, ok := number(v)
	if !ok {
		r.err = r.w.failf(ErrCorrupt, key, "%s, want a number", describe(v))
	}
	return x
}

// rms reads a RunningMeanStd attribute of dim features: finite means, finite
// non-negative variances and a finite positive count (SB3 keeps one count for all).
// A shape () (ret_rms) counts as one feature.
func (r *attrReader) rms(key string, dim int) (mean, variance []float64, count float64, err error) {
	v, ok := r.get(key)
	if !ok {
		return nil, nil, 0, r.err
	}
	o, ok := v.(*pyObject)
	if !ok {
		what := describe(v)
		if _, isDict := v.(*types.Dict); isDict {
			return nil, nil, 0, r.w.failf(ErrUnsupported, key, "a dict of statistics (a Dict observation space): this tool's observations are one Box")
		}
		return nil, nil, 0, r.w.failf(ErrCorrupt, key, "%s, want a RunningMeanStd", what)
	}
	if o.class.name != "RunningMeanStd" {
		return nil, nil, 0, r.w.failf(ErrCorrupt, key, "a %s, want a RunningMeanStd", o.class)
	}
	arr := func(name string) ([]float64, error) {
		k := key + "." + name
		v, ok := o.attr(name)
		if !ok {
			return nil, r.w.failf(ErrMissing, k, "absent")
		}
		a, ok := v.(*ndarray)
		if !ok {
			return nil, r.w.failf(ErrCorrupt, k, "%s, want a numpy array", describe(v))
		}
		xs, err := a.float64s()
		if err != nil {
			return nil, r.w.fail(ErrCorrupt, k, err)
		}
		if len(xs) != dim || (len(a.shape) > 1) {
			return nil, r.w.failf(ErrUnsupported, k, "shape %v: want %d features (this tool's Phase 2 observation)", a.shape, dim)
		}
		for i, x := range xs {
			if math.IsNaN(x) || math.IsInf(x, 0) || (name == "var" && x < 0) {
				return nil, r.w.failf(ErrValues, k, "feature %d is %v", i, x)
			}
		}
		return xs, nil
	}
	if mean, err = arr("mean"); err != nil {
		return nil, nil, 0, err
	}
	if variance, err = arr("var"); err != nil {
		return nil, nil, 0, err
	}
	c, ok := o.attr("count")
	if !ok {
		return nil, nil, 0, r.w.failf(ErrMissing, key+".count", "absent")
	}
	count, ok = number(c)
	if !ok {
		return nil, nil, 0, r.w.failf(ErrCorrupt, key+".count", "%s, want a number", describe(c))
	}
	if !(count > 0) || math.IsInf(count, 0) {
		return nil, nil, 0, r.w.failf(ErrValues, key+".count", "%v, want a finite number > 0", count)
	}
	return mean, variance, count, nil
}

// number reads a Python int or float, or a numpy scalar or one-element array.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	case *ndarray:
		if xs, err := x.float64s(); err == nil && len(xs) == 1 {
			return xs[0], true
		}
		if x.built && !x.object && len(x.raw) == 8 && (x.dtype.kind == 'i' || x.dtype.kind == 'u') {
			n, _ := elements(x.shape)
			if n == 1 {
				var u uint64
				for i := 7; i >= 0; i-- {
					u = u<<8 | uint64(x.raw[i])
				}
				if x.dtype.kind == 'i' {
					return float64(int64(u)), true
				}
				return float64(u), true
			}
		}
	}
	return 0, false
}

// describe names what a pickled value is, for messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case *pyObject:
		return "a " + x.class.String()
	case *ndarray:
		if x.dtype == nil {
			return "a numpy array"
		}
		return fmt.Sprintf("a numpy array of dtype %s and shape %v", x.dtype, x.shape)
	case *types.Dict:
		return "a dict"
	case *types.List:
		return "a list"
	case *types.Tuple:
		return "a tuple"
	case string:
		return "a str"
	case bool:
		return "a bool"
	case int, float64:
		return fmt.Sprintf("the number %v", x)
	}
	return fmt.Sprintf("a %T", v)
}

// readFile reads at most limit bytes of path, refusing a longer file.
func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errors.New("a directory, not a file")
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("more than the %d bytes this reader takes", limit)
	}
	return data, nil
}
