package adapter

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"hybridtrain/internal/device"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d)) }

func host(t *testing.T, b *device.Buffer) []float32 {
	t.Helper()
	d, ok := b.HostData()
	if !ok {
		t.Fatalf("buffer on %v is not host memory", b.Device())
	}
	return d
}

func mustNew(t *testing.T, cfg Config) *Adapter {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return a
}

func randObs(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// randomise gives the adapter random weights and bias (on its current host device), so
// that device tests do not pass merely because the identity copies its input.
func randomise(t *testing.T, a *Adapter, r *rand.Rand) {
	t.Helper()
	for _, p := range a.Params() {
		for i, d := 0, host(t, p.Buf); i < len(d); i++ {
			d[i] = float32(r.NormFloat64() * 0.1)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg     Config
		wantErr string
	}{
		{DefaultConfig(), ""},
		{Config{InDim: 2, OutDim: 1}, ""},
		{Config{InDim: 261, OutDim: 261}, "adapter: in_dim must be greater than out_dim (261), got 261"},
		{Config{InDim: 200, OutDim: 228}, "adapter: in_dim must be greater than out_dim (228), got 200"},
		{Config{InDim: 5, OutDim: 0}, "adapter: out_dim must be >= 1, got 0"},
		{Config{InDim: 5, OutDim: -3}, "adapter: out_dim must be >= 1, got -3"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.wantErr {
			t.Errorf("%+v.Validate() = %q, want %q", tt.cfg, got, tt.wantErr)
		}
		if _, err := New(tt.cfg); (err != nil) != (tt.wantErr != "") {
			t.Errorf("New(%+v) error = %v, want error %v", tt.cfg, err, tt.wantErr != "")
		}
	}
	if c := DefaultConfig(); c.InDim != 261 || c.OutDim != 228 {
		t.Errorf("DefaultConfig() = %+v, want 261 -> 228", c)
	}
}

func TestNewIsIdentityOnTheCPU(t *testing.T) {
	a := mustNew(t, DefaultConfig())
	w, b := a.Weight(), a.Bias()
	if w.Name != "adapter.weight" || b.Name != "adapter.bias" {
		t.Errorf("names %q, %q; want adapter.weight, adapter.bias", w.Name, b.Name)
	}
	if len(w.Shape) != 2 || w.Shape[0] != 261 || w.Shape[1] != 228 || len(b.Shape) != 1 || b.Shape[0] != 228 {
		t.Errorf("shapes %v, %v; want [261 228], [228]", w.Shape, b.Shape)
	}
	if a.Device() != device.CPU || w.Device() != device.CPU || b.Device() != device.CPU {
		t.Errorf("devices %v, %v, %v; want cpu", a.Device(), w.Device(), b.Device())
	}
	wd := host(t, w.Buf)
	for i := range 261 {
		for j := range 228 {
			want := float32(0)
			if i == j {
				want = 1
			}
			if got := wd[i*228+j]; got != want {
				t.Fatalf("W[%d][%d] = %v, want %v", i, j, got, want)
			}
		}
	}
	for j, x := range host(t, b.Buf) {
		if x != 0 {
			t.Fatalf("bias[%d] = %v, want 0", j, x)
		}
	}
	if ps := a.Params(); len(ps) != 2 || ps[0] != w || ps[1] != b {
		t.Errorf("Params() = %v, want [weight bias]", ps)
	}
}

// At init the adapter's output is exactly the first 228 features, whatever the 33
// context features hold: identity times x adds only exact zeros.
func TestIdentityForwardIgnoresContext(t *testing.T) {
	const rows = 5
	a := mustNew(t, DefaultConfig())
	r := newRand(1)
	obs := randObs(r, rows*261)
	y, err := a.Forward(obs, rows)
	if err != nil {
		t.Fatal(err)
	}
	if y.Len() != rows*228 || y.Device() != device.CPU {
		t.Fatalf("output has %d elements on %v, want %d on cpu", y.Len(), y.Device(), rows*228)
	}
	first := append([]float32(nil), host(t, y)...)
	for i := range rows {
		for j := range 228 {
			if got, want := first[i*228+j], obs[i*261+j]; got != want {
				t.Fatalf("row %d: y[%d] = %v, want the feature %v", i, j, got, want)
			}
		}
		for j := 228; j < 261; j++ { // wildly different context
			obs[i*261+j] = float32(r.NormFloat64() * 1e3)
		}
	}
	y, err = a.Forward(obs, rows)
	if err != nil {
		t.Fatal(err)
	}
	for k, got := range host(t, y) {
		if got != first[k] {
			t.Fatalf("changing the context features changed y[%d]: %v, was %v", k, got, first[k])
		}
	}
}

// The adapter on the test device takes host observations, moves them there itself and
// gives the CPU adapter's result; its parameters stay on the test device.
func TestForwardOnTestDevice(t *testing.T) {
	const rows = 7
	cfg := DefaultConfig()
	r := newRand(2)
	onCPU := mustNew(t, cfg)
	randomise(t, onCPU, r)
	onTest := mustNew(t, cfg)
	for k, p := range onTest.Params() {
		copy(host(t, p.Buf), host(t, onCPU.Params()[k].Buf))
	}
	if err := onTest.To(device.Test(1)); err != nil {
		t.Fatal(err)
	}
	if onTest.Device() != device.Test(1) || onTest.Bias().Device() != device.Test(1) {
		t.Fatalf("after To(test:1): weight on %v, bias on %v", onTest.Device(), onTest.Bias().Device())
	}

	obs := randObs(r, rows*cfg.InDim)
	x, err := onTest.Input(obs, rows)
	if err != nil {
		t.Fatal(err)
	}
	if x.Device() != device.Test(1) || x.Len() != rows*cfg.InDim {
		t.Fatalf("Input gave %d elements on %v, want %d on test:1", x.Len(), x.Device(), rows*cfg.InDim)
	}
	for i, v := range host(t, x) {
		if v != obs[i] {
			t.Fatalf("Input[%d] = %v, want %v", i, v, obs[i])
		}
	}

	yTest, err := onTest.Forward(obs, rows)
	if err != nil {
		t.Fatal(err)
	}
	yCPU, err := onCPU.Forward(obs, rows)
	if err != nil {
		t.Fatal(err)
	}
	if yTest.Device() != device.Test(1) {
		t.Fatalf("Forward's output on %v, want test:1", yTest.Device())
	}
	gotT, gotC := host(t, yTest), host(t, yCPU)
	w, b := host(t, onCPU.Weight().Buf), host(t, onCPU.Bias().Buf)
	for i := range rows {
		for j := range cfg.OutDim {
			want := float64(b[j])
			for k := range cfg.InDim {
				want += float64(obs[i*cfg.InDim+k]) * float64(w[k*cfg.OutDim+j])
			}
			if gotT[i*cfg.OutDim+j] != gotC[i*cfg.OutDim+j] {
				t.Fatalf("y[%d][%d]: test device %v, cpu %v", i, j, gotT[i*cfg.OutDim+j], gotC[i*cfg.OutDim+j])
			}
			if math.Abs(float64(gotT[i*cfg.OutDim+j])-want) > 1e-5*(1+math.Abs(want)) {
				t.Fatalf("y[%d][%d] = %v, want x W + b = %v", i, j, gotT[i*cfg.OutDim+j], want)
			}
		}
	}
}

// A direct engine operation that mixes the adapter's test-device weight with a CPU buffer
// is refused with a *MismatchError naming both devices.
func TestMixingDevicesIsRefused(t *testing.T) {
	a := mustNew(t, DefaultConfig())
	if err := a.To(device.Test(1)); err != nil {
		t.Fatal(err)
	}
	x := device.NewHost(device.CPU, make([]float32, 2*261))
	y := device.NewHost(device.Test(1), make([]float32, 2*228))
	e, err := device.Open(device.Test(1))
	if err != nil {
		t.Fatal(err)
	}
	err = e.Gemm(false, false, 2, 228, 261, 1, x, a.Weight().Buf, 0, y)
	var me *device.MismatchError
	if !errors.As(err, &me) || me.Want != device.Test(1) || me.Got != device.CPU {
		t.Fatalf("Gemm with a cpu input and test-device weight: %v, want a mismatch naming test:1 and cpu", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "test:1") || !strings.Contains(msg, "cpu") {
		t.Errorf("message %q does not name both devices", msg)
	}
	cpu, err := device.Open(device.CPU)
	if err != nil {
		t.Fatal(err)
	}
	err = cpu.AddRowVector(device.NewHost(device.CPU, make([]float32, 228)), a.Bias().Buf, 1, 228)
	if !errors.As(err, &me) || me.Want != device.CPU || me.Got != device.Test(1) {
		t.Errorf("cpu AddRowVector with the test-device bias: %v, want a mismatch", err)
	}
}

func TestToRoundTrip(t *testing.T) {
	a := mustNew(t, DefaultConfig())
	randomise(t, a, newRand(3))
	want := [][]float32{append([]float32(nil), host(t, a.Weight().Buf)...), append([]float32(nil), host(t, a.Bias().Buf)...)}
	oldW := a.Weight().Buf
	if _, err := a.Forward(make([]float32, 261), 1); err != nil { // creates staging on the cpu
		t.Fatal(err)
	}
	for _, dev := range []device.Device{device.Test(1), device.Test(2), device.CPU} {
		if err := a.To(dev); err != nil {
			t.Fatalf("To(%v): %v", dev, err)
		}
		if a.Device() != dev {
			t.Fatalf("To(%v): Device() = %v", dev, a.Device())
		}
		for k, p := range a.Params() {
			if p.Device() != dev {
				t.Errorf("To(%v): %s on %v", dev, p.Name, p.Device())
			}
			for i, v := range host(t, p.Buf) {
				if v != want[k][i] {
					t.Fatalf("To(%v): %s[%d] = %v, want %v", dev, p.Name, i, v, want[k][i])
				}
			}
		}
		// The staging memory follows the adapter.
		y, err := a.Forward(make([]float32, 261), 1)
		if err != nil || y.Device() != dev {
			t.Fatalf("Forward after To(%v): output on %v, err %v", dev, y.Device(), err)
		}
	}
	if oldW.Len() != 0 {
		t.Errorf("the weight's first buffer was not freed by To: Len %d", oldW.Len())
	}
	// Moving to the current device keeps the very same buffers.
	w := a.Weight().Buf
	if err := a.To(device.CPU); err != nil || a.Weight().Buf != w {
		t.Errorf("To(current device) replaced the buffer (err %v)", err)
	}
}

func TestInputErrorsAndReuse(t *testing.T) {
	a := mustNew(t, DefaultConfig())
	if _, err := a.Input(make([]float32, 260), 1); err == nil || !strings.Contains(err.Error(), "adapter: observations have 260 floats, want rows*in_dim = 1*261 = 261") {
		t.Errorf("short observations: %v", err)
	}
	if _, err := a.Forward(make([]float32, 0), 0); err == nil || !strings.Contains(err.Error(), "rows must be >= 1") {
		t.Errorf("zero rows: %v", err)
	}
	x1, err := a.Input(make([]float32, 2*261), 2)
	if err != nil {
		t.Fatal(err)
	}
	x2, err := a.Input(make([]float32, 2*261), 2)
	if err != nil {
		t.Fatal(err)
	}
	x3, err := a.Input(make([]float32, 3*261), 3)
	if err != nil {
		t.Fatal(err)
	}
	if x1 != x2 {
		t.Errorf("Input with the same rows allocated a new buffer")
	}
	if x3 == x1 || x3.Len() != 3*261 {
		t.Errorf("Input with 3 rows: len %d (want %d), shared with 2 rows: %v", x3.Len(), 3*261, x3 == x1)
	}
}

func TestFreeze(t *testing.T) {
	a := mustNew(t, DefaultConfig())
	if a.Frozen() {
		t.Fatal("a new adapter is frozen")
	}
	a.Freeze()
	if !a.Frozen() {
		t.Error("Freeze did not freeze")
	}
	if len(a.Params()) != 2 {
		t.Error("a frozen adapter must still list its parameters (checkpoints, To)")
	}
	a.Unfreeze()
	if a.Frozen() {
		t.Error("Unfreeze did not unfreeze")
	}
}

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-9*(1+math.Abs(want)) }

func TestStatsAtInit(t *testing.T) {
	s, err := mustNew(t, DefaultConfig()).Stats()
	if err != nil {
		t.Fatal(err)
	}
	// 228 ones among 261*228 weights: mean = 228/(261*228) = 1/261 = 0.0038314;
	// population variance = E[w^2] - mean^2 = 1/261 - 1/261^2 = 260/261^2, so
	// std = sqrt(260)/261 = 16.1245155/261 = 0.0617798.
	if !near(s.WeightMean, 1.0/261) || math.Abs(s.WeightMean-0.0038314) > 5e-8 {
		t.Errorf("weight mean = %v, want 1/261 = 0.0038314", s.WeightMean)
	}
	if !near(s.WeightStd, math.Sqrt(260)/261) || math.Abs(s.WeightStd-0.061780) > 5e-7 {
		t.Errorf("weight std = %v, want sqrt(260)/261 = 0.061780", s.WeightStd)
	}
	want := Stats{WeightMean: s.WeightMean, WeightStd: s.WeightStd, WeightMax: 1}
	if s != want {
		t.Errorf("Stats() = %+v, want %+v", s, want)
	}
}

func TestStatsAfterAChange(t *testing.T) {
	a := mustNew(t, DefaultConfig())
	if err := a.To(device.Test(1)); err != nil { // stats read through the device too
		t.Fatal(err)
	}
	w, b := host(t, a.Weight().Buf), host(t, a.Bias().Buf)
	// W is [input, output]: row 0 is input 0, row 230 a context input.
	w[0*228+0] = 0.5  // diagonal: |0.5 - 1| = 0.5 of deviation
	w[0*228+1] = 0.25 // off-diagonal: 0.25 of deviation
	w[230*228+5] = -2 // context block: |-2| learned
	b[3] = 1
	s, err := a.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// n = 59508 weights. Sum = 228 - 0.5 + 0.25 - 2 = 225.75. Sum of squares =
	// 227 (ones left) + 0.25 + 0.0625 + 4 = 231.3125.
	const n = 261 * 228
	mean := 225.75 / n
	std := math.Sqrt(231.3125/n - mean*mean)
	want := Stats{
		WeightMean: mean, WeightStd: std, WeightMin: -2, WeightMax: 1,
		BiasMean: 1.0 / 228, BiasStd: math.Sqrt(227) / 228, // one 1 among 228: var = 1/228 - 1/228^2
		BaseIdentityDeviation: 0.75 / (228 * 228),
		LLMFeaturesLearned:    2.0 / (33 * 228),
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"weight_mean", s.WeightMean, want.WeightMean},
		{"weight_std", s.WeightStd, want.WeightStd},
		{"weight_min", s.WeightMin, want.WeightMin},
		{"weight_max", s.WeightMax, want.WeightMax},
		{"bias_mean", s.BiasMean, want.BiasMean},
		{"bias_std", s.BiasStd, want.BiasStd},
		{"base_identity_deviation", s.BaseIdentityDeviation, want.BaseIdentityDeviation},
		{"llm_features_learned", s.LLMFeaturesLearned, want.LLMFeaturesLearned},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestAppendContextWeights: the context block is rows 228..260 of W ([input, output]),
// read through the device, appended after what dst holds.
func TestAppendContextWeights(t *testing.T) {
	a := mustNew(t, DefaultConfig())
	if err := a.To(device.Test(1)); err != nil {
		t.Fatal(err)
	}
	w := host(t, a.Weight().Buf)
	w[227*228+227] = 7 // the last base input's own weight: not context
	w[228*228+0] = -2  // the first context input, output 0: the block's first value
	w[260*228+227] = 3 // the last context input, last output: the block's last value
	got, err := a.AppendContextWeights([]float32{42})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1+33*228 || got[0] != 42 {
		t.Fatalf("got %d values starting %v, want 42 then the 33 x 228 = 7524 context weights", len(got), got[:1])
	}
	block := got[1:]
	var sum float32
	for _, v := range block {
		sum += v
	}
	if block[0] != -2 || block[len(block)-1] != 3 || sum != 1 {
		t.Errorf("context block starts %v, ends %v, sums to %v; want -2, 3 and 1 (the base block's 7 left out)",
			block[0], block[len(block)-1], sum)
	}
}
