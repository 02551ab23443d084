package report

import (
	"bytes"
	"context"
	"hash/fnv"
	"math"
	"reflect"
	"strings"
	"testing"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// hashModel is a toy policy that trades: its logits are a hash of the observation's bits,
// with BUY and SELL pushed up, so that it opens, manages and closes positions. It is both
// an Actor (for Build) and a Predictor (for Predict and Stream), acting alike in both.
type hashModel struct{ dim int }

func (m hashModel) ObsDim() int { return m.dim }

func (m hashModel) logits(obs []float32) [env.NumActions]float32 {
	h := fnv.New64a()
	var b [4]byte
	for _, x := range obs {
		u := math.Float32bits(x)
		b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		h.Write(b[:])
	}
	k := h.Sum64()
	var l [env.NumActions]float32
	for a := range l {
		l[a] = float32(k>>(8*a)&0xff) / 64
	}
	l[env.Buy] += 1.5
	l[env.Sell] += 1.5
	return l
}

func (m hashModel) Forward(obs []float32, masks []bool, rows int, out *policy.ForwardResult) error {
	out.Logits, out.Probs, out.Values, out.Actions = out.Logits[:0], out.Probs[:0], out.Values[:0], out.Actions[:0]
	for r := range rows {
		l := m.logits(obs[r*m.dim : (r+1)*m.dim])
		mask := masks[r*env.NumActions : (r+1)*env.NumActions]
		best, sum := -1, 0.0
		for a := range l {
			if mask[a] {
				sum += math.Exp(float64(l[a]))
				if best < 0 || l[a] > l[best] {
					best = a
				}
			}
		}
		for a := range l {
			p := float32(0)
			if mask[a] {
				p = float32(math.Exp(float64(l[a])) / sum)
			}
			out.Logits, out.Probs = append(out.Logits, l[a]), append(out.Probs, p)
		}
		out.Values = append(out.Values, l[0]-l[1])
		out.Actions = append(out.Actions, int32(best))
	}
	return nil
}

func (m hashModel) Act(obs []float32, masks []bool, rows int, out []int32) error {
	var res policy.ForwardResult
	if err := m.Forward(obs, masks, rows, &res); err != nil {
		return err
	}
	copy(out, res.Actions)
	return nil
}

// predictData is the synthetic NQ data of the predict tests: 10 full sessions.
func predictData(t *testing.T) (*env.Dataset, env.Config) {
	t.Helper()
	inst, _ := env.BuiltinInstrument("NQ")
	ds, err := env.Synthesize(inst, 10, 11)
	if err != nil {
		t.Fatal(err)
	}
	cfg := env.DefaultConfig()
	cfg.Plan, cfg.Contracts = "25k", 2 // a small plan: the account breaches and trades on
	return ds, cfg
}

// TestPredictMatchesBuild: Predict's rows carry exactly the trades and per-bar accounts of
// Build's policy backtest of the same model, bars, sessions and rules: one decision per bar
// Build stepped, and a row for every bar of the sessions.
func TestPredictMatchesBuild(t *testing.T) {
	ds, cfg := predictData(t)
	_, val := ds.SplitSessions(0.5)
	for _, m := range []hashModel{{env.ObsDim}, {env.BaseObsDim}} {
		rep, err := Build(context.Background(), Input{Dataset: ds, Sessions: val, Env: cfg, Actor: m, Split: "validation"}, noBaselines())
		if err != nil {
			t.Fatal(err)
		}
		rows, err := Predict(context.Background(), PredictInput{Dataset: ds, Sessions: val, Env: cfg, Predictor: m})
		if err != nil {
			t.Fatal(err)
		}
		acc := rep.account
		var trades []env.Trade
		decided := 0
		byTime := map[int64]Row{}
		for _, r := range rows {
			trades = append(trades, r.Trades...)
			if r.Decided {
				decided++
			}
			byTime[r.Time] = r
		}
		if !reflect.DeepEqual(trades, acc.Trades) {
			t.Errorf("obs %d: trades differ:\npredict %v\nbuild   %v", m.dim, trades, acc.Trades)
		}
		if len(acc.Trades) < 20 {
			t.Errorf("obs %d: %d trades: the test wants a policy that trades", m.dim, len(acc.Trades))
		}
		if decided != len(acc.Bars) {
			t.Errorf("obs %d: %d decisions, Build stepped %d bars", m.dim, decided, len(acc.Bars))
		}
		for _, b := range acc.Bars {
			if got := byTime[b.Time].Account; got != b {
				t.Fatalf("obs %d: account after %d: predict %+v, build %+v", m.dim, b.Time, got, b)
			}
		}
		want := 0
		for _, s := range val {
			want += ds.Sessions[s].End - ds.Sessions[s].Start
		}
		if len(rows) != want {
			t.Errorf("obs %d: %d rows, want one per bar of the sessions (%d)", m.dim, len(rows), want)
		}
	}
}

// streamRows gives the lines of ds's bar file to a Stream and returns its rows.
func streamRows(t *testing.T, ds *env.Dataset, cfg env.Config, p Predictor) []Row {
	t.Helper()
	var buf bytes.Buffer
	if err := env.WriteCSV(&buf, ds); err != nil {
		t.Fatal(err)
	}
	s, err := NewStream("stdin", ds.Instrument, cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if err := s.Header(lines[0]); err != nil {
		t.Fatal(err)
	}
	var rows []Row
	for i, line := range lines[1:] {
		row, ok, err := s.Line(line)
		if err != nil || !ok {
			t.Fatalf("line %d: ok %v, %v", i+2, ok, err)
		}
		if row.Line != i+2 {
			t.Fatalf("line %d: row of line %d", i+2, row.Line)
		}
		row.Line, row.Warnings = 0, nil
		rows = append(rows, row)
	}
	return rows
}

// TestStreamMatchesPredict: streaming a file's bars one line at a time gives, row for row,
// Predict's rows over every session of the file: the same decisions (actions,
// probabilities, values), reasons, accounts and trades.
func TestStreamMatchesPredict(t *testing.T) {
	ds, cfg := predictData(t)
	for _, m := range []hashModel{{env.ObsDim}, {env.BaseObsDim}} {
		want, err := Predict(context.Background(), PredictInput{Dataset: ds, Env: cfg, Predictor: m})
		if err != nil {
			t.Fatal(err)
		}
		got := streamRows(t, ds, cfg, m)
		sameRows(t, got, want)
	}
}

// sameRows fails at the first row that differs.
func sameRows(t *testing.T, got, want []Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	reasons := map[string]int{}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d differs:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
		reasons[want[i].Reason]++
	}
	for _, r := range []string{env.ReasonWarmUp, env.ReasonBeforeEntry, env.ReasonSessionClosed, ""} {
		if reasons[r] == 0 {
			t.Errorf("no row with reason %q: the test wants every kind", r)
		}
	}
}

// TestPredictCheckpoint: a trained checkpoint (ppo.Model) predicts through Forward the
// decisions Build's backtest takes through Act: the same trades and accounts; and its
// stream gives Predict's rows.
func TestPredictCheckpoint(t *testing.T) {
	tc, err := tinyCheckpoint()
	if err != nil {
		t.Fatalf("building the tiny checkpoint: %v", err)
	}
	m, err := ppo.LoadModel(tc.model)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(context.Background(), Input{Dataset: tc.ds, Env: tc.env, Actor: m, Split: "all"}, noBaselines())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Predict(context.Background(), PredictInput{Dataset: tc.ds, Env: tc.env, Predictor: m})
	if err != nil {
		t.Fatal(err)
	}
	var trades []env.Trade
	for _, r := range rows {
		trades = append(trades, r.Trades...)
		if r.Decided {
			var sum float32
			for _, p := range r.Probs {
				sum += p
			}
			if math.Abs(float64(sum)-1) > 1e-5 || r.Probs[r.Action] == 0 {
				t.Fatalf("row %d: probabilities %v (sum %v) for action %v", r.Time, r.Probs, sum, r.Action)
			}
		}
	}
	if !reflect.DeepEqual(trades, rep.account.Trades) {
		t.Errorf("trades differ:\npredict %v\nbuild   %v", trades, rep.account.Trades)
	}
	sameRows(t, streamRows(t, tc.ds, tc.env, m), rows)
}

// noBaselines is the report configuration without baselines: only the policy's backtest.
func noBaselines() Config {
	c := DefaultConfig()
	c.Baselines = false
	return c
}
