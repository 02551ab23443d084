package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sampleCheckpoint is a small checkpoint with every kind of content: F32 weights, F64
// normalisers, I64 step counts, a state and the caller's metadata. version tells two
// checkpoints apart.
func sampleCheckpoint(version int64) *Checkpoint {
	rng := rand.New(rand.NewPCG(uint64(version), 42))
	f32 := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(rng.NormFloat64())
		}
		return out
	}
	f64 := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = rng.Float64() * 100
		}
		return out
	}
	return &Checkpoint{
		Meta: Metadata{
			Phase: 3, Market: "NQ", ObsDim: 5, BaseObsDim: 4, NumActions: 2,
			Instrument: map[string]any{"symbol": "NQ", "tick_size": 0.25},
			Arch:       Arch{PiLayers: []int{3}, VfLayers: []int{3}, Activation: "relu", Adapter: true},
			Timesteps:  1000 * version, Seed: 7, ToolVersion: "test",
			Config:    map[string]any{"learning_rate": 0.0003},
			CreatedAt: "2026-01-02T03:04:05Z",
		},
		Model: []NamedTensor{
			{Name: "adapter.weight", Shape: []int{4, 5}, F32: f32(20)},
			{Name: "adapter.bias", Shape: []int{4}, F32: f32(4)},
			{Name: "action_net.weight", Shape: []int{2, 3}, F32: f32(6)},
			{Name: "obs_rms.mean", Shape: []int{5}, F64: f64(5)},
			{Name: "obs_rms.var", Shape: []int{5}, F64: f64(5)},
			{Name: "obs_rms.count", Shape: []int{5}, F64: f64(5)},
			{Name: "ret_rms.count", Shape: []int{1}, F64: f64(1)},
		},
		Optimizer: []NamedTensor{
			{Name: "exp_avg.adapter.weight", Shape: []int{4, 5}, F32: f32(20)},
			{Name: "step", Shape: []int{}, I64: []int64{version * 10}},
		},
		State: []byte(`{"timesteps":` + string(rune('0'+version)) + `}`),
	}
}

func sortedTensors(ts []NamedTensor) []NamedTensor {
	out := slices.Clone(ts)
	slices.SortFunc(out, func(a, b NamedTensor) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// assertCheckpoint checks that got holds want's tensors (bit-exact), state and metadata.
func assertCheckpoint(t *testing.T, got, want *Checkpoint) {
	t.Helper()
	assertTensorsEqual(t, got.Model, sortedTensors(want.Model))
	assertTensorsEqual(t, got.Optimizer, sortedTensors(want.Optimizer))
	if !bytes.Equal(got.State, want.State) {
		t.Errorf("state = %q, want %q", got.State, want.State)
	}
	g, w := got.Meta, want.Meta
	if g.Timesteps != w.Timesteps || g.Phase != w.Phase || g.Market != w.Market || g.ObsDim != w.ObsDim ||
		g.BaseObsDim != w.BaseObsDim || g.NumActions != w.NumActions || g.Seed != w.Seed || g.ToolVersion != w.ToolVersion {
		t.Errorf("metadata = %+v, want %+v", g, w)
	}
	if !slices.Equal(g.Arch.PiLayers, w.Arch.PiLayers) || !slices.Equal(g.Arch.VfLayers, w.Arch.VfLayers) ||
		g.Arch.Activation != w.Arch.Activation || g.Arch.Adapter != w.Arch.Adapter {
		t.Errorf("architecture = %+v, want %+v", g.Arch, w.Arch)
	}
	if g.SchemaVersion != CheckpointSchemaVersion {
		t.Errorf("schema_version = %d, want %d", g.SchemaVersion, CheckpointSchemaVersion)
	}
}

func mustWrite(t *testing.T, dir string, c *Checkpoint) {
	t.Helper()
	if err := WriteCheckpoint(dir, c); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, dir string) *Checkpoint {
	t.Helper()
	c, err := ReadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "checkpoints", "ts-000001000")
	want := sampleCheckpoint(1)
	mustWrite(t, dir, want)
	got := mustRead(t, dir)
	assertCheckpoint(t, got, want)
	if got.Meta.CreatedAt != want.Meta.CreatedAt {
		t.Errorf("created_at = %q, want the caller's %q", got.Meta.CreatedAt, want.Meta.CreatedAt)
	}
	inst, ok := got.Meta.Instrument.(map[string]any)
	if !ok || inst["symbol"] != "NQ" || inst["tick_size"] != 0.25 {
		t.Errorf("instrument = %#v, want symbol NQ, tick_size 0.25", got.Meta.Instrument)
	}
	// The hashes recorded are the SHA-256 of the files on disk, and nothing else is listed.
	names := []string{ModelFile, OptimizerFile, StateFile}
	if len(got.Meta.Files) != len(names) {
		t.Errorf("sha256 lists %v, want exactly %v", got.Meta.Files, names)
	}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if h := hex.EncodeToString(sum[:]); got.Meta.Files[name] != h {
			t.Errorf("sha256[%s] = %s, file hashes to %s", name, got.Meta.Files[name], h)
		}
	}
	if want.Meta.Files != nil {
		t.Error("WriteCheckpoint modified the caller's metadata")
	}
	if c, ok := got.Tensor("obs_rms.var"); !ok || CheckTensorType(c, DTypeF64, 5) != nil {
		t.Errorf("Tensor(obs_rms.var) = %+v, %v; want a [5] F64 tensor", c, ok)
	}
	if _, ok := got.Tensor("step"); ok {
		t.Error("Tensor found an optimizer tensor among the model's")
	}
	if c, ok := got.OptimizerTensor("step"); !ok || c.I64[0] != 10 {
		t.Errorf("OptimizerTensor(step) = %+v, %v; want [10]", c, ok)
	}
}

func TestCheckpointCreatedAtFilled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	c := sampleCheckpoint(1)
	c.Meta.CreatedAt = ""
	before := time.Now().UTC().Truncate(time.Second)
	mustWrite(t, dir, c)
	after := time.Now().UTC()
	got := mustRead(t, dir)
	ts, err := time.Parse(time.RFC3339, got.Meta.CreatedAt)
	if err != nil {
		t.Fatalf("created_at %q is not RFC 3339: %v", got.Meta.CreatedAt, err)
	}
	if ts.Before(before) || ts.After(after) || !strings.HasSuffix(got.Meta.CreatedAt, "Z") {
		t.Errorf("created_at = %s, want a UTC time within [%s, %s]", got.Meta.CreatedAt, before, after)
	}
}

// The same checkpoint written twice gives the same bytes in every file.
func TestCheckpointDeterministicBytes(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	mustWrite(t, a, sampleCheckpoint(3))
	c := sampleCheckpoint(3)
	slices.Reverse(c.Model) // input order must not matter
	mustWrite(t, b, c)
	for _, name := range []string{ModelFile, OptimizerFile, StateFile, MetadataFile} {
		da, errA := os.ReadFile(filepath.Join(a, name))
		db, errB := os.ReadFile(filepath.Join(b, name))
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if !bytes.Equal(da, db) {
			t.Errorf("%s differs between two writes of the same checkpoint", name)
		}
	}
}

func TestCheckpointEmptyStateOmitted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	c := sampleCheckpoint(1)
	c.State = nil
	mustWrite(t, dir, c)
	if _, err := os.Stat(filepath.Join(dir, StateFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state.json written for an empty state (stat: %v)", err)
	}
	got := mustRead(t, dir)
	if got.State != nil || len(got.Meta.Files) != 2 {
		t.Errorf("state = %q, sha256 = %v; want no state and two hashed files", got.State, got.Meta.Files)
	}
	// A state.json that metadata.json does not vouch for is an error.
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadCheckpoint(dir)
	assertErr(t, err, "state.json: present but not listed")
}

func TestCheckpointCorruptFile(t *testing.T) {
	for _, name := range []string{ModelFile, OptimizerFile, StateFile} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ck")
			mustWrite(t, dir, sampleCheckpoint(1))
			path := filepath.Join(dir, name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-1] ^= 1
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			_, err = ReadCheckpoint(dir)
			assertErr(t, err, "checkpoint "+dir+": "+name+": sha256 mismatch (metadata.json says ")
			assertErr(t, err, "file is "+hex.EncodeToString(sum[:])+")")
		})
	}
}

func TestCheckpointMissingFile(t *testing.T) {
	for _, name := range []string{ModelFile, OptimizerFile, StateFile, MetadataFile} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ck")
			mustWrite(t, dir, sampleCheckpoint(1))
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			_, err := ReadCheckpoint(dir)
			assertErr(t, err, dir+": "+name+": missing")
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %q does not match fs.ErrNotExist", err)
			}
		})
	}
}

func TestCheckpointMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := ReadCheckpoint(dir)
	assertErr(t, err, "checkpoint "+dir+": directory does not exist")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %q does not match fs.ErrNotExist", err)
	}
	var ce *CheckpointError
	if !errors.As(err, &ce) || ce.Dir != dir {
		t.Errorf("error %q is not a *CheckpointError for %s", err, dir)
	}
}

// editJSON rewrites metadata.json through a map, leaving the hashes valid.
func editMetadata(t *testing.T, dir string, edit func(m map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, MetadataFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	mustUnmarshal(t, data, &m)
	edit(m)
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointBadMetadata(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, dir string)
		want string
	}{
		{"schema too new", func(t *testing.T, dir string) {
			editMetadata(t, dir, func(m map[string]any) { m["schema_version"] = 2 })
		}, "metadata.json: schema_version 2 not supported (this build reads 1)"},
		{"schema missing", func(t *testing.T, dir string) {
			editMetadata(t, dir, func(m map[string]any) { delete(m, "schema_version") })
		}, "metadata.json: schema_version missing"},
		{"wrong type", func(t *testing.T, dir string) {
			editMetadata(t, dir, func(m map[string]any) { m["obs_dim"] = "261" })
		}, "metadata.json: obs_dim: want int, got JSON string"},
		{"sha256 missing", func(t *testing.T, dir string) {
			editMetadata(t, dir, func(m map[string]any) { delete(m, "sha256") })
		}, "metadata.json: sha256 missing"},
		{"model hash missing", func(t *testing.T, dir string) {
			editMetadata(t, dir, func(m map[string]any) { delete(m["sha256"].(map[string]any), ModelFile) })
		}, "metadata.json: sha256 has no entry for model.safetensors"},
		{"unknown file", func(t *testing.T, dir string) {
			editMetadata(t, dir, func(m map[string]any) { m["sha256"].(map[string]any)["../x"] = strings.Repeat("0", 64) })
		}, `metadata.json: sha256 lists "../x"`},
		{"bad hex", func(t *testing.T, dir string) {
			editMetadata(t, dir, func(m map[string]any) { m["sha256"].(map[string]any)[OptimizerFile] = "AB12" })
		}, `metadata.json: sha256["optimizer.safetensors"]: "AB12" is not 64 lowercase hex digits`},
		{"syntax error", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, MetadataFile), []byte("{\n  \"phase\": 3,\n  oops\n}"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "metadata.json: line 3, column 3: invalid character 'o'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ck")
			mustWrite(t, dir, sampleCheckpoint(1))
			tc.edit(t, dir)
			_, err := ReadCheckpoint(dir)
			assertErr(t, err, "checkpoint "+dir+": "+tc.want)
		})
	}
}

// A truncated tensor file whose hash was updated to match (so only the parser can catch
// it), and one whose hash was not.
func TestCheckpointTruncatedSafetensors(t *testing.T) {
	for _, rehash := range []bool{true, false} {
		dir := filepath.Join(t.TempDir(), "ck")
		mustWrite(t, dir, sampleCheckpoint(1))
		path := filepath.Join(dir, ModelFile)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data = data[:len(data)-10]
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want := "model.safetensors: sha256 mismatch"
		if rehash {
			sum := sha256.Sum256(data)
			editMetadata(t, dir, func(m map[string]any) { m["sha256"].(map[string]any)[ModelFile] = hex.EncodeToString(sum[:]) })
			want = "model.safetensors: safetensors: "
		}
		_, err = ReadCheckpoint(dir)
		assertErr(t, err, want)
	}
}

func TestWriteCheckpointRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Checkpoint)
		want string
	}{
		{"no model", func(c *Checkpoint) { c.Model = nil }, "model.safetensors: no model tensors"},
		{"bad model tensor", func(c *Checkpoint) { c.Model[0].Shape = []int{4, 4} }, `model.safetensors: safetensors: tensor "adapter.weight": shape [4 4] has 16 elements, data has 20`},
		{"bad optimizer tensor", func(c *Checkpoint) { c.Optimizer[1].I64 = nil }, `optimizer.safetensors: safetensors: tensor "step": no data`},
		{"state not json", func(c *Checkpoint) { c.State = []byte("{") }, "state.json: state is not valid JSON"},
		{"schema", func(c *Checkpoint) { c.Meta.SchemaVersion = 9 }, "metadata.json: schema_version 9: this build writes 1"},
		{"unencodable metadata", func(c *Checkpoint) { c.Meta.Config = func() {} }, "metadata.json: json: unsupported type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "ck")
			c := sampleCheckpoint(1)
			tc.edit(c)
			assertErr(t, WriteCheckpoint(dir, c), "checkpoint "+dir+": "+tc.want)
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("a rejected write left %v behind", entries)
			}
		})
	}
	assertErr(t, WriteCheckpoint(filepath.Join(t.TempDir(), "x"), nil), "nil checkpoint")
}

// A directory that is not a checkpoint is never replaced: a wrong path must not delete a
// run.
func TestWriteCheckpointRefusesOtherDirectory(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(keep, []byte("seed: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	assertErr(t, WriteCheckpoint(dir, sampleCheckpoint(1)), "refusing to replace it")
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the directory's file is gone: %v", err)
	}
	// An empty directory is fine (a caller may create it first).
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, empty, sampleCheckpoint(1))
}

func TestCheckpointReplace(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "final")
	mustWrite(t, dir, sampleCheckpoint(1))
	v2 := sampleCheckpoint(2)
	mustWrite(t, dir, v2)
	assertCheckpoint(t, mustRead(t, dir), v2)
	assertOnly(t, root, "final")
}

// assertOnly checks that root holds exactly the named entries (no temporary leftovers).
func assertOnly(t *testing.T, root string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %v, want %v", root, got, names)
	}
}

// writeSteps are the failpoints of WriteCheckpoint in order, and which checkpoint dir
// must hold after a failure at each: the old one until the new one is renamed in.
var writeSteps = []struct {
	name   string
	newOne bool
}{
	{"create temporary directory", false},
	{"write model.safetensors", false},
	{"write optimizer.safetensors", false},
	{"write state.json", false},
	{"write metadata.json", false},
	{"sync temporary directory", false},
	{"move old aside", false},
	{"move new in", false},
	{"sync parent", true},
	{"remove old", true},
}

func setFailpoint(t *testing.T, f func(string) error) {
	t.Helper()
	failpoint = f
	t.Cleanup(func() { failpoint = nil })
}

// The failpoints above are exactly the steps a replacing write goes through.
func TestWriteCheckpointStepsListed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	mustWrite(t, dir, sampleCheckpoint(1))
	var seen []string
	setFailpoint(t, func(step string) error { seen = append(seen, step); return nil })
	mustWrite(t, dir, sampleCheckpoint(2))
	var want []string
	for _, s := range writeSteps {
		want = append(want, s.name)
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("steps = %q, want %q", seen, want)
	}
}

// A write that fails (an injected error: disk full, permission) or crashes (the process
// stops where it is, no cleanup) at any step leaves a complete checkpoint readable at dir,
// the old one until the new one is renamed in; the next write succeeds and cleans up.
func TestWriteCheckpointFailureKeepsCheckpoint(t *testing.T) {
	for _, mode := range []struct {
		name string
		err  error
	}{{"error", errors.New("injected failure")}, {"crash", errCrash}} {
		for _, step := range writeSteps {
			t.Run(mode.name+"/"+step.name, func(t *testing.T) {
				root := t.TempDir()
				dir := filepath.Join(root, "best")
				v1, v2, v3 := sampleCheckpoint(1), sampleCheckpoint(2), sampleCheckpoint(3)
				mustWrite(t, dir, v1)
				setFailpoint(t, func(s string) error {
					if s == step.name {
						return mode.err
					}
					return nil
				})
				err := WriteCheckpoint(dir, v2)
				if !errors.Is(err, mode.err) || !errors.Is(err, ErrCheckpoint) {
					t.Fatalf("write failing at %q returned %v, want the injected error wrapped in ErrCheckpoint", step.name, err)
				}
				failpoint = nil
				want := v1
				if step.newOne {
					want = v2
				}
				assertCheckpoint(t, mustRead(t, dir), want)
				if mode.err != errCrash && !step.newOne {
					assertOnly(t, root, "best") // a failed write cleans up after itself
				}
				// The next write first recovers: even when it then fails, dir holds the
				// same complete checkpoint and the leftovers are gone.
				setFailpoint(t, func(s string) error {
					if s == "write model.safetensors" {
						return errors.New("disk full")
					}
					return nil
				})
				if err := WriteCheckpoint(dir, v3); err == nil {
					t.Fatal("the injected failure did not fail the write")
				}
				failpoint = nil
				assertOnly(t, root, "best")
				assertCheckpoint(t, mustRead(t, dir), want)
				mustWrite(t, dir, v3)
				assertCheckpoint(t, mustRead(t, dir), v3)
				assertOnly(t, root, "best")
			})
		}
	}
}

// The first write to a new dir that crashes leaves nothing readable there, and the next
// write succeeds.
func TestWriteCheckpointCrashOnFirstWrite(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "ck")
	setFailpoint(t, func(s string) error {
		if s == "write metadata.json" {
			return errCrash
		}
		return nil
	})
	if err := WriteCheckpoint(dir, sampleCheckpoint(1)); !errors.Is(err, errCrash) {
		t.Fatalf("got %v, want the simulated crash", err)
	}
	failpoint = nil
	_, err := ReadCheckpoint(dir)
	assertErr(t, err, "directory does not exist")
	mustWrite(t, dir, sampleCheckpoint(2))
	assertCheckpoint(t, mustRead(t, dir), sampleCheckpoint(2))
	assertOnly(t, root, "ck")
}

func TestCheckTensor(t *testing.T) {
	w := NamedTensor{Name: "value_net.weight", Shape: []int{1, 128}, F32: make([]float32, 128)}
	tests := []struct {
		name  string
		t     NamedTensor
		dt    DType
		shape []int
		want  string // "" = no error
	}{
		{"ok", w, DTypeF32, []int{1, 128}, ""},
		{"wrong shape", w, DTypeF32, []int{128, 1}, `tensor "value_net.weight": shape [1 128], want [128 1]`},
		{"wrong rank", w, DTypeF32, []int{128}, `shape [1 128], want [128]`},
		{"wrong dtype", w, DTypeF64, []int{1, 128}, `tensor "value_net.weight": dtype F32, want F64`},
		{"no data", NamedTensor{Name: "x", Shape: []int{2}}, DTypeF64, []int{2}, `tensor "x": dtype none, want F64`},
		{"short data", NamedTensor{Name: "x", Shape: []int{2}, F64: []float64{1}}, DTypeF64, []int{2}, `shape [2] has 2 elements, data has 1`},
		{"scalar", NamedTensor{Name: "n", Shape: []int{}, I64: []int64{5}}, DTypeI64, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckTensorType(tc.t, tc.dt, tc.shape...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			assertErr(t, err, tc.want)
		})
	}
	// CheckTensor checks the shape whatever the dtype.
	if err := CheckTensor(w, 1, 128); err != nil {
		t.Errorf("CheckTensor: %v", err)
	}
	assertErr(t, CheckTensor(w, 1, 127), "want [1 127]")
}

func BenchmarkWriteCheckpoint(b *testing.B) {
	c := &Checkpoint{Model: benchTensors(), Optimizer: benchTensors(), State: []byte(`{}`)}
	dir := filepath.Join(b.TempDir(), "ck")
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteCheckpoint(dir, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCheckpoint(b *testing.B) {
	c := &Checkpoint{Model: benchTensors(), Optimizer: benchTensors(), State: []byte(`{}`)}
	dir := filepath.Join(b.TempDir(), "ck")
	if err := WriteCheckpoint(dir, c); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadCheckpoint(dir); err != nil {
			b.Fatal(err)
		}
	}
}

var updateCkpt = flag.Bool("update-ckpt", false, "rewrite testdata/ckpt-v1 from goldenCheckpoint")

// goldenCheckpoint has values from formulas (not a generator whose stream may change
// between Go releases), so that testdata/ckpt-v1 is reproducible.
func goldenCheckpoint() *Checkpoint {
	f32 := func(n int, scale float32) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = scale * float32(i-n/2)
		}
		return out
	}
	return &Checkpoint{
		Meta: Metadata{
			Phase: 3, Market: "NQ", ObsDim: 3, BaseObsDim: 2, NumActions: 2,
			Instrument: map[string]any{"symbol": "NQ"},
			Arch:       Arch{PiLayers: []int{2}, VfLayers: []int{2}, Activation: "relu", Adapter: true},
			Timesteps:  2048, Seed: 1, ToolVersion: "golden", CreatedAt: "2026-01-01T00:00:00Z",
		},
		Model: []NamedTensor{
			{Name: "adapter.weight", Shape: []int{2, 3}, F32: []float32{1, 0, 0, 0, 1, 0}},
			{Name: "adapter.bias", Shape: []int{2}, F32: []float32{0, 0}},
			{Name: "mlp_extractor.policy_net.0.weight", Shape: []int{2, 2}, F32: f32(4, 0.5)},
			{Name: "action_net.weight", Shape: []int{2, 2}, F32: f32(4, 0.125)},
			{Name: "obs_rms.mean", Shape: []int{3}, F64: []float64{0.1, -2.5, 1e10}},
			{Name: "obs_rms.var", Shape: []int{3}, F64: []float64{1, 0.25, 4}},
			{Name: "obs_rms.count", Shape: []int{3}, F64: []float64{2049, 2049, 2049}},
			{Name: "ret_rms.count", Shape: []int{1}, F64: []float64{2049}},
		},
		Optimizer: []NamedTensor{
			{Name: "action_net.weight.exp_avg", Shape: []int{2, 2}, F32: f32(4, 1e-3)},
			{Name: "action_net.weight.step", Shape: []int{}, I64: []int64{32}},
		},
		State: []byte(`{"timesteps":2048}`),
	}
}

// testdata/ckpt-v1 is a schema-1 checkpoint kept in the repository: this build must read
// it (old checkpoints stay loadable) and must write exactly its bytes (the format has not
// drifted). Regenerate with -update-ckpt only for a deliberate format change, with a new
// schema_version.
func TestCheckpointGolden(t *testing.T) {
	golden := filepath.Join("testdata", "ckpt-v1")
	if *updateCkpt {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, golden, goldenCheckpoint())
	}
	assertCheckpoint(t, mustRead(t, golden), goldenCheckpoint())
	dir := filepath.Join(t.TempDir(), "ck")
	mustWrite(t, dir, goldenCheckpoint())
	for _, name := range []string{ModelFile, OptimizerFile, StateFile, MetadataFile} {
		want, errW := os.ReadFile(filepath.Join(golden, name))
		got, errG := os.ReadFile(filepath.Join(dir, name))
		if errW != nil || errG != nil {
			t.Fatal(errW, errG)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from testdata/ckpt-v1/%s (format drift? rerun with -update-ckpt only with a schema_version bump)", name, name)
		}
	}
}
