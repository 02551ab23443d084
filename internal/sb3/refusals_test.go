package sb3

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hybridtrain/internal/policy"
)

// rewriteZip copies testdata/src into a temporary zip, passing each entry through edit
// (which returns the new content, or false to drop the entry), and returns its path.
func rewriteZip(t *testing.T, src string, edit func(name string, data []byte) ([]byte, bool)) string {
	t.Helper()
	zr, err := zip.OpenReader(fixture(src))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		data, err := readEntry(f, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		data, keep := edit(f.Name, data)
		if !keep {
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
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
	return writeTemp(t, src, buf.Bytes())
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// editData returns an edit that changes the JSON of the "data" entry.
func editData(t *testing.T, edit func(d map[string]any)) func(string, []byte) ([]byte, bool) {
	return func(name string, data []byte) ([]byte, bool) {
		if name != "data" {
			return data, true
		}
		var d map[string]any
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		edit(d)
		out, err := json.MarshalIndent(d, "", "    ")
		if err != nil {
			t.Fatal(err)
		}
		return out, true
	}
}

// obj is the JSON object at path in d.
func obj(d map[string]any, path ...string) map[string]any {
	for _, p := range path {
		d = d[p].(map[string]any)
	}
	return d
}

// TestRefusals: every file the import cannot take is a typed error: it matches
// policy.ErrCheckpoint (exit 4) and its kind, and names the file, the entry and the key
// or tensor at fault.
func TestRefusals(t *testing.T) {
	relu, err := os.ReadFile(fixture("relu.zip"))
	if err != nil {
		t.Fatal(err)
	}
	vn, err := os.ReadFile(fixture("vecnormalize_p4.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	type file struct{ model, stats string } // paths; stats "" = none
	cases := []struct {
		name  string
		files func(t *testing.T) file
		kind  error
		entry string // Error.Entry, "" = not checked
		key   string // Error.Key
		text  string // in the message
	}{
		{"wrong action count", func(*testing.T) file { return file{fixture("actions4.zip"), ""} },
			ErrUnsupported, "data", "action_space.n", "Discrete(4)"},
		{"wrong observation size", func(*testing.T) file { return file{fixture("obs225.zip"), ""} },
			ErrUnsupported, "data", "observation_space._shape", "Box(225,)"},
		{"observation size only in the weights", func(t *testing.T) file {
			return file{rewriteZip(t, "obs225.zip", editData(t, func(d map[string]any) {
				obj(d, "observation_space")["_shape"] = []any{228}
			})), ""}
		}, ErrUnsupported, "policy.pth", "mlp_extractor.policy_net.0.weight", "takes 225 inputs"},
		{"missing key", func(t *testing.T) file {
			return file{rewriteZip(t, "relu.zip", editData(t, func(d map[string]any) { delete(d, "policy_kwargs") })), ""}
		}, ErrMissing, "data", "policy_kwargs", "absent"},
		{"missing entry", func(t *testing.T) file {
			return file{rewriteZip(t, "relu.zip", func(n string, d []byte) ([]byte, bool) { return d, n != "policy.pth" }), ""}
		}, ErrMissing, "policy.pth", "", "no such entry"},
		{"storage of the wrong size", func(t *testing.T) file {
			return file{rewriteZip(t, "tanh.zip", func(n string, d []byte) ([]byte, bool) {
				if n == "policy.pth" {
					d = rewriteInner(t, d, "archive/data/1", func(b []byte) []byte { return b[:len(b)-4] })
				}
				return d, true
			}), ""}
		}, ErrCorrupt, "policy.pth: archive/data/1", "", "needs"},
		{"unknown extra policy part", func(*testing.T) file { return file{fixture("extra_part.zip"), ""} },
			ErrUnsupported, "policy.pth", "features_extractor.linear.weight", "features extractor with weights"},
		{"truncated zip", func(t *testing.T) file { return file{writeTemp(t, "relu.zip", relu[:len(relu)/2]), ""} },
			ErrCorrupt, "", "", "not a zip archive"},
		{"damaged weights", func(t *testing.T) file {
			return file{rewriteZip(t, "relu.zip", func(n string, d []byte) ([]byte, bool) {
				if n == "policy.pth" {
					d = bytes.Clone(d)
					d[len(d)/2] ^= 0xff // inside a storage: the inner zip's CRC no longer matches
				}
				return d, true
			}), ""}
		}, ErrCorrupt, "policy.pth: archive/data/0", "", "checksum"},
		{"unexpected class in the policy", func(*testing.T) file { return file{fixture("forbidden_policy.zip"), ""} },
			ErrForbidden, "policy.pth: archive/data.pkl", "", "posix.system"},
		{"unexpected class in the statistics", func(*testing.T) file {
			return file{fixture("relu.zip"), fixture("vecnormalize_forbidden.pkl")}
		}, ErrForbidden, "", "", "posix.system"},
		{"NaN in the statistics", func(*testing.T) file { return file{fixture("relu.zip"), fixture("vecnormalize_nan.pkl")} },
			ErrValues, "", "obs_rms.var", "feature 7 is NaN"},
		{"dict observation statistics", func(*testing.T) file { return file{fixture("relu.zip"), fixture("vecnormalize_dict.pkl")} },
			ErrUnsupported, "", "obs_rms", "Dict observation space"},
		{"truncated pickle", func(t *testing.T) file { return file{fixture("relu.zip"), writeTemp(t, "vn.pkl", vn[:len(vn)-100])} },
			ErrCorrupt, "", "", "are left: truncated"},
		{"not a pickle", func(t *testing.T) file { return file{fixture("relu.zip"), fixture("relu.zip")} },
			ErrCorrupt, "", "", "not a pickle"},
		{"another activation", func(t *testing.T) file {
			return file{rewriteZip(t, "relu.zip", editData(t, func(d map[string]any) {
				obj(d, "policy_kwargs")["activation_fn"] = "<class 'torch.nn.modules.activation.LeakyReLU'>"
			})), ""}
		}, ErrUnsupported, "data", "policy_kwargs.activation_fn", "LeakyReLU"},
		{"net_arch disagrees with the weights", func(t *testing.T) file {
			return file{rewriteZip(t, "relu.zip", editData(t, func(d map[string]any) {
				obj(d, "policy_kwargs", "net_arch")["vf"] = []any{7}
			})), ""}
		}, ErrCorrupt, "data", "policy_kwargs.net_arch", "pi [5 4], vf [7], but policy.pth holds pi [5 4], vf [3]"},
		{"shared layers", func(t *testing.T) file {
			return file{rewriteZip(t, "tanh.zip", editData(t, func(d map[string]any) {
				pk := obj(d, "policy_kwargs")
				pk["net_arch"] = []any{64, pk["net_arch"]}
			})), ""}
		}, ErrUnsupported, "data", "policy_kwargs.net_arch", "shared by pi and vf"},
		{"not JSON", func(t *testing.T) file {
			return file{rewriteZip(t, "tanh.zip", func(n string, d []byte) ([]byte, bool) {
				if n == "data" {
					d = d[:len(d)/2]
				}
				return d, true
			}), ""}
		}, ErrCorrupt, "data", "", "not JSON"},
		{"missing file", func(t *testing.T) file { return file{filepath.Join(t.TempDir(), "none.zip"), ""} },
			ErrMissing, "", "", "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.files(t)
			err := importFiles(f.model, f.stats)
			if err == nil {
				t.Fatal("imported; want an error")
			}
			t.Log(err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%v: not an *Error", err)
			}
			if !errors.Is(err, tc.kind) || !errors.Is(err, policy.ErrCheckpoint) {
				t.Errorf("%v: kind %v, want %v and policy.ErrCheckpoint", err, e.Kind, tc.kind)
			}
			wantFile := f.model
			if f.stats != "" && strings.Contains(err.Error(), f.stats) {
				wantFile = f.stats
			}
			if e.File != wantFile || (tc.entry != "" && e.Entry != tc.entry) || e.Key != tc.key {
				t.Errorf("%v: file %q entry %q key %q, want %q %q %q", err, e.File, e.Entry, e.Key, wantFile, tc.entry, tc.key)
			}
			if !strings.Contains(e.Err.Error(), tc.text) {
				t.Errorf("%v: want %q in the cause", err, tc.text)
			}
		})
	}
}

// rewriteInner rewrites entry of the zip data (policy.pth's own archive) with edit.
func rewriteInner(t *testing.T, data []byte, entry string, edit func([]byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	found := false
	for _, f := range zr.File {
		b, err := readEntry(f, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == entry {
			b, found = edit(b), true
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no entry %s", entry)
	}
	return buf.Bytes()
}

// importFiles is the import without the writing: read, read, convert.
func importFiles(model, stats string) error {
	m, err := ReadModel(model, DefaultConfig())
	if err != nil {
		return err
	}
	var s *Stats
	if stats != "" {
		if s, err = ReadVecNormalize(stats, DefaultConfig()); err != nil {
			return err
		}
	}
	_, err = Convert(m, s, Info{})
	return err
}

// TestConvertRefusesAnotherEpsilon: this tool normalises with epsilon 1e-8; statistics of
// another epsilon would give other inputs.
func TestConvertRefusesAnotherEpsilon(t *testing.T) {
	s := mustStats(t, "vecnormalize_p4.pkl")
	s.Epsilon = 1e-5
	_, err := Convert(mustModel(t, "tanh.zip"), s, Info{})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrUnsupported) || e.Key != "epsilon" {
		t.Fatalf("got %v, want ErrUnsupported at epsilon", err)
	}
}
