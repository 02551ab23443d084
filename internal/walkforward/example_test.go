package walkforward_test

import (
	"fmt"

	"hybridtrain/internal/env"
	"hybridtrain/internal/walkforward"
)

// Nine sessions in four blocks (the first a session longer), three folds on an
// expanding window: each fold trains on every block before the one it is tested on.
func ExampleNewPlan() {
	inst, _ := env.BuiltinInstrument("NQ")
	ds, err := env.Synthesize(inst, 9, 1)
	if err != nil {
		panic(err)
	}
	p, err := walkforward.NewPlan(ds, ds.SessionRange("", ""), 3, 0)
	if err != nil {
		panic(err)
	}
	for _, f := range p.FoldList {
		fmt.Printf("%s: train %v, test %v\n", f.Name, f.Train, f.Test)
	}
	// Output:
	// fold-00: train 2024-01-02..2024-01-04 (3 sessions), test 2024-01-05..2024-01-08 (2 sessions)
	// fold-01: train 2024-01-02..2024-01-08 (5 sessions), test 2024-01-09..2024-01-10 (2 sessions)
	// fold-02: train 2024-01-02..2024-01-10 (7 sessions), test 2024-01-11..2024-01-12 (2 sessions)
}
