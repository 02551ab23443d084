package env

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// vecConfig is the configuration of the vec env tests: 3-session episodes so that
// truncation at the end of the data happens too.
func vecConfig() Config {
	cfg := DefaultConfig()
	cfg.WarmupBars = 60
	cfg.EpisodeSessions = 3
	return cfg
}

// trace steps v for steps steps with a random legal policy drawn from policy and returns
// every byte the batch held after each step (observations, masks, rewards, flags, terminal
// observations of ended episodes, infos).
func trace(t testing.TB, v *VecEnv, b *Batch, policy *rand.Rand, steps int) []byte {
	t.Helper()
	var out bytes.Buffer
	actions := make([]int32, v.NumEnvs())
	for range steps {
		for i := range actions {
			actions[i] = int32(randomLegal(policy, b.Masks[i*NumActions:(i+1)*NumActions]))
		}
		if err := v.Step(actions, b); err != nil {
			t.Fatal(err)
		}
		put := func(x any) { _ = binary.Write(&out, binary.LittleEndian, x) }
		put(b.Obs)
		put(b.Masks)
		put(b.Rewards)
		put(b.Terminated)
		put(b.Truncated)
		for i := range b.N {
			if b.Terminated[i] || b.Truncated[i] {
				put(b.TerminalObs[i*b.ObsDim : (i+1)*b.ObsDim])
			}
			put(b.Infos[i])
		}
	}
	return out.Bytes()
}

func TestVecDeterminism(t *testing.T) {
	ds := randomWalkDays(t, 12, 21)
	run := func(seed uint64) ([]byte, []int) {
		v, err := NewVec(ds, vecConfig(), Options{Mode: ModeRandom}, 8, seed)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		b := NewBatch(8, ObsDim, NumActions)
		if err := v.Reset(b); err != nil {
			t.Fatal(err)
		}
		starts := make([]int, 8)
		for i := range starts {
			starts[i] = v.Env(i).Session()
		}
		return trace(t, v, b, rand.New(rand.NewPCG(7, 7)), 1500), starts
	}
	a, startsA := run(42)
	b, startsB := run(42)
	if !bytes.Equal(a, b) {
		t.Error("two runs with seed 42 differ")
	}
	if len(a) == 0 {
		t.Fatal("empty trace")
	}
	for i := range startsA {
		if startsA[i] != startsB[i] {
			t.Errorf("env %d starts at session %d and %d with the same seed", i, startsA[i], startsB[i])
		}
	}
	distinct := map[int]bool{}
	for _, s := range startsA {
		distinct[s] = true
	}
	// With warmup_bars 60 all 12 sessions are eligible (even the first: its 09:30 entry bar
	// is bar 60). 8 uniform draws among 12 give fewer than 3 distinct sessions with
	// probability 66 x (2^8 - 2)/12^8 + 12/12^8 < 1e-4 (and the seed is fixed); a stream
	// scheme that gave every env the same generator would give 1.
	if len(distinct) < 3 {
		t.Errorf("the 8 envs start at %d distinct sessions %v, want at least 3", len(distinct), startsA)
	}
	c, _ := run(43)
	if bytes.Equal(a, c) {
		t.Error("seeds 42 and 43 give identical runs")
	}
}

func TestVecStateRoundTrip(t *testing.T) {
	ds := randomWalkDays(t, 8, 22)
	for _, mode := range []Mode{ModeRandom, ModeOrdered, ModeContinuous} {
		t.Run(mode.String(), func(t *testing.T) {
			mk := func() (*VecEnv, *Batch) {
				v, err := NewVec(ds, vecConfig(), Options{Mode: mode}, 3, 5)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(v.Close)
				return v, NewBatch(3, ObsDim, NumActions)
			}
			v, b := mk()
			if err := v.Reset(b); err != nil {
				t.Fatal(err)
			}
			src := rand.NewPCG(1, 1)
			trace(t, v, b, rand.New(src), 700)
			state, err := v.MarshalState()
			if err != nil {
				t.Fatal(err)
			}
			savedObs, savedMasks := slices.Clone(b.Obs), slices.Clone(b.Masks)
			policyState, _ := src.MarshalBinary()
			want := trace(t, v, b, rand.New(src), 1500)

			w, b2 := mk()
			if err := w.UnmarshalState(state); err != nil {
				t.Fatal(err)
			}
			if err := w.Observe(b2); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(b2.Obs, savedObs) || !slices.Equal(b2.Masks, savedMasks) {
				t.Error("Observe after UnmarshalState differs from the observations and masks at the save")
			}
			src2 := &rand.PCG{}
			if err := src2.UnmarshalBinary(policyState); err != nil {
				t.Fatal(err)
			}
			if got := trace(t, w, b2, rand.New(src2), 1500); !bytes.Equal(got, want) {
				t.Error("the restored vec env does not continue like the original")
			}
			if w.InvalidActions() != v.InvalidActions() {
				t.Errorf("invalid actions %d after restore, want %d", w.InvalidActions(), v.InvalidActions())
			}
		})
	}
}

func TestVecStateErrors(t *testing.T) {
	ds := randomWalkDays(t, 4, 23)
	cfg := vecConfig()
	v, err := NewVec(ds, cfg, Options{Mode: ModeRandom}, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Reset(NewBatch(2, ObsDim, NumActions)); err != nil {
		t.Fatal(err)
	}
	good, err := v.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	other := func(n int, seed uint64, c Config, opt Options) *VecEnv {
		w, err := NewVec(ds, c, opt, n, seed)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		return w
	}
	plan := cfg
	plan.Plan = "100k"
	edit := func(from, to string) []byte { return []byte(strings.Replace(string(good), from, to, 1)) }
	badRNG := regexp.MustCompile(`"rng":"[^"]*"`).ReplaceAllString(string(good), `"rng":"AAAA"`)
	cases := []struct {
		name string
		into *VecEnv
		data []byte
		want string
	}{
		{"not JSON", v, []byte("{"), "env: state:"},
		{"format", v, edit(`"hybridtrain-env-state/1"`, `"other/9"`), "format"},
		{"env count", other(3, 5, cfg, Options{Mode: ModeRandom}), good, "number of envs is 2, this vec env has 3"},
		{"seed", other(2, 6, cfg, Options{Mode: ModeRandom}), good, "seed is 5, this vec env has 6"},
		{"mode", other(2, 5, cfg, Options{Mode: ModeOrdered}), good, "mode is random, this vec env has ordered"},
		{"observation size", other(2, 5, cfg, Options{Mode: ModeRandom, ObsDim: BaseObsDim}), good, "observation size is 261"},
		{"configuration", other(2, 5, plan, Options{Mode: ModeRandom}), good, "configuration differs in Plan"},
		{"bar out of range", v, edit(`"t":`, `"t":9999999,"x":`), "env 0: decision bar 9999999"},
		{"side", v, edit(`"side":0`, `"side":3`), "position side 3"},
		{"generator", v, []byte(badRNG), "env 0: generator"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := tc.into.MarshalState()
			err := tc.into.UnmarshalState(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			if after, _ := tc.into.MarshalState(); !bytes.Equal(before, after) {
				t.Error("a failed UnmarshalState changed the envs")
			}
		})
	}
}

func TestVecStepErrors(t *testing.T) {
	ds := randomWalkDays(t, 3, 24)
	v, err := NewVec(ds, vecConfig(), Options{Mode: ModeOrdered}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch(2, ObsDim, NumActions)
	if err := v.Reset(b); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		actions []int32
		b       *Batch
		want    string
	}{
		{"action count", []int32{0}, b, "got 1 actions for 2 envs"},
		{"action out of range", []int32{0, 6}, b, "action 6 of env 1 outside [0, 6)"},
		{"negative action", []int32{-1, 0}, b, "action -1 of env 0"},
		{"batch shape", []int32{0, 0}, NewBatch(2, BaseObsDim, NumActions), "batch is 2 envs x 228 obs x 6 actions, want 2 x 261 x 6"},
		{"nil batch", []int32{0, 0}, nil, "nil batch"},
	}
	for _, tc := range cases {
		if err := v.Step(tc.actions, tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	v.Close()
	if err := v.Step([]int32{0, 0}, b); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("step after Close: got %v, want an error saying it is closed", err)
	}
}

// TestInvalidAction gives BUY while long (masked) on the bar where the stop is touched: the
// action is counted and earns invalid_action_reward, and the bar is still processed - the
// stop exit happens in that very step (the original skipped stops on such bars).
func TestInvalidAction(t *testing.T) {
	ds := scenario(t, overrides{hm(9, 32): {24000, 24001, 23997, 23998, 100}})
	v, err := NewVec(ds, DefaultConfig(), Options{Sessions: []int{0}, Mode: ModeOrdered}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	b := NewBatch(1, ObsDim, NumActions)
	if err := v.Reset(b); err != nil {
		t.Fatal(err)
	}
	for _, a := range []int32{int32(Buy), int32(Hold)} { // 09:30, 09:31
		if err := v.Step([]int32{a}, b); err != nil {
			t.Fatal(err)
		}
	}
	if b.Masks[Buy] {
		t.Fatal("BUY is legal while long")
	}
	if err := v.Step([]int32{int32(Buy)}, b); err != nil { // 09:32, masked
		t.Fatal(err)
	}
	info := b.Infos[0]
	if !info.InvalidAction || v.InvalidActions() != 1 {
		t.Errorf("invalid action flag %v, counter %d; want true, 1", info.InvalidAction, v.InvalidActions())
	}
	if !info.TradeClosed || info.Exit != ExitStop || info.TradePnL != -70 {
		t.Errorf("trade closed %v (%v, %v), want the stop exit of -70 in the same step", info.TradeClosed, info.Exit, info.TradePnL)
	}
	// Equity before: 50,000 - 2.50 + (24000 - 24000.25) x 20 = 49,992.50 (09:31 close);
	// after: 49,930. pnl reward (49,930 - 49,992.50)/100 = -0.625, plus -1.
	if want := -0.625 - 1.0; math.Abs(b.Rewards[0]-want) > 1e-12 {
		t.Errorf("reward %v, want %v", b.Rewards[0], want)
	}
	if obs := b.Obs; obs[ObsPosition] != 0 || obs[ObsHasPosition] != 0 || !b.Masks[Buy] {
		t.Errorf("after the exit: position %v, has position %v, BUY legal %v; want 0, 0, true",
			obs[ObsPosition], obs[ObsHasPosition], b.Masks[Buy])
	}
}

// withMinChunk lowers the envs per worker for the rest of the test, so that a few envs
// exercise the workers.
func withMinChunk(t *testing.T, n int) {
	old := minChunk
	minChunk = n
	t.Cleanup(func() { minChunk = old })
}

// TestVecWorkersMatchSerial: the envs give the same batches whether one goroutine steps them
// all or four workers share them (the chunking is fixed when the VecEnv is built), and with
// the default chunk size a few envs step on the caller alone.
func TestVecWorkersMatchSerial(t *testing.T) {
	ds := randomWalkDays(t, 6, 25)
	old := runtime.GOMAXPROCS(4)
	v, err := NewVec(ds, vecConfig(), Options{Mode: ModeRandom}, 7, 3)
	runtime.GOMAXPROCS(old)
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	if len(v.chunks) != 1 || len(v.work) != 0 {
		t.Fatalf("7 envs with the default chunk size: %d chunks and %d workers, want 1 and 0", len(v.chunks), len(v.work))
	}
	withMinChunk(t, 1)
	run := func(procs int) []byte {
		old := runtime.GOMAXPROCS(procs)
		v, err := NewVec(ds, vecConfig(), Options{Mode: ModeRandom}, 7, 3)
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if got := len(v.chunks); got != min(procs, 7) {
			t.Fatalf("GOMAXPROCS %d: %d chunks, want %d", procs, got, min(procs, 7))
		}
		b := NewBatch(7, ObsDim, NumActions)
		if err := v.Reset(b); err != nil {
			t.Fatal(err)
		}
		return trace(t, v, b, rand.New(rand.NewPCG(2, 2)), 600)
	}
	if !bytes.Equal(run(1), run(4)) {
		t.Error("4 workers and 1 give different batches")
	}
}

// TestVecStepRecoversPanics: a panic while stepping an env (a bug; here a nil env planted
// on purpose) comes back from Step as an error naming the envs, on the caller's chunk and
// on a worker's, instead of ending the process with a stack trace from a goroutine.
func TestVecStepRecoversPanics(t *testing.T) {
	withMinChunk(t, 1)
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	ds := randomWalkDays(t, 4, 21)
	for _, broken := range []int{0, 3} {
		v, err := NewVec(ds, vecConfig(), Options{Mode: ModeRandom}, 4, 1)
		if err != nil {
			t.Fatal(err)
		}
		b := NewBatch(4, ObsDim, NumActions)
		if err := v.Reset(b); err != nil {
			t.Fatal(err)
		}
		v.envs[broken] = nil
		err = v.Step(make([]int32, 4), b)
		if err == nil || !strings.Contains(err.Error(), "env: internal error stepping envs") {
			t.Errorf("env %d broken: Step returned %v, want the recovered internal error", broken, err)
		}
		v.Close()
	}
}
