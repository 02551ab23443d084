package ppo

// Config holds the trainer's settings; comments give the configuration key and default
// (Phase 3 of the original system, SB3 semantics).
type Config struct {
	TotalTimesteps     int64   `json:"total_timesteps"`      // total_timesteps (5,000,000); training stops at the first rollout boundary at or past it
	LearningRate       float64 `json:"learning_rate"`        // learning_rate (3e-4)
	LRSchedule         string  `json:"lr_schedule"`          // lr_schedule: "constant" or "linear" (decays to lr x lr_final_fraction)
	LRFinalFraction    float64 `json:"lr_final_fraction"`    // lr_final_fraction (0.1)
	NEnvs              int     `json:"n_envs"`               // n_envs (8)
	NSteps             int     `json:"n_steps"`              // n_steps per env per rollout (2048)
	BatchSize          int     `json:"batch_size"`           // batch_size (256)
	NEpochs            int     `json:"n_epochs"`             // n_epochs (10)
	Gamma              float64 `json:"gamma"`                // gamma (0.99)
	GAELambda          float64 `json:"gae_lambda"`           // gae_lambda (0.95)
	ClipRange          float64 `json:"clip_range"`           // clip_range (0.2)
	ClipRangeVF        float64 `json:"clip_range_vf"`        // clip_range_vf (0 = off)
	EntCoef            float64 `json:"ent_coef"`             // ent_coef (0.01)
	VfCoef             float64 `json:"vf_coef"`              // vf_coef (0.5)
	MaxGradNorm        float64 `json:"max_grad_norm"`        // max_grad_norm (0.5)
	TargetKL           float64 `json:"target_kl"`            // target_kl (0.02; 0 = no early stop)
	NormalizeAdvantage bool    `json:"normalize_advantage"`  // normalize_advantage (true)
	NormObs            bool    `json:"norm_obs"`             // norm_obs (true)
	NormReward         bool    `json:"norm_reward"`          // norm_reward (true)
	ClipObs            float64 `json:"clip_obs"`             // clip_obs (10)
	ClipReward         float64 `json:"clip_reward"`          // clip_reward (10)
	FreezeBaseNorm     bool    `json:"freeze_base_norm"`     // freeze_base_norm (true): transferred base statistics stay frozen
	AdapterWarmupSteps int64   `json:"adapter_warmup_steps"` // adapter_warmup_steps (100,000): only the adapter trains (transfer only)
	EvalFreq           int64   `json:"eval_freq"`            // eval_freq, timesteps (50,000)
	NEvalEpisodes      int     `json:"n_eval_episodes"`      // n_eval_episodes (10)
	SaveFreq           int64   `json:"save_freq"`            // save_freq, timesteps (100,000)
	KeepCheckpoints    int     `json:"keep_checkpoints"`     // keep_checkpoints (5)
	TensorBoard        bool    `json:"tensorboard"`          // tensorboard (true): TensorBoard event files in tb/ (changes nothing trained)
	Seed               uint64  `json:"seed"`                 // seed (1)
}

// DefaultConfig returns the Phase 3 defaults.
func DefaultConfig() Config {
	return Config{
		TotalTimesteps: 5_000_000, LearningRate: 3e-4, LRSchedule: "constant", LRFinalFraction: 0.1,
		NEnvs: 8, NSteps: 2048, BatchSize: 256, NEpochs: 10, Gamma: 0.99, GAELambda: 0.95,
		ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5, MaxGradNorm: 0.5, TargetKL: 0.02,
		NormalizeAdvantage: true, NormObs: true, NormReward: true, ClipObs: 10, ClipReward: 10,
		FreezeBaseNorm: true, AdapterWarmupSteps: 100_000, EvalFreq: 50_000, NEvalEpisodes: 10,
		SaveFreq: 100_000, KeepCheckpoints: 5, TensorBoard: true, Seed: 1,
	}
}

// Validate checks every field; the error is a *ConfigError naming the configuration key at
// fault (errors.Is(err, ErrConfig) holds).
func (c Config) Validate() error {
	switch {
	case c.TotalTimesteps < 1:
		return configErrorf("total_timesteps", "must be >= 1, got %d", c.TotalTimesteps)
	case !(c.LearningRate > 0):
		return configErrorf("learning_rate", "must be > 0, got %g", c.LearningRate)
	case c.LRSchedule != "constant" && c.LRSchedule != "linear":
		return configErrorf("lr_schedule", "must be \"constant\" or \"linear\", got %q", c.LRSchedule)
	case !(c.LRFinalFraction > 0 && c.LRFinalFraction <= 1):
		return configErrorf("lr_final_fraction", "must be in (0, 1], got %g", c.LRFinalFraction)
	case c.NEnvs < 1:
		return configErrorf("n_envs", "must be >= 1, got %d", c.NEnvs)
	case c.NSteps < 1:
		return configErrorf("n_steps", "must be >= 1, got %d", c.NSteps)
	case c.BatchSize < 1:
		return configErrorf("batch_size", "must be >= 1, got %d", c.BatchSize)
	case c.NormalizeAdvantage && c.BatchSize < 2:
		return configErrorf("batch_size", "must be >= 2 when normalize_advantage is on, got %d", c.BatchSize)
	case c.BatchSize > c.NEnvs*c.NSteps:
		return configErrorf("batch_size", "must be <= n_envs x n_steps = %d, got %d", c.NEnvs*c.NSteps, c.BatchSize)
	case c.NEpochs < 1:
		return configErrorf("n_epochs", "must be >= 1, got %d", c.NEpochs)
	case !(c.Gamma > 0 && c.Gamma <= 1):
		return configErrorf("gamma", "must be in (0, 1], got %g", c.Gamma)
	case !(c.GAELambda > 0 && c.GAELambda <= 1):
		return configErrorf("gae_lambda", "must be in (0, 1], got %g", c.GAELambda)
	case !(c.ClipRange > 0):
		return configErrorf("clip_range", "must be > 0, got %g", c.ClipRange)
	case c.ClipRangeVF < 0:
		return configErrorf("clip_range_vf", "must be >= 0 (0 = off), got %g", c.ClipRangeVF)
	case c.EntCoef < 0:
		return configErrorf("ent_coef", "must be >= 0, got %g", c.EntCoef)
	case c.VfCoef < 0:
		return configErrorf("vf_coef", "must be >= 0, got %g", c.VfCoef)
	case !(c.MaxGradNorm > 0):
		return configErrorf("max_grad_norm", "must be > 0, got %g", c.MaxGradNorm)
	case c.TargetKL < 0:
		return configErrorf("target_kl", "must be >= 0 (0 = off), got %g", c.TargetKL)
	case !(c.ClipObs > 0):
		return configErrorf("clip_obs", "must be > 0, got %g", c.ClipObs)
	case !(c.ClipReward > 0):
		return configErrorf("clip_reward", "must be > 0, got %g", c.ClipReward)
	case c.AdapterWarmupSteps < 0:
		return configErrorf("adapter_warmup_steps", "must be >= 0, got %d", c.AdapterWarmupSteps)
	case c.EvalFreq < 1:
		return configErrorf("eval_freq", "must be >= 1, got %d", c.EvalFreq)
	case c.NEvalEpisodes < 1:
		return configErrorf("n_eval_episodes", "must be >= 1, got %d", c.NEvalEpisodes)
	case c.SaveFreq < 1:
		return configErrorf("save_freq", "must be >= 1, got %d", c.SaveFreq)
	case c.KeepCheckpoints < 1:
		return configErrorf("keep_checkpoints", "must be >= 1, got %d", c.KeepCheckpoints)
	}
	return nil
}
