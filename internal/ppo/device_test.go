package ppo

import (
	"testing"

	"hybridtrain/internal/device"
)

// TestTrainsOnAnotherDevice trains on the test device (host memory tagged as another
// device, which refuses to mix with the CPU): every batch the trainer hands the policy
// (rollout observations and masks, minibatches, values) must cross to the policy's device
// at the point of use, and checkpoints must come back to the host. The identity env must
// still be learned, and the checkpoint must load on the CPU.
func TestTrainsOnAnotherDevice(t *testing.T) {
	spec := toySpec{kind: toyIdentity, nAct: 4, epLen: 100}
	s := toySetup(t, spec, toyConfig())
	s.Device = device.Test(1)
	res := train(t, s)
	if got := res.Model.Policy.Device(); got != device.Test(1) {
		t.Fatalf("trained policy on %s, want test:1", got)
	}
	em := evalModel(t, res.Final, spec, 10)
	if em.MeanReward < 90 {
		t.Errorf("on test:1: mean episode reward %g, want >= 90 of 100", em.MeanReward)
	}
}
