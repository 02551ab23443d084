package envtest_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"hybridtrain/internal/env"
	"hybridtrain/internal/env/envtest"
)

// walk builds an NQ dataset of n weekday sessions of a seeded random walk.
func walk(t *testing.T, n int) *env.Dataset {
	t.Helper()
	inst, ok := env.BuiltinInstrument("NQ")
	if !ok {
		t.Fatal("no NQ")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	var b env.Bars
	p := 24000.0
	for d := time.Date(2024, 4, 1, 0, 0, 0, 0, inst.Zone); n > 0; d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		n--
		for m := 8*60 + 30; m <= 16*60+59; m++ {
			tm := time.Date(d.Year(), d.Month(), d.Day(), m/60, m%60, 0, 0, inst.Zone)
			o := p
			c := o + float64(int(rng.NormFloat64()*12))*0.25
			b.Time = append(b.Time, tm.Unix())
			b.Open = append(b.Open, o)
			b.High = append(b.High, max(o, c)+float64(rng.IntN(6))*0.25)
			b.Low = append(b.Low, min(o, c)-float64(rng.IntN(6))*0.25)
			b.Close = append(b.Close, c)
			b.Volume = append(b.Volume, float64(10+rng.IntN(100)))
			p = c
		}
	}
	ds, err := env.NewDataset("walk", inst, b)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestCheckTradingEnv runs the conformance check on the real VecEnv in each mode and
// observation size.
func TestCheckTradingEnv(t *testing.T) {
	ds := walk(t, 6)
	cfg := env.DefaultConfig()
	cfg.WarmupBars = 100
	for _, tc := range []struct {
		mode   env.Mode
		obsDim int
	}{{env.ModeRandom, env.ObsDim}, {env.ModeOrdered, env.ObsDim}, {env.ModeContinuous, env.BaseObsDim}} {
		t.Run(fmt.Sprint(tc.mode, tc.obsDim), func(t *testing.T) {
			v, err := env.NewVec(ds, cfg, env.Options{Mode: tc.mode, ObsDim: tc.obsDim}, 4, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if got := envtest.Check(t, v, 3000, rand.New(rand.NewPCG(1, 1))); got < 4 {
				t.Errorf("%d episodes ended in 3000 steps of 4 envs, want at least 4", got)
			}
		})
	}
}

// tb records what Check reports instead of failing the test.
type tb struct {
	testing.TB
	msgs []string
}

func (r *tb) Helper()                        {}
func (r *tb) Errorf(format string, a ...any) { r.msgs = append(r.msgs, fmt.Sprintf(format, a...)) }
func (r *tb) Fatalf(format string, a ...any) { r.msgs = append(r.msgs, fmt.Sprintf(format, a...)) }

// toy is a 2-env, 3-action env whose defects are switched on by its fields.
type toy struct {
	step                          int
	bothFlags, holdMasked, nanObs bool
	infReward, noLegal            bool
}

func (e *toy) NumEnvs() int    { return 2 }
func (e *toy) ObsDim() int     { return 4 }
func (e *toy) NumActions() int { return 3 }
func (e *toy) Reset(b *env.Batch) error {
	e.fill(b)
	return nil
}
func (e *toy) Step(actions []int32, b *env.Batch) error {
	e.step++
	e.fill(b)
	b.Rewards[0] = 1
	b.Terminated[1] = e.step%5 == 0
	if e.step == 3 {
		b.Truncated[1] = e.bothFlags
		b.Terminated[1] = e.bothFlags
		if e.infReward {
			b.Rewards[1] = math.Inf(1)
		}
		if e.nanObs {
			b.Obs[5] = float32(math.NaN())
		}
		if e.holdMasked {
			b.Masks[3] = false
		}
		if e.noLegal {
			b.Masks[0], b.Masks[1], b.Masks[2] = false, false, false
		}
	}
	return nil
}
func (e *toy) fill(b *env.Batch) {
	for i := range b.Obs {
		b.Obs[i] = float32(i)
	}
	for i := range b.Masks {
		b.Masks[i] = true
	}
}

// TestCheckFindsDefects shows that each rule can fail.
func TestCheckFindsDefects(t *testing.T) {
	cases := []struct {
		name string
		env  *toy
		want string // substring of the report; "" for a clean env
	}{
		{"clean", &toy{}, ""},
		{"terminated and truncated", &toy{bothFlags: true}, "env 1: terminated and truncated both set"},
		{"HOLD masked", &toy{holdMasked: true}, "env 1: HOLD (action 0) is masked"},
		{"NaN observation", &toy{nanObs: true}, "env 1: observation[1] = NaN"},
		{"infinite reward", &toy{infReward: true}, "env 1: reward +Inf"},
		{"no legal action", &toy{noLegal: true}, "env 0: no legal action"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &tb{TB: t}
			n := envtest.Check(r, tc.env, 10, rand.New(rand.NewPCG(1, 2)))
			got := strings.Join(r.msgs, "\n")
			switch {
			case tc.want == "" && got != "":
				t.Errorf("clean env reported:\n%s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("report %q does not contain %q", got, tc.want)
			}
			if tc.want == "" && n != 2 {
				t.Errorf("Check counted %d ended episodes, want 2 (steps 5 and 10)", n)
			}
		})
	}
}
