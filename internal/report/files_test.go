package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hybridtrain/internal/env"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenReport assembles a report from hand-built accounts (no simulation, so the golden
// files change only when the report's own rendering does): the policy passes on its third
// session, flat never trades, the two random runs miss the target and breach, buy-and-hold
// makes a little. The policy's trades carry prices so that trades.csv shows every column;
// their P&L is not the equity's (the files render what they are given).
func goldenReport(t *testing.T) *Report {
	t.Helper()
	inst, ok := env.BuiltinInstrument("NQ")
	if !ok {
		t.Fatal("no NQ")
	}
	ec := env.DefaultConfig()
	ec.MinTradingDays = 3
	policy := verdictAccount([]session{day(51_000, true), day(52_000, true), day(53_000, true)})
	// Give the policy's trades prices: a long target, a short stop, a long flatten.
	fill := []env.Trade{
		{Side: 1, EntryPrice: 16_000.25, ExitPrice: 16_010.5, Exit: env.ExitTarget, Ticks: 41},
		{Side: -1, EntryPrice: 16_020, ExitPrice: 16_025.75, Exit: env.ExitStop, Ticks: -23},
		{Side: 1, EntryPrice: 15_990.5, ExitPrice: 15_991, Exit: env.ExitFlatten, Ticks: 2},
	}
	for i := range policy.Trades {
		tr := &policy.Trades[i]
		tr.Side, tr.EntryPrice, tr.ExitPrice, tr.Exit, tr.Ticks = fill[i].Side, fill[i].EntryPrice, fill[i].ExitPrice, fill[i].Exit, fill[i].Ticks
		tr.Gross = float64(tr.Ticks) * 5
		tr.Commission = 5
		tr.Net = tr.Gross - tr.Commission
	}
	for i := range policy.Bars {
		policy.Bars[i].Threshold = 47_500 + float64(i)*100
	}
	flat := verdictAccount([]session{day(50_000, false), day(50_000, false), day(50_000, false)})
	missed := verdictAccount([]session{day(50_500, true), day(51_500, true), day(51_200, true)})
	breached := verdictAccount([]session{day(50_500, true), {eq: [3]float64{49_000, 47_400, 47_500}, traded: true, breach: 1}, day(48_000, true)})
	bh := verdictAccount([]session{day(50_200, true), day(49_900, true), day(50_400, true)})
	r, err := assemble(reportMeta{
		model:  ModelInfo{Dir: "runs/phase3-NQ-20250101T000000Z/best", Phase: 3, Market: "NQ", Timesteps: 1_000_000, Seed: 1, ObsDim: env.ObsDim, ToolVersion: "test"},
		source: "data/NQ_D1M.csv", split: "validation", env: ec, inst: inst,
	}, DefaultConfig(), run{acc: policy}, &baselineRuns{
		flat: run{acc: flat}, buyHold: run{acc: bh}, random: []run{{acc: missed}, {acc: breached, masked: 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./internal/report -update after checking the change)\ngot:\n%s", name, got)
	}
}

func TestGoldenFiles(t *testing.T) {
	r := goldenReport(t)
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"report.golden.json", func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
		{"report.golden.md", func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
		{"trades.golden.csv", func(b *bytes.Buffer) error { return r.WriteTradesCSV(b) }},
		{"equity.golden.csv", func(b *bytes.Buffer) error { return r.WriteEquityCSV(b) }},
		{"summary.golden.txt", func(b *bytes.Buffer) error { return r.WriteSummary(b) }},
	} {
		t.Run(f.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := f.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, f.name, b.Bytes())
		})
	}
}

// TestReportJSONFields checks report.json's key facts independently of the golden file.
func TestReportJSONFields(t *testing.T) {
	var b bytes.Buffer
	if err := goldenReport(t).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema string `json:"schema"`
		Policy struct {
			Metrics map[string]json.RawMessage `json:"metrics"`
			Verdict Verdict                    `json:"verdict"`
		} `json:"policy"`
		Baselines struct {
			Flat   Result `json:"flat"`
			Random struct {
				Mean map[string]Float `json:"mean"`
				Std  map[string]Float `json:"std"`
				N    map[string]int   `json:"n"`
				Runs []Result         `json:"runs"`
			} `json:"random"`
		} `json:"baselines"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("report.json does not read back: %v", err)
	}
	if doc.Schema != "hybridtrain.report/1" {
		t.Errorf("schema = %q, want hybridtrain.report/1", doc.Schema)
	}
	if !doc.Policy.Verdict.Passed || doc.Policy.Verdict.PassDate != "2024-01-04" {
		t.Errorf("policy verdict %+v: want passed on 2024-01-04", doc.Policy.Verdict)
	}
	// Net P&L of the policy: 53,000 - 50,000.
	if got := string(doc.Policy.Metrics["net_pnl"]); got != "3000" {
		t.Errorf("net_pnl = %s, want 3000", got)
	}
	// Flat: undefined ratios are null, not missing.
	if got := string(doc.Policy.Metrics["sharpe"]); got == "" || got == "null" {
		t.Errorf("policy sharpe = %q, want a number", got)
	}
	if doc.Baselines.Flat.Metrics.WinRatePct.Defined() || doc.Baselines.Flat.Metrics.ProfitFactor.Defined() {
		t.Errorf("flat: win rate %v, profit factor %v, want null and null", doc.Baselines.Flat.Metrics.WinRatePct, doc.Baselines.Flat.Metrics.ProfitFactor)
	}
	// Random: net P&L 1,200 and -2,000 -> mean -400, sample std sqrt((1600^2 x 2) / 1).
	if m, s := doc.Baselines.Random.Mean["net_pnl"], doc.Baselines.Random.Std["net_pnl"]; !near(float64(m), -400) || !near(float64(s), 1600*1.4142135623730951) {
		t.Errorf("random net_pnl mean %v std %v, want -400 and 2262.74", m, s)
	}
	if n := doc.Baselines.Random.N["net_pnl"]; n != 2 || len(doc.Baselines.Random.Runs) != 2 {
		t.Errorf("random: n %d, %d runs, want 2 and 2", n, len(doc.Baselines.Random.Runs))
	}
}

func TestSpreadSkipsNonFinite(t *testing.T) {
	runs := []Result{{}, {}, {}}
	runs[0].Metrics.ProfitFactor = 2
	runs[1].Metrics.ProfitFactor = Float(posInf())
	runs[2].Metrics.ProfitFactor = 4
	mean, std, n := spread(runs)
	if mean["profit_factor"] != 3 || !near(float64(std["profit_factor"]), 1.4142135623730951) || n["profit_factor"] != 2 {
		t.Errorf("profit factor over {2, inf, 4}: mean %v std %v n %d, want 3, sqrt 2, 2", mean["profit_factor"], std["profit_factor"], n["profit_factor"])
	}
}

func TestPlotSize(t *testing.T) {
	for _, size := range [][2]int{{1200, 800}, {640, 480}} {
		r := goldenReport(t)
		r.cfg.PlotWidth, r.cfg.PlotHeight = size[0], size[1]
		var b bytes.Buffer
		if err := r.WritePlot(&b); err != nil {
			t.Fatalf("WritePlot: %v", err)
		}
		img, err := png.Decode(&b)
		if err != nil {
			t.Fatalf("equity.png does not decode: %v", err)
		}
		if got := img.Bounds().Size(); got.X != size[0] || got.Y != size[1] {
			t.Errorf("equity.png is %dx%d, want %dx%d", got.X, got.Y, size[0], size[1])
		}
	}
}

// TestPlotEmptyAccount: a report with no bars still draws a picture.
func TestPlotEmptyAccount(t *testing.T) {
	r := goldenReport(t)
	r.account = &Account{Start: 50_000}
	r.benchmark = nil
	var b bytes.Buffer
	if err := r.WritePlot(&b); err != nil {
		t.Fatalf("WritePlot: %v", err)
	}
	if _, err := png.Decode(&b); err != nil {
		t.Fatalf("equity.png does not decode: %v", err)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	f, err := goldenReport(t).WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"report.json", "report.md", "trades.csv", "equity.csv", "equity.png"}
	for i, p := range f.List() {
		if filepath.Base(p) != names[i] {
			t.Errorf("file %d is %s, want %s", i, p, names[i])
		}
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: want a non-empty file (%v)", p, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(names) {
		t.Errorf("%d entries in the output directory, want %d (no temporary files left)", len(entries), len(names))
	}
	// A file where the directory should be is a clear error.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := goldenReport(t).WriteFiles(file); err == nil || !strings.HasPrefix(err.Error(), "report: ") {
		t.Errorf("WriteFiles into a file: err %v, want a report: error", err)
	}
}

func TestTickDecimals(t *testing.T) {
	for tick, want := range map[float64]int{0.25: 2, 0.1: 1, 1: 0, 0.01: 2, 0.005: 3} {
		if got := tickDecimals(tick); got != want {
			t.Errorf("tickDecimals(%g) = %d, want %d", tick, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, c := range []struct {
		name string
		mod  func(*Config)
		key  string
	}{
		{"no random runs", func(c *Config) { c.RandomSeeds = 0 }, "random_seeds"},
		{"too many random runs", func(c *Config) { c.RandomSeeds = 1001 }, "random_seeds"},
		{"narrow plot", func(c *Config) { c.PlotWidth = 100 }, "plot_width"},
		{"tall plot", func(c *Config) { c.PlotHeight = 9000 }, "plot_height"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.mod(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), c.key) || !strings.HasPrefix(err.Error(), "report: ") {
				t.Errorf("Validate() = %v, want an error naming %s", err, c.key)
			}
		})
	}
}
