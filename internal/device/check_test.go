package device

import (
	"errors"
	"math"
	"testing"
)

// call is one Engine method invoked with operands from get, which returns a buffer of at
// least n elements for the named operand.
type call struct {
	op       string
	operands []string
	do       func(e *Engine, get func(name string, n int) *Buffer) error
}

// calls lists every Engine method that takes buffers, with shapes rows = 2, cols = 3.
func calls() []call {
	const rows, cols = 2, 3
	ppo := func(e *Engine, get func(string, int) *Buffer, p PPOParams) error {
		out := PPOLossOut{DLogits: get("out.DLogits", rows*cols), DValues: get("out.DValues", rows), Terms: get("out.Terms", rows*PPOTerms)}
		in := PPOLossIn{
			Logits: get("in.Logits", rows*cols), Mask: get("in.Mask", rows*cols), Values: get("in.Values", rows),
			Actions: get("in.Actions", rows), OldLogp: get("in.OldLogp", rows), OldValues: get("in.OldValues", rows),
			Adv: get("in.Adv", rows), Returns: get("in.Returns", rows),
		}
		return e.PPOLoss(out, in, rows, cols, p)
	}
	adam := AdamParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-5, Step: 1, GradScale: 1}
	return []call{
		{"Upload", []string{"dst"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.Upload(get("dst", 4), make([]float32, 4))
		}},
		{"Download", []string{"src"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.Download(make([]float32, 4), get("src", 4))
		}},
		{"Gemm", []string{"a", "b", "c"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.Gemm(false, true, rows, cols, 4, 1, get("a", rows*4), get("b", 4*cols), 0, get("c", rows*cols))
		}},
		{"AddRowVector", []string{"y", "v"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.AddRowVector(get("y", rows*cols), get("v", cols), rows, cols)
		}},
		{"SumRows", []string{"dst", "src"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.SumRows(get("dst", cols), get("src", rows*cols), rows, cols, 1)
		}},
		{"ReLU", []string{"y"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.ReLU(get("y", 5), 5)
		}},
		{"ReLUBackward", []string{"dy", "y"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.ReLUBackward(get("dy", 5), get("y", 5), 5)
		}},
		{"MaskedLogSoftmax", []string{"logp", "entropy", "logits", "mask"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.MaskedLogSoftmax(get("logp", rows*cols), get("entropy", rows), get("logits", rows*cols), get("mask", rows*cols), rows, cols)
		}},
		{"PPOLoss", []string{"out.DLogits", "out.DValues", "out.Terms", "in.Logits", "in.Mask", "in.Values", "in.Actions", "in.OldLogp", "in.Adv", "in.Returns", "in.OldValues"},
			func(e *Engine, get func(string, int) *Buffer) error {
				return ppo(e, get, PPOParams{ClipRange: 0.2, ClipRangeVF: 0.1, EntCoef: 0.01, VfCoef: 0.5})
			}},
		{"SumSquares", []string{"dst", "src"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.SumSquares(get("dst", 3), 2, get("src", 5), 5)
		}},
		{"Scale", []string{"x"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.Scale(get("x", 5), 5, 2)
		}},
		{"Fill", []string{"x"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.Fill(get("x", 5), 5, 2)
		}},
		{"Copy", []string{"dst", "src"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.Copy(get("dst", 5), get("src", 5), 5)
		}},
		{"Adam", []string{"param", "grad", "m", "v"}, func(e *Engine, get func(string, int) *Buffer) error {
			return e.Adam(get("param", 5), get("grad", 5), get("m", 5), get("v", 5), 5, adam)
		}},
	}
}

// TestEveryMethodRefusesAnotherDevice gives each operand of each method, in turn, a buffer
// of the other device (test engine with a cpu buffer, and the cpu engine with a test
// buffer) and expects a *MismatchError naming the method, the operand and both devices,
// with the operands left untouched.
func TestEveryMethodRefusesAnotherDevice(t *testing.T) {
	for _, pair := range [][2]Device{{Test(1), CPU}, {CPU, Test(1)}, {Test(1), Test(2)}} {
		engDev, other := pair[0], pair[1]
		e := open(t, engDev)
		for _, c := range calls() {
			for _, bad := range c.operands {
				t.Run(engDev.String()+"/"+c.op+"/"+bad, func(t *testing.T) {
					var all []*Buffer
					var before [][]float32
					get := func(name string, n int) *Buffer {
						d := engDev
						if name == bad {
							d = other
						}
						x := make([]float32, n)
						for i := range x {
							x[i] = 0.5 // legal masks, action 0, finite values
						}
						if name == "in.Actions" {
							clear(x)
						}
						b := NewHost(d, x)
						all = append(all, b)
						before = append(before, clone(b))
						return b
					}
					err := c.do(e, get)
					var me *MismatchError
					if !errors.As(err, &me) {
						t.Fatalf("%s with %s on %v: error %v, want *MismatchError", c.op, bad, other, err)
					}
					if me.Op != c.op || me.Want != engDev || me.Got != other || me.Operand != bad {
						t.Errorf("got %+v, want Op %s, Want %v, Got %v, Operand %s", *me, c.op, engDev, other, bad)
					}
					for k, b := range all {
						for i, x := range data(b) {
							if x != before[k][i] {
								t.Fatalf("%s refused but changed an operand: [%d] = %v, was %v", c.op, i, x, before[k][i])
							}
						}
					}
				})
			}
		}
	}
}

// TestEveryMethodChecksLengths gives each operand in turn one element too few and expects
// a *LengthError naming the method and operand; then all operands at the right length
// succeed (so the lengths under test are the tight ones).
func TestEveryMethodChecksLengths(t *testing.T) {
	e := open(t, Test(0))
	for _, c := range calls() {
		get := func(short string) func(string, int) *Buffer {
			return func(name string, n int) *Buffer {
				if name == short {
					n--
				}
				x := make([]float32, n)
				if name == "in.Mask" {
					for i := range x {
						x[i] = 1
					}
				}
				return NewHost(Test(0), x)
			}
		}
		t.Run(c.op, func(t *testing.T) {
			if err := c.do(e, get("")); err != nil {
				t.Fatalf("%s at exact lengths: %v", c.op, err)
			}
			for _, short := range c.operands {
				err := c.do(e, get(short))
				var le *LengthError
				if !errors.As(err, &le) || le.Op != c.op || le.Operand != short || le.Have != le.Need-1 {
					t.Errorf("%s with %s one short: error %v, want *LengthError naming %s", c.op, short, err, short)
				}
			}
		})
	}
}

func TestInvalidArguments(t *testing.T) {
	e := open(t, Test(0))
	b := func(n int) *Buffer { return NewHost(Test(0), make([]float32, n)) }
	x, y := b(6), b(6)
	ones := NewHost(Test(0), []float32{1, 1, 1, 1, 1, 1})
	adam := AdamParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-5, Step: 1, GradScale: 1}
	ppoIn := func(actions []float32) PPOLossIn {
		return PPOLossIn{Logits: b(6), Mask: ones, Values: b(2), Actions: NewHost(Test(0), actions),
			OldLogp: b(2), Adv: b(2), Returns: b(2)}
	}
	ppoOut := PPOLossOut{DLogits: b(6), DValues: b(2), Terms: b(2 * PPOTerms)}
	okP := PPOParams{ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5}
	nan := float32(math.NaN())
	tests := []struct {
		name string
		err  error
	}{
		{"negative m", e.Gemm(false, false, -1, 2, 2, 1, x, y, 0, b(4))},
		{"negative rows", e.AddRowVector(x, y, -2, 3)},
		{"negative n", e.Fill(x, -1, 0)},
		{"negative at", e.SumSquares(x, -1, y, 2)},
		{"nil operand", e.ReLU(nil, 0)},
		{"Alloc negative", func() error { _, err := e.Alloc(-3); return err }()},
		{"gemm c is a", e.Gemm(false, false, 2, 2, 2, 1, x, y, 0, x)},
		{"sumrows dst is src", e.SumRows(x, x, 2, 3, 0)},
		{"logsoftmax logp is logits", e.MaskedLogSoftmax(x, b(2), x, ones, 2, 3)},
		{"adam m is v", func() error { v := b(6); return e.Adam(x, y, v, v, 6, adam) }()},
		{"adam grad is param", e.Adam(x, x, b(6), b(6), 6, adam)},
		{"adam step 0", e.Adam(x, y, b(6), b(6), 6, AdamParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-5, GradScale: 1})},
		{"adam beta1 1", e.Adam(x, y, b(6), b(6), 6, AdamParams{LR: 1e-3, Beta1: 1, Beta2: 0.999, Eps: 1e-5, Step: 1, GradScale: 1})},
		{"adam lr NaN", e.Adam(x, y, b(6), b(6), 6, AdamParams{LR: nan, Beta1: 0.9, Beta2: 0.999, Step: 1, GradScale: 1})},
		{"adam grad scale 0", e.Adam(x, y, b(6), b(6), 6, AdamParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Step: 1})},
		{"ppo action 3 of 3", e.PPOLoss(ppoOut, ppoIn([]float32{0, 3}), 2, 3, okP)},
		{"ppo action -1", e.PPOLoss(ppoOut, ppoIn([]float32{-1, 0}), 2, 3, okP)},
		{"ppo action 1.5", e.PPOLoss(ppoOut, ppoIn([]float32{1.5, 0}), 2, 3, okP)},
		{"ppo action NaN", e.PPOLoss(ppoOut, ppoIn([]float32{0, nan}), 2, 3, okP)},
		{"ppo clip range negative", e.PPOLoss(ppoOut, ppoIn([]float32{0, 0}), 2, 3, PPOParams{ClipRange: -0.1})},
		{"ppo vf coef NaN", e.PPOLoss(ppoOut, ppoIn([]float32{0, 0}), 2, 3, PPOParams{ClipRange: 0.2, VfCoef: nan})},
		{"ppo output aliases input", e.PPOLoss(PPOLossOut{DLogits: ppoOut.DLogits, DValues: ppoOut.DValues, Terms: ppoOut.Terms},
			PPOLossIn{Logits: ppoOut.DLogits, Mask: ones, Values: b(2), Actions: b(2), OldLogp: b(2), Adv: b(2), Returns: b(2)}, 2, 3, okP)},
		{"ppo missing old values with clip_range_vf", e.PPOLoss(ppoOut, ppoIn([]float32{0, 0}), 2, 3, PPOParams{ClipRange: 0.2, ClipRangeVF: 0.2})},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, ErrInvalidArgument) {
			t.Errorf("%s: error %v, want ErrInvalidArgument", tt.name, tt.err)
		}
	}
	// Without value clipping OldValues is not needed.
	if err := e.PPOLoss(ppoOut, ppoIn([]float32{0, 2}), 2, 3, okP); err != nil {
		t.Errorf("PPOLoss without OldValues and clip_range_vf 0: %v", err)
	}
}
