package sb3_test

import (
	"fmt"

	"hybridtrain/internal/sb3"
)

// Read an SB3 model and its VecNormalize statistics and convert them into a checkpoint
// (which policy.WriteCheckpoint would then write).
func Example() {
	cfg := sb3.DefaultConfig()
	m, err := sb3.ReadModel("testdata/tanh.zip", cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := sb3.ReadVecNormalize("testdata/vecnormalize_np2_p5.pkl", cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := sb3.Convert(m, s, sb3.Info{Market: "NQ"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("pi %v, vf %v, %s (SB3's default: %v)\n", m.PiLayers, m.VfLayers, m.Activation, m.ActivationDefault)
	fmt.Printf("phase %d, obs %d, %d timesteps, clip_obs %g\n", c.Meta.Phase, c.Meta.ObsDim, c.Meta.Timesteps, s.ClipObs)
	for _, t := range c.Model[:2] {
		fmt.Println(t.Name, t.Shape)
	}
	// Output:
	// pi [3], vf [3 2], tanh (SB3's default: true)
	// phase 2, obs 228, 2048 timesteps, clip_obs 10
	// mlp_extractor.policy_net.0.weight [3 228]
	// mlp_extractor.policy_net.0.bias [3]
}
