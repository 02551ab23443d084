package adapter_test

import (
	"fmt"

	"hybridtrain/internal/adapter"
	"hybridtrain/internal/device"
)

// A new adapter passes the 228 base features through unchanged and ignores the 33 context
// features, on whichever device it lives.
func Example() {
	a, err := adapter.New(adapter.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	obs := make([]float32, 261) // one observation from the environment, in host memory
	for i := range obs {
		obs[i] = float32(i)
	}
	y, err := a.Forward(obs, 1) // moved to the adapter's device, then y = x W + b there
	if err != nil {
		fmt.Println(err)
		return
	}
	out := make([]float32, y.Len())
	e, _ := device.Open(y.Device())
	if err := e.Download(out, y); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y.Device(), len(out), out[0], out[1], out[227])
	// Output: cpu 228 0 1 227
}
