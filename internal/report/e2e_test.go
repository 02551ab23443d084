package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// e2eSessions is the size of the end-to-end test's synthetic dataset: the first session
// warms the indicators up, 80% of the rest train, the last sessions validate.
const e2eSessions = 12

// tinyCheckpoint trains a Phase 3 policy with tiny hidden layers for one short rollout on a
// synthetic NQ dataset and returns the dataset and the final checkpoint's directory. It is
// built once per test binary.
var tinyCheckpoint = sync.OnceValues(func() (tiny, error) {
	inst, _ := env.BuiltinInstrument("NQ")
	ds, err := env.Synthesize(inst, e2eSessions, 7)
	if err != nil {
		return tiny{}, err
	}
	dir, err := os.MkdirTemp("", "report-e2e-")
	if err != nil {
		return tiny{}, err
	}
	pc := policy.DefaultConfig()
	pc.PiLayers, pc.VfLayers = []int{16}, []int{16}
	c := ppo.DefaultConfig()
	c.TotalTimesteps, c.NEnvs, c.NSteps, c.BatchSize, c.NEpochs = 256, 1, 256, 64, 1
	c.EvalFreq, c.SaveFreq, c.NEvalEpisodes = 1_000_000, 1_000_000, 1
	ec := env.DefaultConfig()
	ec.MinTradingDays = 2
	res, err := ppo.Train(context.Background(), ppo.Setup{
		Phase: 3, Market: "NQ", Dataset: ds, Env: ec, Policy: pc, PPO: c, // Device: the zero value is the CPU
		RunDir: filepath.Join(dir, "run"), ConfigYAML: []byte("market: NQ\n"),
		Config: map[string]any{"market": "NQ"}, ToolVersion: "test",
	}, nil)
	if err != nil {
		return tiny{}, err
	}
	return tiny{ds: ds, env: ec, model: res.Final, root: dir}, nil
})

type tiny struct {
	ds    *env.Dataset
	env   env.Config
	model string
	root  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if t, err := tinyCheckpoint(); err == nil {
		os.RemoveAll(t.root)
	}
	os.Exit(code)
}

// buildE2E loads the tiny checkpoint and builds its report on the validation split.
func buildE2E(t *testing.T) (*Report, tiny) {
	t.Helper()
	tc, err := tinyCheckpoint()
	if err != nil {
		t.Fatalf("building the tiny checkpoint: %v", err)
	}
	m, err := ppo.LoadModel(tc.model)
	if err != nil {
		t.Fatalf("LoadModel: %v", err)
	}
	_, val := tc.ds.SplitSessions(tc.env.TrainFraction)
	cfg := DefaultConfig()
	r, err := Build(context.Background(), Input{
		Dataset: tc.ds, Sessions: val, Env: tc.env, Actor: m, Split: "validation",
		Model: ModelInfo{Dir: "final", Phase: m.Meta.Phase, Market: m.Meta.Market, Timesteps: m.Meta.Timesteps, Seed: m.Meta.Seed, ObsDim: m.ObsDim()},
	}, cfg)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return r, tc
}

func TestEndToEnd(t *testing.T) {
	r, tc := buildE2E(t)
	_, val := tc.ds.SplitSessions(tc.env.TrainFraction)
	if r.Data.Sessions != len(val) {
		t.Errorf("sessions = %d, want the %d validation sessions", r.Data.Sessions, len(val))
	}
	if r.Policy.Verdict.FlattenViolations != 0 || r.Policy.MaskedActions != 0 {
		t.Errorf("policy: flatten violations %d, masked actions %d, want 0 and 0",
			r.Policy.Verdict.FlattenViolations, r.Policy.MaskedActions)
	}
	b := r.Baselines
	if b == nil {
		t.Fatal("baselines missing")
	}
	if got := len(b.Random.Runs); got != 10 {
		t.Errorf("random runs = %d, want 10", got)
	}
	for _, res := range append([]Result{b.Flat, b.BuyAndHold}, b.Random.Runs...) {
		if res.Verdict.FlattenViolations != 0 || res.MaskedActions != 0 {
			t.Errorf("%s: flatten violations %d, masked actions %d, want 0 and 0",
				res.Name, res.Verdict.FlattenViolations, res.MaskedActions)
		}
		if res.Metrics.Days != len(val) {
			t.Errorf("%s: %d days, want %d", res.Name, res.Metrics.Days, len(val))
		}
	}
	if b.Flat.Metrics.Trades != 0 || b.Flat.Metrics.NetPnL != 0 {
		t.Errorf("flat: %d trades, net %g, want 0 and 0", b.Flat.Metrics.Trades, b.Flat.Metrics.NetPnL)
	}
	// Buy-and-hold: one trade per session, each held to the flatten (or a breach), never
	// stopped or targeted.
	if bh := b.BuyAndHold.Metrics; bh.Trades < len(val) {
		t.Errorf("buy-and-hold: %d trades, want at least one per session (%d)", bh.Trades, len(val))
	}
	if a := r.benchmark; a != nil {
		for _, tr := range a.Trades {
			if tr.Side != 1 || tr.Contracts != 1 || (tr.Exit != env.ExitFlatten && tr.Exit != env.ExitBreach) {
				t.Errorf("buy-and-hold trade %+v: want long 1 contract exiting at the flatten or a breach", tr)
			}
		}
	}

	dir := filepath.Join(t.TempDir(), "eval")
	files, err := r.WriteFiles(dir)
	if err != nil {
		t.Fatalf("WriteFiles: %v", err)
	}
	for _, p := range files.List() {
		st, err := os.Stat(p)
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: want a non-empty file (err %v)", p, err)
		}
	}
	eq, _ := os.ReadFile(files.Equity)
	if lines := strings.Count(string(eq), "\n"); lines != r.Data.Bars+1 {
		t.Errorf("equity.csv: %d lines, want header + %d bars", lines, r.Data.Bars)
	}
	tr, _ := os.ReadFile(files.Trades)
	if lines := strings.Count(string(tr), "\n"); lines != r.Policy.Metrics.Trades+1 {
		t.Errorf("trades.csv: %d lines, want header + %d trades", lines, r.Policy.Metrics.Trades)
	}
	f, err := os.Open(files.Plot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("equity.png: %v", err)
	}
	if cfg.Width != 1200 || cfg.Height != 800 {
		t.Errorf("equity.png is %dx%d, want 1200x800", cfg.Width, cfg.Height)
	}
}

// TestEndToEndDeterministic builds the report twice from the same checkpoint: the JSON is
// byte for byte the same.
func TestEndToEndDeterministic(t *testing.T) {
	var out [2]bytes.Buffer
	for i := range out {
		r, _ := buildE2E(t)
		if err := r.WriteJSON(&out[i]); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
		t.Error("two reports of the same checkpoint differ")
	}
}
