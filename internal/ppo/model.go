package ppo

import (
	"context"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// Model is a trained policy with its frozen observation normaliser, loaded from a
// checkpoint: what inference and the `eval` command use.
type Model struct {
	Policy *policy.Policy
	Meta   policy.Metadata
}

// LoadModel reads a checkpoint directory (best/, final/, interrupted/ or
// checkpoints/ts-*/): the policy on the CPU, the observation normaliser's statistics and the
// metadata. Errors wrap policy.ErrCheckpoint and name the file or field at fault.
func LoadModel(dir string) (*Model, error) { return nil, errTODO }

// Act writes the deterministic masked action (argmax of the masked logits) for rows RAW
// observations (rows x ObsDim, as the env emits them) into out; it normalises them with the
// frozen statistics first. A row with no legal action is an error.
func (m *Model) Act(obs []float32, masks []bool, rows int, out []int32) error { return errTODO }

// Evaluate runs episodes single-session episodes over sessions (indices into ds.Sessions,
// in order, cycling) with m: deterministic, masked, frozen normaliser, raw reward. ctx
// ends it early with ctx's error.
func Evaluate(ctx context.Context, m *Model, ds *env.Dataset, sessions []int, cfg env.Config, episodes int) (EvalMetrics, error) {
	return EvalMetrics{}, errTODO
}
