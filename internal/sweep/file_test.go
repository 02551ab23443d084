package sweep

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const exampleFile = `name: nq-lr
out: runs/sweeps/nq-lr
settings:
  total_timesteps: 2000000
grid:
  market: [NQ, ES]
  seed: [1, 2, 3]
  learning_rate: [0.0003, 1e-4]
`

// TestTrialsOrderAndNames: trials are numbered as nested loops over the grid visit them,
// the first key outermost, and each name carries the index and the values.
func TestTrialsOrderAndNames(t *testing.T) {
	f, err := Parse("nq.yaml", []byte(exampleFile))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"000-NQ-s1-lr0.0003", "001-NQ-s1-lr0.0001", "002-NQ-s2-lr0.0003", "003-NQ-s2-lr0.0001",
		"004-NQ-s3-lr0.0003", "005-NQ-s3-lr0.0001", "006-ES-s1-lr0.0003", "007-ES-s1-lr0.0001",
		"008-ES-s2-lr0.0003", "009-ES-s2-lr0.0001", "010-ES-s3-lr0.0003", "011-ES-s3-lr0.0001",
	}
	trials := f.Trials()
	var got []string
	for i, tr := range trials {
		got = append(got, tr.Name)
		if tr.Index != i {
			t.Errorf("trial %d has index %d", i, tr.Index)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("names:\n got %v\nwant %v", got, want)
	}
	// Trial 7 is ES, seed 1, 1e-4, each value with the line it is written on.
	v := trials[7].Values
	if v[0].Raw != "ES" || v[0].Line != 6 || v[1].Raw != 1 || v[1].Line != 7 || v[2].Raw != 1e-4 || v[2].Line != 8 {
		t.Errorf("trial 7 values: %+v", v)
	}
	if d := f.Dir(trials[3]); d != "runs/sweeps/nq-lr/003-NQ-s2-lr0.0001" {
		t.Errorf("dir: %s", d)
	}
}

func TestTrialNames(t *testing.T) {
	cases := []struct {
		name string
		grid string
		want string // the first trial's name
		n    int
	}{
		{"no grid: one trial", "", "000", 1},
		{"lists join with x", "grid:\n  pi_layers: [[64, 64], [128]]\n", "000-pl64x64", 2},
		{"clashing initials keep the key", "grid:\n  n_envs: [1, 2]\n  n_epochs: [3]\n", "000-n_envs_1-n_epochs_3", 2},
		{"odd characters", "grid:\n  data: [data/NQ 2024.csv]\n", "000-ddata_NQ_2024.csv", 1},
		{"bools", "grid:\n  norm_obs: [true, false]\n", "000-notrue", 2},
		{"wide index", "grid:\n  seed: [" + seq(1001) + "]\n", "0000-s0", 1001},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("f.yaml", []byte("name: x\nout: o\n"+tc.grid))
			if err != nil {
				t.Fatal(err)
			}
			trials := f.Trials()
			if len(trials) != tc.n || trials[0].Name != tc.want {
				t.Errorf("got %d trials, first %q; want %d, %q", len(trials), trials[0].Name, tc.n, tc.want)
			}
		})
	}
}

// seq writes 0, 1, ..., n-1.
func seq(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strconv.Itoa(i)
	}
	return strings.Join(parts, ", ")
}

// TestParseErrors: every mistake names the file, the line and the key.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		file string
		line int
		key  string
		want string
	}{
		{"empty", "", 0, "", "empty file"},
		{"not a mapping", "- a\n", 1, "", "want a mapping"},
		{"unknown key", "name: x\nout: o\nsetings: {}\n", 3, "setings", "unknown key"},
		{"twice", "name: x\nname: y\nout: o\n", 2, "name", "first on line 1"},
		{"no out", "name: x\n", 0, "out", "missing"},
		{"bad name", "name: NQ_lr\nout: o\n", 1, "name", "lower-case"},
		{"long name", "name: " + strings.Repeat("a", 41) + "\nout: o\n", 1, "name", "at most 40"},
		{"empty out", "name: x\nout: ''\n", 2, "out", "empty"},
		{"settings a list", "name: x\nout: o\nsettings: [1]\n", 3, "settings", "mapping"},
		{"grid value not a list", "name: x\nout: o\ngrid:\n  seed: 1\n", 4, "grid.seed", "want a list"},
		{"empty list", "name: x\nout: o\ngrid:\n  seed: []\n", 4, "grid.seed", "empty list"},
		{"null value", "name: x\nout: o\ngrid:\n  seed:\n    - 1\n    -\n", 6, "grid.seed", "no value"},
		{"duplicate value", "name: x\nout: o\ngrid:\n  seed:\n    - 1\n    - 2\n    - 1\n", 7, "grid.seed", "listed twice (first on line 5)"},
		{"grid key twice", "name: x\nout: o\ngrid:\n  seed: [1]\n  seed: [2]\n", 5, "grid.seed", "given twice"},
		{"too many trials", "name: x\nout: o\ngrid:\n  a: [" + seq(101) + "]\n  b: [" + seq(101) + "]\n", 0, "grid", "at most 10000"},
		{"bad yaml", "name: x\nout: [\n", 0, "", "did not find"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.file))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a *sweep.Error", err)
			}
			if e.File != "s.yaml" || e.Line != tc.line || e.Key != tc.key || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q (line %d, key %q); want line %d, key %q, containing %q", err, e.Line, e.Key, tc.line, tc.key, tc.want)
			}
		})
	}
}
