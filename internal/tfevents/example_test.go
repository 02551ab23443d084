package tfevents_test

import (
	"bytes"
	"fmt"
	"io"

	"hybridtrain/internal/tfevents"
)

// Example writes an event file with one scalar and reads it back.
func Example() {
	var file bytes.Buffer
	w := tfevents.NewWriter(&file)
	_ = w.Write(&tfevents.Event{WallTime: 1700000000, FileVersion: tfevents.FileVersion})
	_ = w.Write(&tfevents.Event{WallTime: 1700000001, Step: 2048,
		Summary: []tfevents.Value{{Tag: "rollout/ep_rew_mean", SimpleValue: 12.5}}})
	if err := w.Flush(); err != nil {
		fmt.Println(err)
		return
	}

	r := tfevents.NewReader(&file)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		e, err := tfevents.ParseEvent(rec)
		if err != nil {
			fmt.Println(err)
			return
		}
		if e.FileVersion != "" {
			fmt.Println("file version", e.FileVersion)
		}
		for _, v := range e.Summary {
			fmt.Printf("step %d: %s = %g\n", e.Step, v.Tag, v.SimpleValue)
		}
	}
	// Output:
	// file version brain.Event:2
	// step 2048: rollout/ep_rew_mean = 12.5
}
