package ppo_test

import (
	"fmt"

	"hybridtrain/internal/ppo"
)

// The observation normaliser as SB3's VecNormalize keeps it: statistics merged batch by
// batch (a fresh tracker is mean 0, var 1, count 1e-4), then (x - mean)/sqrt(var + 1e-8)
// clipped.
func ExampleRunningMeanStd() {
	r := ppo.NewRunningMeanStd(2)
	r.Update([]float32{1, 10, 3, 30}, 2) // rows (1, 10) and (3, 30)
	fmt.Printf("mean %.4f %.4f\n", r.Mean[0], r.Mean[1])
	fmt.Printf("var  %.4f %.4f\n", r.Var[0], r.Var[1])
	out := make([]float32, 2)
	r.Normalize(out, []float32{3, 1000}, 1, 10)
	fmt.Printf("normalised %.4f %.4f\n", out[0], out[1])
	// Pooled by hand with the prior (weight 1e-4, mean 0, var 1): feature 0 has mean
	// 4/2.0001 = 1.99990 and var (1e-4 (1 + m^2) + (1 - m)^2 + (3 - m)^2)/2.0001 = 1.00020;
	// feature 1 is ten times feature 0 (var x 100 but for the prior's 1e-4). 1000 clips to 10.

	// Output:
	// mean 1.9999 19.9990
	// var  1.0002 100.0150
	// normalised 1.0000 10.0000
}
