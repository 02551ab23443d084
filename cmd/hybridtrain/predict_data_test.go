package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// predictCheckpoints makes, in the working directory, one checkpoint of each kind predict
// takes: Phase 3 and Phase 2 trained here (tiny networks), and a Phase 2 model imported
// from stable-baselines3; and bars.csv, 6 synthetic NQ sessions. It returns the checkpoint
// directories by name.
func predictCheckpoints(t *testing.T) map[string]string {
	t.Helper()
	writeFile(t, "tiny.yaml", tinyConfig)
	ckpts := map[string]string{}
	for name, args := range map[string][]string{
		"phase3": {"train", "--market", "NQ", "--config", "tiny.yaml", "--out", "p3", "--non-interactive", "--quiet"},
		"phase2": {"train", "--market", "NQ", "--phase", "2", "--config", "tiny.yaml", "--out", "p2", "--non-interactive", "--quiet"},
	} {
		a := realApp(t)
		if code := a.run(args...); code != exitOK {
			t.Fatalf("%s: exit %d\n%s", name, code, a.err.String())
		}
		ckpts[name] = filepath.Join(args[len(args)-3], "final")
	}
	importFixture(t, "relu.zip", "sb3")
	ckpts["sb3"] = "sb3"
	a := realApp(t)
	if code := a.run("data", "synth", "--market", "NQ", "--sessions", "6", "--seed", "3", "--out", "bars.csv"); code != exitOK {
		t.Fatalf("data synth: exit %d\n%s", code, a.err.String())
	}
	return ckpts
}

// predictRows runs predict with args and --json and decodes its rows as generic objects.
func predictRows(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	a := realApp(t)
	if code := a.run(append([]string{"predict", "--json"}, args...)...); code != exitOK {
		t.Fatalf("predict %v: exit %d\n%s", args, code, a.err.String())
	}
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(a.out.Bytes(), &doc); err != nil {
		t.Fatalf("predict %v: %v", args, err)
	}
	return doc.Rows
}

// rowTrades lists the trades of predict's rows with trades.csv's columns (as it writes
// them), for comparison with eval's trades.csv.
func rowTrades(rows []map[string]any) [][]string {
	var out [][]string
	for _, r := range rows {
		trades, _ := r["trades"].([]any)
		for _, x := range trades {
			tr := x.(map[string]any)
			str := func(k string) string {
				switch v := tr[k].(type) {
				case string:
					return v
				case float64:
					return strings.TrimSuffix(strings.TrimRight(jsonNumber(v), "0"), ".")
				}
				return ""
			}
			out = append(out, []string{str("entry_time"), str("exit_time"), str("side"), str("contracts"),
				str("entry_price"), str("exit_price"), str("exit_reason"), str("ticks"), str("net_pnl")})
		}
	}
	return out
}

// evalTrades runs eval of model over bars.csv's split and reads its trades.csv with the
// columns rowTrades gives, numbers normalised the same way.
func evalTrades(t *testing.T, model, split string) [][]string {
	t.Helper()
	out := filepath.Join("reports", strings.ReplaceAll(model, string(filepath.Separator), "-")+"-"+split)
	a := realApp(t)
	if code := a.run("eval", "--model", model, "--data", "bars.csv", "--split", split, "--out", out, "--json"); code != exitOK {
		t.Fatalf("eval: exit %d\n%s", code, a.err.String())
	}
	f, err := os.Open(filepath.Join(out, "trades.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	num := func(s string) string {
		if strings.Contains(s, ".") {
			s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	var trades [][]string
	for _, r := range recs[1:] {
		// entry_time,exit_time,side,contracts,entry_price,exit_price,exit_reason,ticks,gross_pnl,commission,net_pnl
		trades = append(trades, []string{r[0], r[1], r[2], r[3], num(r[4]), num(r[5]), r[6], r[7], num(r[10])})
	}
	return trades
}

func jsonNumber(v float64) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// TestPredictData runs predict --data on checkpoints of each kind (predictCheckpoints, made
// once for the subtests).
func TestPredictData(t *testing.T) {
	inTempDir(t)
	ckpts := predictCheckpoints(t)
	t.Run("matches eval", func(t *testing.T) { testPredictDataMatchesEval(t, ckpts) })
	t.Run("csv", func(t *testing.T) { testPredictDataCSV(t, ckpts) })
}

// testPredictDataMatchesEval: predict --data executes exactly eval's trades (trades.csv)
// on the same model, bars and split, for a checkpoint of each phase and an imported SB3
// model; its rows cover every bar of the split, each with a decision or a reason.
func testPredictDataMatchesEval(t *testing.T, ckpts map[string]string) {
	for _, tc := range []struct{ name, split string }{
		{"phase3", "all"}, {"phase3", "validation"}, {"phase2", "all"}, {"sb3", "all"},
	} {
		t.Run(tc.name+"-"+tc.split, func(t *testing.T) {
			model := ckpts[tc.name]
			rows := predictRows(t, "--model", model, "--data", "bars.csv", "--split", tc.split)
			want := evalTrades(t, model, tc.split)
			got := rowTrades(rows)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("trades differ (%d predict, %d eval):\npredict %v\neval    %v", len(got), len(want), got, want)
			}
			if tc.name != "sb3" && len(want) == 0 {
				t.Error("no trade: the comparison proves nothing")
			}
			bars := 6 * 510
			if tc.split == "validation" {
				bars = 2 * 510 // 80% of 6 sessions train: 4; 2 validate
			}
			decided := 0
			for _, r := range rows {
				switch {
				case r["action"] != nil:
					decided++
					if p, _ := r["probs"].([]any); len(p) != 6 {
						t.Fatalf("row %v: probs %v", r["time"], r["probs"])
					}
				case r["reason"] == nil:
					t.Fatalf("row %v: no action and no reason", r["time"])
				}
			}
			if len(rows) != bars || decided == 0 {
				t.Errorf("%d rows (%d decided), want %d", len(rows), decided, bars)
			}
		})
	}
}

// testPredictDataCSV: without --json the rows are CSV, on stdout or atomically in --out.
func testPredictDataCSV(t *testing.T, ckpts map[string]string) {
	a := realApp(t)
	if code := a.run("predict", "--model", ckpts["phase3"], "--data", "bars.csv", "--out", "rows.csv"); code != exitOK {
		t.Fatalf("exit %d\n%s", code, a.err.String())
	}
	if a.out.Len() != 0 || !strings.Contains(a.err.String(), "wrote rows.csv (3060 rows)") {
		t.Errorf("stdout %q, stderr %q", a.out.String(), a.err.String())
	}
	f, err := os.Open("rows.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := "time,action,p_hold,p_buy,p_sell,p_move_sl_to_be,p_enable_trail,p_disable_trail,value,reason,position,entry_price,stop,target,equity,exit_reason,exit_price,pnl"
	if got := strings.Join(recs[0], ","); got != head || len(recs) != 3061 {
		t.Errorf("%d records, header %q", len(recs), got)
	}
	if got := strings.Join(recs[1], ","); got != "2024-01-02T08:30:00-05:00,,,,,,,,,warm-up,0,,,,50000.00,,," {
		t.Errorf("first row %q", got)
	}
}

// TestPredictUsage: the modes exclude each other and each flag goes with its mode (exit
// 2, before the checkpoint is read).
func TestPredictUsage(t *testing.T) {
	inTempDir(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--obs", "o.csv", "--data", "b.csv"}, "--obs, --data and --stream exclude each other"},
		{[]string{"--data", "b.csv", "--stream"}, "--obs, --data and --stream exclude each other"},
		{[]string{"--obs", "o.csv", "--stream"}, "--obs, --data and --stream exclude each other"},
		{nil, "give --obs FILE"},
		{[]string{"--stream", "--split", "train"}, "--split and --out go with --data"},
		{[]string{"--stream", "--out", "x.csv"}, "--split and --out go with --data"},
		{[]string{"--obs", "o.csv", "--plan", "100k"}, "--market, --plan and --config go with --data or --stream"},
		{[]string{"--data", "b.csv", "--split", "test"}, `--split: want all, validation or train, got "test"`},
	} {
		a := realApp(t)
		if code := a.run(append([]string{"predict", "--model", "nothing"}, tc.args...)...); code != exitUsage || !strings.Contains(a.err.String(), tc.want) {
			t.Errorf("predict %v: exit %d, stderr %q; want 2 and %q", tc.args, code, a.err.String(), tc.want)
		}
	}
}
