package report

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// defaultNetModel trains the default network (pi and vf [512, 256, 128], Phase 3 with the
// adapter) for one short rollout and loads its checkpoint: the model whose latency the
// stream benchmark measures. The weights do not matter for the time, the shapes do.
func defaultNetModel(b *testing.B, ds *env.Dataset) *ppo.Model {
	b.Helper()
	c := ppo.DefaultConfig()
	c.TotalTimesteps, c.NEnvs, c.NSteps, c.BatchSize, c.NEpochs = 64, 1, 64, 64, 1
	c.EvalFreq, c.SaveFreq, c.NEvalEpisodes = 1_000_000, 1_000_000, 1
	ec := env.DefaultConfig()
	res, err := ppo.Train(context.Background(), ppo.Setup{
		Phase: 3, Market: "NQ", Dataset: ds, Env: ec, Policy: policy.DefaultConfig(), PPO: c,
		RunDir: filepath.Join(b.TempDir(), "run"), ConfigYAML: []byte("market: NQ\n"),
		Config: map[string]any{"market": "NQ"}, ToolVersion: "bench",
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	m, err := ppo.LoadModel(res.Final)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkStreamLine measures predict --stream's answer to one bar with the default
// network: one op is one line of synthetic NQ bars read by Stream.Line (parse, validate,
// the bar's market features, the simulated account, the observation, the policy's forward
// pass when a decision is due) and encoded as its JSON line. It reports the latency of the
// lines that took a decision (the slow ones) as p50 and p99, next to the mean of all lines.
//
//	go test ./internal/report -run '^$' -bench StreamLine -benchtime 20000x
func BenchmarkStreamLine(b *testing.B) {
	inst, _ := env.BuiltinInstrument("NQ")
	ds, err := env.Synthesize(inst, 60, 21)
	if err != nil {
		b.Fatal(err)
	}
	m := defaultNetModel(b, ds)
	var buf bytes.Buffer
	if err := env.WriteCSV(&buf, ds); err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	f := NewRowFormat(inst)
	start := func() *Stream {
		s, err := NewStream("stdin", inst, env.DefaultConfig(), m)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Header(lines[0]); err != nil {
			b.Fatal(err)
		}
		return s
	}
	s := start()
	next := 1
	decisions := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if next == len(lines) { // the bars ran out: a new stream, not timed
			b.StopTimer()
			s, next = start(), 1
			b.StartTimer()
		}
		t0 := time.Now()
		row, _, err := s.Line(lines[next])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.JSON(row); err != nil {
			b.Fatal(err)
		}
		if row.Decided {
			decisions = append(decisions, time.Since(t0))
		}
		next++
	}
	b.StopTimer()
	if len(decisions) == 0 {
		return
	}
	slices.Sort(decisions)
	pct := func(p float64) float64 { return float64(decisions[int(p*float64(len(decisions)-1))].Nanoseconds()) }
	b.ReportMetric(pct(0.50), "p50-ns/decision")
	b.ReportMetric(pct(0.99), "p99-ns/decision")
	b.ReportMetric(float64(len(decisions)), "decisions")
}
