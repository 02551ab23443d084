package device

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Device
	}{
		{"cpu", CPU},
		{"CPU", CPU},
		{"  cpu\n", CPU},
		{"cuda", CUDA(0)},
		{"cuda:0", CUDA(0)},
		{"Cuda:3", CUDA(3)},
		{"cuda:12", CUDA(12)},
		{"auto", Auto()},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		in      string
		wantMsg string // a substring the message must contain
	}{
		{"", `unknown device "": want auto, cpu, cuda or cuda:N`},
		{"gpu", `unknown device "gpu"`},
		{"cpu:0", `unknown device "cpu:0"`},
		{"test:0", `unknown device "test:0"`},
		{"cuda:", `"cuda:": want cuda:N with N a GPU ordinal >= 0`},
		{"cuda:-1", `"cuda:-1": want cuda:N`},
		{"cuda:+1", `"cuda:+1": want cuda:N`},
		{"cuda:x", `"cuda:x": want cuda:N`},
		{"cuda:1.5", `"cuda:1.5": want cuda:N`},
		{"cuda 1", `unknown device "cuda 1"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.in, got)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantMsg) || !strings.HasPrefix(msg, "device: ") {
				t.Errorf("Parse(%q) error %q, want it to start with \"device: \" and contain %q", tt.in, msg, tt.wantMsg)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		d    Device
		want string
	}{
		{CPU, "cpu"},
		{Device{}, "cpu"},
		{CUDA(0), "cuda:0"},
		{CUDA(7), "cuda:7"},
		{Test(0), "test:0"},
		{Test(2), "test:2"},
		{Device{Kind: 9, Index: 1}, "device(9:1)"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.d, got, tt.want)
		}
	}
	// Printing and parsing agree for every device a user can name.
	for _, d := range []Device{CPU, CUDA(0), CUDA(5)} {
		if got, err := Parse(d.String()); err != nil || got != d {
			t.Errorf("Parse(%q) = %v, %v; want %v", d.String(), got, err, d)
		}
	}
}

func TestIsHost(t *testing.T) {
	for _, tt := range []struct {
		d    Device
		want bool
	}{{CPU, true}, {Test(1), true}, {CUDA(0), false}} {
		if got := tt.d.IsHost(); got != tt.want {
			t.Errorf("%v.IsHost() = %v, want %v", tt.d, got, tt.want)
		}
	}
}

func TestOpenCachesOneEnginePerDevice(t *testing.T) {
	devs := []Device{CPU, Test(0), Test(1)}
	first := make([]*Engine, len(devs))
	for i, d := range devs {
		e, err := Open(d)
		if err != nil {
			t.Fatalf("Open(%v): %v", d, err)
		}
		if e.Device() != d {
			t.Errorf("Open(%v).Device() = %v", d, e.Device())
		}
		first[i] = e
	}
	if first[1] == first[2] || first[0] == first[1] {
		t.Errorf("distinct devices share an engine")
	}
	// Concurrent opens all get the cached engine.
	var wg sync.WaitGroup
	got := make([]*Engine, 16)
	for g := range got {
		wg.Go(func() {
			e, err := Open(devs[g%len(devs)])
			if err != nil {
				t.Errorf("Open: %v", err)
			}
			got[g] = e
		})
	}
	wg.Wait()
	for g, e := range got {
		if want := first[g%len(devs)]; e != want {
			t.Errorf("goroutine %d: Open(%v) returned another engine", g, devs[g%len(devs)])
		}
	}
}

func TestOpenBadDevice(t *testing.T) {
	for _, d := range []Device{{Kind: KindCPU, Index: 1}, CUDA(-1), {Kind: 9}} {
		if _, err := Open(d); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Open(%v) error = %v, want ErrInvalidArgument", d, err)
		}
	}
}

func TestTransferHostDevices(t *testing.T) {
	src := NewHost(CPU, []float32{1, -2, 3.5, 0})
	want := []float32{1, -2, 3.5, 0}

	onTest, err := Transfer(Test(0), src)
	if err != nil {
		t.Fatalf("Transfer(test:0): %v", err)
	}
	if onTest.Device() != Test(0) || onTest.Len() != 4 {
		t.Fatalf("transferred buffer on %v with %d elements, want test:0 with 4", onTest.Device(), onTest.Len())
	}
	got, _ := onTest.HostData()
	assertEqual(t, "cpu -> test", got, want)

	// A copy, not an alias: writing the new buffer leaves the source alone.
	got[0] = 42
	srcData, _ := src.HostData()
	assertEqual(t, "source after writing the copy", srcData, want)
	if src.Device() != CPU {
		t.Errorf("source moved to %v", src.Device())
	}

	back, err := Transfer(CPU, onTest)
	if err != nil {
		t.Fatalf("Transfer(cpu): %v", err)
	}
	backData, _ := back.HostData()
	assertEqual(t, "test -> cpu", backData, []float32{42, -2, 3.5, 0})
	testData, _ := onTest.HostData()
	assertEqual(t, "test buffer after the transfer back", testData, []float32{42, -2, 3.5, 0})

	// TransferInto reuses the destination.
	dst := NewHost(Test(1), make([]float32, 4))
	if err := TransferInto(dst, src); err != nil {
		t.Fatalf("TransferInto: %v", err)
	}
	dstData, _ := dst.HostData()
	assertEqual(t, "TransferInto", dstData, want)
}

func TestTransferErrors(t *testing.T) {
	a := NewHost(CPU, make([]float32, 3))
	b := NewHost(Test(0), make([]float32, 4))
	if err := TransferInto(b, a); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "destination has 4 elements, source 3") {
		t.Errorf("TransferInto with lengths 4 and 3: %v, want a length error", err)
	}
	if err := TransferInto(nil, a); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("TransferInto(nil, ...): %v, want ErrInvalidArgument", err)
	}
	if _, err := Transfer(CPU, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Transfer(cpu, nil): %v, want ErrInvalidArgument", err)
	}
}

func TestFreeInvalidatesBuffer(t *testing.T) {
	e := open(t, Test(0))
	b, err := e.Alloc(4)
	if err != nil {
		t.Fatal(err)
	}
	e.Free(b)
	if b.Len() != 0 {
		t.Fatalf("Len after Free = %d, want 0", b.Len())
	}
	var le *LengthError
	if err := e.Fill(b, 4, 1); !errors.As(err, &le) || le.Operand != "x" || le.Need != 4 || le.Have != 0 {
		t.Errorf("Fill on a freed buffer: %v, want *LengthError for x (need 4, have 0)", err)
	}
	// Freeing through another device's engine, or nil, does nothing.
	c := NewHost(CPU, make([]float32, 2))
	e.Free(c)
	e.Free(nil)
	if c.Len() != 2 {
		t.Errorf("Free by a test-device engine changed a cpu buffer")
	}
}

func TestZeroEngineRefuses(t *testing.T) {
	var e Engine
	if _, err := e.Alloc(1); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Alloc on a zero Engine: %v, want ErrInvalidArgument", err)
	}
	var nilEngine *Engine
	if err := nilEngine.Sync(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Sync on a nil Engine: %v, want ErrInvalidArgument", err)
	}
}

// open opens dev or fails the test.
func open(t testing.TB, dev Device) *Engine {
	t.Helper()
	e, err := Open(dev)
	if err != nil {
		t.Fatalf("Open(%v): %v", dev, err)
	}
	return e
}

func assertEqual(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}
