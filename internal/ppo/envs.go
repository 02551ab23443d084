package ppo

import (
	"fmt"

	"hybridtrain/internal/env"
)

// tradingEnvs builds the trading environments of a run over the sessions its env.Config
// selects (first_session to last_session; all by default), split chronologically by
// train_fraction (Dataset.Split): training envs draw random training sessions (ModeRandom),
// evaluation walks the validation sessions in order (ModeOrdered, one session per episode,
// fresh account), and the flat pass walks every training session once. Sessions outside
// the range are never stepped; bars before it may still warm up indicators.
type tradingEnvs struct {
	ds         *env.Dataset
	cfg        env.Config
	obsDim     int // env.ObsDim (Phase 3) or env.BaseObsDim (Phase 2)
	train, val []int
	seed       uint64
}

func newTradingEnvs(ds *env.Dataset, cfg env.Config, obsDim int, seed uint64) (*tradingEnvs, error) {
	train, val := ds.Split(cfg)
	ranged := cfg.FirstSession != "" || cfg.LastSession != ""
	switch {
	case ranged && len(train) == 0:
		return nil, configErrorf("first_session", "%s to %s (last_session) holds none of the %d sessions of %s (%s to %s)",
			orOpen(cfg.FirstSession), orOpen(cfg.LastSession), len(ds.Sessions), ds.Source, ds.Sessions[0].Date, ds.Sessions[len(ds.Sessions)-1].Date)
	case len(val) == 0 && ranged:
		return nil, configErrorf("train_fraction", "%g leaves no validation session among the %d sessions from %s to %s (first_session, last_session) of %s: evaluation needs at least one (lower train_fraction or widen the range)",
			cfg.TrainFraction, len(train), orOpen(cfg.FirstSession), orOpen(cfg.LastSession), ds.Source)
	case len(val) == 0:
		return nil, configErrorf("train_fraction", "%g leaves no validation session among the %d sessions of %s: evaluation needs at least one (lower train_fraction or use more data)",
			cfg.TrainFraction, len(ds.Sessions), ds.Source)
	}
	return &tradingEnvs{ds: ds, cfg: cfg, obsDim: obsDim, train: train, val: val, seed: seed}, nil
}

func (t *tradingEnvs) Train(n int, seed uint64) (Env, error) {
	v, err := env.NewVec(t.ds, t.cfg, env.Options{Sessions: t.train, Mode: env.ModeRandom, ObsDim: t.obsDim}, n, seed)
	if err != nil {
		return nil, fmt.Errorf("ppo: training env: %w", err)
	}
	return v, nil
}

func (t *tradingEnvs) Eval() (Env, error) {
	v, err := env.NewVec(t.ds, t.cfg, env.Options{Sessions: t.val, Mode: env.ModeOrdered, ObsDim: t.obsDim}, 1, t.seed)
	if err != nil {
		return nil, fmt.Errorf("ppo: evaluation env: %w", err)
	}
	return v, nil
}

// Flat walks every tradable training session once, one session per episode. It always
// emits full (Phase 3) observations: it exists to measure the context features.
func (t *tradingEnvs) Flat() (Env, int, error) {
	v, err := env.NewVec(t.ds, t.cfg, env.Options{Sessions: t.train, Mode: env.ModeOrdered, ObsDim: env.ObsDim}, 1, t.seed)
	if err != nil {
		return nil, 0, fmt.Errorf("ppo: flat pass env: %w", err)
	}
	return v, len(v.Env(0).Sessions()), nil
}

// closeEnv stops an env's goroutines when it has any.
func closeEnv(e Env) {
	if c, ok := e.(interface{ Close() }); ok {
		c.Close()
	}
}

// orOpen names an open end of a session range.
func orOpen(date string) string {
	if date == "" {
		return "(open)"
	}
	return date
}
