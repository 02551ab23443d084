package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// sb3Testdata is internal/sb3/testdata, absolute: the tests run in temporary directories.
// Its fixtures and expected.json (PyTorch's outputs) are made by make_fixtures.py there.
var sb3Testdata = func() string {
	p, err := filepath.Abs(filepath.Join("..", "..", "internal", "sb3", "testdata"))
	if err != nil {
		panic(err)
	}
	return p
}()

func sb3Fixture(name string) string { return filepath.Join(sb3Testdata, name) }

// pytorchOutputs are a model's outputs in expected.json.
type pytorchOutputs struct {
	Logits      [][]float64 `json:"logits"`
	Values      []float64   `json:"values"`
	Probs       [][]float64 `json:"probs"`
	ProbsMasked [][]float64 `json:"probs_masked"`
	Actions     []int       `json:"actions"`
	ActionsMask []int       `json:"actions_masked"`
}

func loadPyTorch(t *testing.T, model string) pytorchOutputs {
	t.Helper()
	data, err := os.ReadFile(sb3Fixture("expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	var out pytorchOutputs
	if err := json.Unmarshal(all[model], &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// closeToPyTorch is the tolerance of every comparison with PyTorch: |a-b| <= 1e-4 (1+|b|).
func closeToPyTorch(got, want float64) bool { return math.Abs(got-want) <= 1e-4*(1+math.Abs(want)) }

// importFixture runs `import sb3` of a fixture with the protocol 5 statistics into out.
func importFixture(t *testing.T, model, out string) {
	t.Helper()
	a := realApp(t)
	if code := a.run("import", "sb3", sb3Fixture(model), "--vecnormalize", sb3Fixture("vecnormalize_p5.pkl"),
		"--market", "NQ", "--out", out); code != exitOK {
		t.Fatalf("import %s: exit %d\n%s", model, code, a.err.String())
	}
}

// predictJSON runs predict --json and decodes its rows.
func predictJSON(t *testing.T, args ...string) []predictRow {
	t.Helper()
	a := realApp(t)
	if code := a.run(append([]string{"predict", "--json"}, args...)...); code != exitOK {
		t.Fatalf("predict %v: exit %d\n%s", args, code, a.err.String())
	}
	var doc struct {
		Rows []predictRow `json:"rows"`
	}
	if err := json.Unmarshal(a.out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, a.out.String())
	}
	return doc.Rows
}

// checkRows compares predict's rows with PyTorch's outputs (masked: with masks.csv).
func checkRows(t *testing.T, rows []predictRow, want pytorchOutputs, masked bool) {
	t.Helper()
	probs, actions := want.Probs, want.Actions
	if masked {
		probs, actions = want.ProbsMasked, want.ActionsMask
	}
	if len(rows) != len(want.Values) {
		t.Fatalf("%d rows, PyTorch has %d", len(rows), len(want.Values))
	}
	for r, row := range rows {
		if !closeToPyTorch(float64(row.Value), want.Values[r]) || row.Action != actions[r] {
			t.Errorf("row %d: value %v action %d, PyTorch %v %d", r+1, row.Value, row.Action, want.Values[r], actions[r])
		}
		for j := range 6 {
			if !closeToPyTorch(float64(row.Logits[j]), want.Logits[r][j]) || !closeToPyTorch(float64(row.Probs[j]), probs[r][j]) {
				t.Errorf("row %d action %d: logit %v prob %v, PyTorch %v %v", r+1, j, row.Logits[j], row.Probs[j], want.Logits[r][j], probs[r][j])
			}
		}
	}
}

// TestImportSB3 imports both fixtures and uses the checkpoints: predict --obs reproduces
// PyTorch's logits, probabilities, values and actions on the raw rows of obs.csv (with and
// without masks), inspect and eval accept them.
func TestImportSB3(t *testing.T) {
	inTempDir(t)
	for _, model := range []string{"relu", "tanh"} {
		t.Run(model, func(t *testing.T) {
			out := filepath.Join("imported", model)
			importFixture(t, model+".zip", out)
			want := loadPyTorch(t, model)
			checkRows(t, predictJSON(t, "--model", out, "--obs", sb3Fixture("obs.csv")), want, false)
			checkRows(t, predictJSON(t, "--model", out, "--obs", sb3Fixture("obs.csv"), "--masks", sb3Fixture("masks.csv")), want, true)
		})
	}

	a := realApp(t)
	if code := a.run("import", "sb3", sb3Fixture("relu.zip"), "--vecnormalize", sb3Fixture("vecnormalize_np2_p2.pkl"), "--out", "relu-np2"); code != exitOK {
		t.Fatalf("exit %d: %s", code, a.err.String())
	}
	for _, s := range []string{"pi [5 4], vf [3], relu", "vecnormalize_np2_p2.pkl; obs: 228 features", "timesteps   123456", "\nn_steps: 2048\n",
		"# learning_rate: a schedule in SB3"} {
		if !strings.Contains(a.out.String(), s) {
			t.Errorf("import's summary has no %q:\n%s", s, a.out.String())
		}
	}
	for _, s := range []string{"note: features 224-226", "next bar's open", "no --market"} {
		if !strings.Contains(a.err.String(), s) {
			t.Errorf("import's notes have no %q:\n%s", s, a.err.String())
		}
	}

	a = realApp(t)
	if code := a.run("inspect", filepath.Join("imported", "relu"), "--json"); code != exitOK {
		t.Fatalf("inspect: exit %d: %s", code, a.err.String())
	}
	var rep inspectReport
	if err := json.Unmarshal(a.out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	// Parameters of pi [5, 4], vf [3] on 228 inputs: 228x5+5 + 5x4+4 + 228x3+3 + 4x6+6 + 3+1.
	if rep.Phase != 2 || rep.Market != "NQ" || rep.ObsDim != 228 || rep.Parameters != 1145+24+687+30+4 ||
		rep.Timesteps != 123456 || len(rep.Normalizer) != 2 || rep.Adapter != nil {
		t.Errorf("inspect: %+v", rep)
	}

	a = realApp(t)
	if code := a.run("eval", "--model", filepath.Join("imported", "tanh"), "--episodes", "1", "--out", "report"); code != exitOK ||
		!strings.Contains(a.out.String(), "(phase 2, 2048 timesteps)") {
		t.Errorf("eval: exit %d\n%s%s", code, a.out.String(), a.err.String())
	}
}

// TestImportSB3Refusals: every model or statistics file the import cannot take exits 4
// naming the file and what is wrong, and leaves nothing at --out; usage errors exit 2.
func TestImportSB3Refusals(t *testing.T) {
	inTempDir(t)
	relu, err := os.ReadFile(sb3Fixture("relu.zip"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, "truncated.zip", string(relu[:len(relu)/2]))
	writeFile(t, "no-policy-kwargs.zip", string(withoutPolicyKwargs(t, relu)))
	vn := sb3Fixture("vecnormalize_p4.pkl")
	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"wrong action count", []string{sb3Fixture("actions4.zip")}, exitCheckpoint, []string{"actions4.zip", "action_space.n", "Discrete(4)"}},
		{"wrong observation size", []string{sb3Fixture("obs225.zip")}, exitCheckpoint, []string{"obs225.zip", "Box(225,)"}},
		{"missing key", []string{"no-policy-kwargs.zip"}, exitCheckpoint, []string{"no-policy-kwargs.zip: data: policy_kwargs: absent"}},
		{"extra policy part", []string{sb3Fixture("extra_part.zip")}, exitCheckpoint, []string{"policy.pth: features_extractor.linear.weight"}},
		{"truncated zip", []string{"truncated.zip"}, exitCheckpoint, []string{"truncated.zip: not a zip archive"}},
		{"unexpected pickle class", []string{sb3Fixture("forbidden_policy.zip")}, exitCheckpoint, []string{"forbidden_policy.zip", "posix.system"}},
		{"unexpected class in the statistics", []string{sb3Fixture("relu.zip"), "--vecnormalize", sb3Fixture("vecnormalize_forbidden.pkl")},
			exitCheckpoint, []string{"vecnormalize_forbidden.pkl", "posix.system"}},
		{"NaN in the statistics", []string{sb3Fixture("relu.zip"), "--vecnormalize", sb3Fixture("vecnormalize_nan.pkl")},
			exitCheckpoint, []string{"vecnormalize_nan.pkl: obs_rms.var: feature 7 is NaN"}},
		{"missing model", []string{"none.zip"}, exitCheckpoint, []string{"none.zip"}},
		{"no model argument", nil, exitUsage, []string{"accepts 1 arg"}},
		{"bad market", []string{sb3Fixture("relu.zip"), "--market", "N-Q"}, exitUsage, []string{"--market"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"import", "sb3"}, tc.args...)
			if tc.args != nil {
				args = append(args, "--out", filepath.Join("out", "ckpt"))
				if !slices.Contains(tc.args, "--vecnormalize") {
					args = append(args, "--vecnormalize", vn)
				}
			}
			a := realApp(t)
			if code := a.run(args...); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, a.err.String())
			}
			for _, w := range tc.wants {
				if !strings.Contains(a.err.String(), w) {
					t.Errorf("stderr has no %q:\n%s", w, a.err.String())
				}
			}
			if _, err := os.Stat("out"); err == nil {
				t.Errorf("a failed import left out/")
			}
		})
	}

	// --out must not exist or be empty: the import never replaces anything.
	writeFile(t, "taken", "x")
	a := realApp(t)
	if code := a.run("import", "sb3", sb3Fixture("relu.zip"), "--out", "taken"); code != exitUsage || !strings.Contains(a.err.String(), "taken is a file") {
		t.Errorf("--out a file: exit %d, %s", code, a.err.String())
	}
	a = realApp(t)
	if code := a.run("import", "sb3", sb3Fixture("relu.zip")); code != exitUsage || !strings.Contains(a.err.String(), "--out is required") {
		t.Errorf("no --out: exit %d, %s", code, a.err.String())
	}
}

// withoutPolicyKwargs returns the SB3 zip with policy_kwargs removed from its data.
func withoutPolicyKwargs(t *testing.T, src []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == "data" {
			var d map[string]any
			if err := json.Unmarshal(data, &d); err != nil {
				t.Fatal(err)
			}
			delete(d, "policy_kwargs")
			if data, err = json.Marshal(d); err != nil {
				t.Fatal(err)
			}
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPredictObsErrors: a bad --obs or --masks file exits 3 naming the file, the line and
// the column; a missing mode flag exits 2; a missing checkpoint 4.
func TestPredictObsErrors(t *testing.T) {
	inTempDir(t)
	importFixture(t, "tanh.zip", "ckpt")
	row := strings.TrimSuffix(strings.Repeat("1.5,", 228), ",")
	writeFile(t, "good.csv", row+"\n"+row+"\n")
	writeFile(t, "short.csv", row+"\n"+strings.TrimSuffix(strings.Repeat("1,", 227), ",")+"\n")
	fields := strings.Split(row, ",")
	fields[16] = " abc "
	writeFile(t, "word.csv", row+"\n"+strings.Join(fields, ",")+"\n")
	writeFile(t, "nan.csv", strings.Replace(row, "1.5", "NaN", 1)+"\n")
	writeFile(t, "blank.csv", row+"\n\n"+row+"\n")
	writeFile(t, "masks1.csv", "1,1,1,1,1,1\n")
	writeFile(t, "masks-none.csv", "1,1,1,1,1,1\n0,0,0,0,0,0\n")
	writeFile(t, "masks-2.csv", "1,1,1,1,1,1\n1,1,2,1,1,1\n")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"short row", []string{"--obs", "short.csv"}, exitData, "short.csv: line 2, column 228: 227 values, want 228"},
		{"not a number", []string{"--obs", "word.csv"}, exitData, `word.csv: line 2, column 17: "abc" is not a number`},
		{"NaN", []string{"--obs", "nan.csv"}, exitData, `nan.csv: line 1, column 1: "NaN" is not a finite float32`},
		{"blank line", []string{"--obs", "blank.csv"}, exitData, "blank.csv: line 2: empty line"},
		{"missing file", []string{"--obs", "none.csv"}, exitData, "none.csv: no such file"},
		{"masks rows", []string{"--obs", "good.csv", "--masks", "masks1.csv"}, exitData, "masks1.csv has 1 rows, --obs good.csv has 2"},
		{"no legal action", []string{"--obs", "good.csv", "--masks", "masks-none.csv"}, exitData, "masks-none.csv: line 2: no legal action"},
		{"mask not 0 or 1", []string{"--obs", "good.csv", "--masks", "masks-2.csv"}, exitData, `masks-2.csv: line 2, column 3: "2" is not 0 or 1`},
		{"no --obs", nil, exitUsage, "give --obs FILE"},
		{"--masks alone", []string{"--masks", "masks1.csv"}, exitUsage, "--masks goes with --obs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := realApp(t)
			if code := a.run(append([]string{"predict", "--model", "ckpt"}, tc.args...)...); code != tc.code || !strings.Contains(a.err.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, a.err.String(), tc.code, tc.want)
			}
		})
	}
	a := realApp(t)
	if code := a.run("predict", "--model", "nothing", "--obs", "good.csv"); code != exitCheckpoint {
		t.Errorf("missing checkpoint: exit %d, want 4: %s", code, a.err.String())
	}
	// The table names the actions.
	a = realApp(t)
	if code := a.run("predict", "--model", "ckpt", "--obs", "good.csv"); code != exitOK ||
		!strings.Contains(a.out.String(), "p MOVE_SL_TO_BE") || strings.Count(a.out.String(), "\n") != 3 {
		t.Errorf("table: exit %d\n%s", code, a.out.String())
	}
}

// TestPhase3FromImportedBase: Phase 3 trains from an imported SB3 model (train --base), and
// at step 0 its network on the first 228 features is the imported Phase 2 network.
//
// Step 0 is the trainer's own construction (ppo's fresh: policy.FromCheckpoint of the base,
// policy.Transfer to 261 inputs, the base's statistics for features 0..227): on rows whose
// first 228 features are obs.csv's and whose 33 context features are large and random, it
// gives PyTorch's Phase 2 logits and values. The short run then trains inside the adapter
// warm-up at a learning rate of 1e-10: its final checkpoint keeps the imported weights and
// statistics bit for bit and, through predict, still gives PyTorch's logits.
func TestPhase3FromImportedBase(t *testing.T) {
	inTempDir(t)
	importFixture(t, "relu.zip", "p2")
	want := loadPyTorch(t, "relu")

	raw := readObsCSV(t)
	rows := len(raw) / 228
	rng := rand.New(rand.NewPCG(5, 6))
	var obs261 []float32
	var lines []string
	for r := range rows {
		row := append([]float32(nil), raw[r*228:(r+1)*228]...)
		for range 33 {
			row = append(row, float32(100*rng.NormFloat64()))
		}
		obs261 = append(obs261, row...)
		cells := make([]string, len(row))
		for j, x := range row {
			cells[j] = strconv.FormatFloat(float64(x), 'g', -1, 32)
		}
		lines = append(lines, strings.Join(cells, ","))
	}
	writeFile(t, "obs261.csv", strings.Join(lines, "\n")+"\n")

	// Step 0, as the trainer builds it.
	base, err := policy.ReadCheckpoint("p2")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := policy.FromCheckpoint(base)
	if err != nil {
		t.Fatal(err)
	}
	p3, err := policy.Transfer(p2, 261)
	if err != nil {
		t.Fatal(err)
	}
	mean, _ := base.Tensor("obs_rms.mean")
	variance, _ := base.Tensor("obs_rms.var")
	norm := make([]float32, len(obs261))
	for i, x := range obs261 {
		j := i % 261
		if j >= 228 {
			norm[i] = float32(max(-10, min(10, float64(x)))) // whatever the context statistics
			continue
		}
		z := (float64(x) - mean.F64[j]) / math.Sqrt(variance.F64[j]+1e-8)
		norm[i] = float32(max(-10, min(10, z)))
	}
	var step0 policy.ForwardResult
	if err := p3.Forward(norm, nil, rows, &step0); err != nil {
		t.Fatal(err)
	}
	for r := range rows {
		for j := range 6 {
			if g, w := float64(step0.Logits[r*6+j]), want.Logits[r][j]; !closeToPyTorch(g, w) {
				t.Errorf("step 0, row %d: logit %d = %v, PyTorch's Phase 2 %v", r+1, j, g, w)
			}
		}
		if g, w := float64(step0.Values[r]), want.Values[r]; !closeToPyTorch(g, w) {
			t.Errorf("step 0, row %d: value %v, PyTorch's Phase 2 %v", r+1, g, w)
		}
	}

	// A short Phase 3 run from the imported base.
	writeFile(t, "tiny.yaml", tinyConfig+"learning_rate: 1e-10\nadapter_warmup_steps: 1000000\n")
	a := realApp(t)
	if code := a.run("train", "--market", "NQ", "--base", "p2", "--config", "tiny.yaml", "--out", "p3", "--quiet"); code != exitOK {
		t.Fatalf("train --base: exit %d\n%s", code, a.err.String())
	}
	final, err := policy.ReadCheckpoint(filepath.Join("p3", "final"))
	if err != nil {
		t.Fatal(err)
	}
	if final.Meta.Phase != 3 || !slices.Equal(final.Meta.Arch.PiLayers, []int{5, 4}) || final.Meta.Arch.Activation != "relu" {
		t.Errorf("phase 3 metadata %+v", final.Meta)
	}
	for _, bt := range base.Model {
		ft, ok := final.Tensor(bt.Name)
		switch {
		case strings.HasPrefix(bt.Name, "ret_rms."):
		case strings.HasPrefix(bt.Name, "obs_rms."):
			if !ok || !slices.Equal(ft.F64[:228], bt.F64) {
				t.Errorf("%s: the base block changed (freeze_base_norm)", bt.Name)
			}
		case !ok || !slices.Equal(ft.F32, bt.F32):
			t.Errorf("%s: the base weight changed inside the warm-up", bt.Name)
		}
	}
	checkRows(t, predictJSON(t, "--model", filepath.Join("p3", "final"), "--obs", "obs261.csv"), want, false)

	// eval takes the Phase 3 checkpoint too.
	if _, err := ppo.LoadModel(filepath.Join("p3", "final")); err != nil {
		t.Fatal(err)
	}
}

// readObsCSV reads obs.csv's raw rows.
func readObsCSV(t *testing.T) []float32 {
	t.Helper()
	data, err := os.ReadFile(sb3Fixture("obs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		for f := range strings.SplitSeq(line, ",") {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, float32(x))
		}
	}
	return out
}
