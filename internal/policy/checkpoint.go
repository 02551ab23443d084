package policy

// The checkpoint container: a directory of named tensors and metadata, written atomically
// and verified by hash on load (docs/checkpoints.md). It knows nothing of the network: the
// policy fills Model with its parameters, the trainer adds its normalisers and state.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"hybridtrain/internal/atomicfile"
)

// ErrCheckpoint is wrapped by every checkpoint error (missing, corrupt, incompatible) so
// that callers can map it to exit code 4.
var ErrCheckpoint = errors.New("checkpoint")

// CheckpointSchemaVersion is the metadata.json schema this build writes and the only one
// it reads. Bump it when a file, a tensor name or a field changes meaning.
const CheckpointSchemaVersion = 1

// The files of a checkpoint directory.
const (
	ModelFile     = "model.safetensors"     // weights (F32) and normalisers (F64)
	OptimizerFile = "optimizer.safetensors" // Adam's moments and step counts
	StateFile     = "state.json"            // the trainer's resume state; absent when empty
	MetadataFile  = "metadata.json"         // Metadata, with the SHA-256 of every other file
)

// safetensorsMeta is the __metadata__ of both tensor files: "format": "pt" tells
// Hugging Face loaders that the tensors are PyTorch's.
var safetensorsMeta = map[string]string{"format": "pt"}

// NamedTensor is a tensor in a checkpoint file: exactly one of F32, F64, I64 is non-nil
// (a non-nil empty slice for a tensor with no elements), holding the elements in row-major
// order; Shape is in PyTorch's orientation ([out, in] for a weight), empty for a scalar.
type NamedTensor struct {
	Name  string
	Shape []int
	F32   []float32
	F64   []float64
	I64   []int64 // counters, e.g. Adam's step count
}

// DType is the tensor's element type, or "" when it holds no data slice.
func (t NamedTensor) DType() DType {
	switch {
	case t.F32 != nil:
		return DTypeF32
	case t.F64 != nil:
		return DTypeF64
	case t.I64 != nil:
		return DTypeI64
	}
	return ""
}

// Len is the number of elements the shape describes (1 for a scalar). It does not check
// for overflow; CheckTensor and the writer do.
func (t NamedTensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// dataLen is the length of the data slice, whichever it is.
func (t NamedTensor) dataLen() int { return len(t.F32) + len(t.F64) + len(t.I64) }

// checkData checks that t holds exactly one data slice whose length matches its shape.
func (t NamedTensor) checkData() (DType, error) {
	set := 0
	for _, isSet := range []bool{t.F32 != nil, t.F64 != nil, t.I64 != nil} {
		if isSet {
			set++
		}
	}
	switch set {
	case 0:
		return "", stErrorf("tensor %q: %v", t.Name, errNoData)
	case 1:
	default:
		return "", stErrorf("tensor %q: more than one of F32, F64, I64 is set", t.Name)
	}
	n, ok := shapeLen(t.Shape)
	if !ok {
		return "", stErrorf("tensor %q: shape %v has a negative dimension or too many elements", t.Name, t.Shape)
	}
	if n != t.dataLen() {
		return "", stErrorf("tensor %q: shape %v has %d elements, data has %d", t.Name, t.Shape, n, t.dataLen())
	}
	return t.DType(), nil
}

// shapeLen is the product of shape, false when a dimension is negative or it overflows.
func shapeLen(shape []int) (int, bool) {
	if slices.Contains(shape, 0) {
		return 0, !slices.ContainsFunc(shape, func(d int) bool { return d < 0 })
	}
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > uint64(maxInt) {
			return 0, false
		}
		n = lo
	}
	return int(n), true
}

const maxInt = int(^uint(0) >> 1)

// CheckTensor checks that t has exactly the given shape and as many elements as it says;
// the error names the tensor and both shapes.
func CheckTensor(t NamedTensor, shape ...int) error {
	if !slices.Equal(t.Shape, shape) {
		return fmt.Errorf("%w: tensor %q: shape %v, want %v", ErrCheckpoint, t.Name, t.Shape, shape)
	}
	if _, err := t.checkData(); err != nil {
		return err
	}
	return nil
}

// CheckTensorType is CheckTensor that also requires the element type dt.
func CheckTensorType(t NamedTensor, dt DType, shape ...int) error {
	if got := t.DType(); got != dt {
		if got == "" {
			got = "none"
		}
		return fmt.Errorf("%w: tensor %q: dtype %s, want %s", ErrCheckpoint, t.Name, got, dt)
	}
	return CheckTensor(t, shape...)
}

// Arch is the network architecture recorded in metadata.json.
type Arch struct {
	PiLayers   []int  `json:"pi_layers"`
	VfLayers   []int  `json:"vf_layers"`
	Activation string `json:"activation"`
	Adapter    bool   `json:"adapter"`
}

// Metadata is metadata.json. The container fills SchemaVersion, CreatedAt (when empty) and
// Files; the other fields are the caller's, checked by the policy and the trainer.
type Metadata struct {
	SchemaVersion int               `json:"schema_version"`
	Phase         int               `json:"phase"`
	Market        string            `json:"market"`
	Instrument    any               `json:"instrument,omitempty"`
	ObsDim        int               `json:"obs_dim"`
	BaseObsDim    int               `json:"base_obs_dim"`
	NumActions    int               `json:"num_actions"`
	Arch          Arch              `json:"architecture"`
	Timesteps     int64             `json:"timesteps"`
	Seed          uint64            `json:"seed"`
	Config        any               `json:"config,omitempty"`
	InitFrom      any               `json:"init_from,omitempty"` // the checkpoint a fine-tuned run started from (the trainer's record)
	ToolVersion   string            `json:"tool_version"`
	CreatedAt     string            `json:"created_at"` // RFC 3339, UTC
	Files         map[string]string `json:"sha256"`     // file name -> hex SHA-256
}

// Checkpoint is a checkpoint directory's content: model.safetensors (Model),
// optimizer.safetensors (Optimizer), state.json (State, the caller's resume state) and
// metadata.json (Meta). Callers extend Model with their own tensors (the normalisers).
type Checkpoint struct {
	Meta      Metadata
	Model     []NamedTensor
	Optimizer []NamedTensor
	State     []byte // JSON; empty means no state.json (a model-only checkpoint)
}

// Tensor returns the model tensor called name.
func (c *Checkpoint) Tensor(name string) (NamedTensor, bool) { return findTensor(c.Model, name) }

// OptimizerTensor returns the optimizer tensor called name.
func (c *Checkpoint) OptimizerTensor(name string) (NamedTensor, bool) {
	return findTensor(c.Optimizer, name)
}

func findTensor(ts []NamedTensor, name string) (NamedTensor, bool) {
	for _, t := range ts {
		if t.Name == name {
			return t, true
		}
	}
	return NamedTensor{}, false
}

// CheckpointError is a checkpoint that cannot be written or read: Dir is the checkpoint
// directory, File the file at fault (empty for the directory itself). It matches
// ErrCheckpoint and Err under errors.Is.
type CheckpointError struct {
	Dir  string
	File string
	Err  error
}

func (e *CheckpointError) Error() string {
	if e.File == "" {
		return "checkpoint " + e.Dir + ": " + e.Err.Error()
	}
	return "checkpoint " + e.Dir + ": " + e.File + ": " + e.Err.Error()
}

// Unwrap returns ErrCheckpoint and the cause.
func (e *CheckpointError) Unwrap() []error { return []error{ErrCheckpoint, e.Err} }

// notExistError is a message that matches fs.ErrNotExist without repeating its text.
type notExistError string

func (e notExistError) Error() string        { return string(e) }
func (e notExistError) Is(target error) bool { return target == fs.ErrNotExist }

func ckErr(dir, file string, err error) error {
	return &CheckpointError{Dir: dir, File: file, Err: err}
}

// ---- writing ----

// errCrash, returned by failpoint, makes WriteCheckpoint stop where it is without cleaning
// up, as a killed process would.
var errCrash = errors.New("simulated crash")

// failpoint, when non-nil (tests only), is called at each step of WriteCheckpoint with the
// step's name; an error fails the write at that step.
var failpoint func(step string) error

// WriteCheckpoint writes c to dir atomically. The files go to a temporary sibling
// directory (.NAME.tmp), each fsynced, then the directory; an existing dir is renamed
// aside (.NAME.old), the new one renamed in, the parent fsynced and the old one removed. A
// crash at any point leaves dir holding the old or the new checkpoint complete, or (between
// the two renames) dir missing and the old one complete at .NAME.old, which ReadCheckpoint
// reads and the next WriteCheckpoint restores before writing. The parent directories are
// created if needed. An existing dir that is not a checkpoint (no metadata.json) and not
// empty is an error, never replaced. c is not modified; metadata.json gets schema_version,
// created_at (now, when c.Meta.CreatedAt is empty) and the SHA-256 of every other file.
func WriteCheckpoint(dir string, c *Checkpoint) (err error) {
	if c == nil {
		return ckErr(dir, "", errors.New("nil checkpoint"))
	}
	dir = filepath.Clean(dir)
	base := filepath.Base(dir)
	if base == "." || base == ".." || base == string(filepath.Separator) {
		return ckErr(dir, "", errors.New("not a directory name a checkpoint can be renamed to"))
	}
	files, err := encodeCheckpoint(dir, c)
	if err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return ckErr(dir, "", err)
	}
	if err := recoverInterrupted(dir); err != nil {
		return err
	}
	if err := checkReplaceable(dir); err != nil {
		return err
	}

	tmp, old := sibling(dir, "tmp"), sibling(dir, "old")
	crashed := false
	step := func(name string) error {
		if failpoint == nil {
			return nil
		}
		err := failpoint(name)
		crashed = errors.Is(err, errCrash)
		return err
	}
	defer func() {
		if err != nil && !crashed {
			os.RemoveAll(tmp) // best effort: the next write removes it too
		}
	}()

	if err := step("create temporary directory"); err != nil {
		return ckErr(dir, "", err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return ckErr(dir, "", fmt.Errorf("create temporary directory: %w", err))
	}
	for _, f := range files {
		if err := writeFileSync(filepath.Join(tmp, f.name), f.data, step); err != nil {
			return ckErr(dir, f.name, err)
		}
	}
	if err := step("sync temporary directory"); err != nil {
		return ckErr(dir, "", err)
	}
	if err := atomicfile.SyncDir(tmp); err != nil {
		return ckErr(dir, "", err)
	}

	_, statErr := os.Lstat(dir)
	exists := statErr == nil
	if exists {
		if err := step("move old aside"); err != nil {
			return ckErr(dir, "", err)
		}
		if err := os.Rename(dir, old); err != nil {
			return ckErr(dir, "", fmt.Errorf("move the previous checkpoint aside: %w", err))
		}
	}
	if err := step("move new in"); err != nil {
		if exists && !crashed {
			os.Rename(old, dir) // put the previous checkpoint back; recovery does it otherwise
		}
		return ckErr(dir, "", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if exists {
			os.Rename(old, dir)
		}
		return ckErr(dir, "", fmt.Errorf("rename %s into place: %w", tmp, err))
	}
	if err := step("sync parent"); err != nil {
		return ckErr(dir, "", err)
	}
	if err := atomicfile.SyncDir(parent); err != nil {
		return ckErr(dir, "", err)
	}
	if exists {
		if err := step("remove old"); err != nil {
			return ckErr(dir, "", err)
		}
		// The new checkpoint is in place and durable: a failure to remove the old copy is
		// not a failed write, and the next write retries the removal.
		os.RemoveAll(old)
	}
	return nil
}

// sibling is the hidden working name next to dir: .NAME.tmp or .NAME.old.
func sibling(dir, kind string) string {
	return filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+"."+kind)
}

// recoverInterrupted undoes what a write killed midway left behind: when dir is missing
// and the previous checkpoint sits at .NAME.old (a crash between the two renames), it is
// renamed back (the interrupted write was never acknowledged, so the old checkpoint is the
// current one); leftover .NAME.tmp and .NAME.old are removed.
func recoverInterrupted(dir string) error {
	tmp, old := sibling(dir, "tmp"), sibling(dir, "old")
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Lstat(old); err == nil {
			if err := os.Rename(old, dir); err != nil {
				return ckErr(dir, "", fmt.Errorf("restore the checkpoint left at %s by an interrupted write: %w", old, err))
			}
			if err := atomicfile.SyncDir(filepath.Dir(dir)); err != nil {
				return ckErr(dir, "", err)
			}
		}
	}
	for _, p := range []string{tmp, old} {
		if err := os.RemoveAll(p); err != nil {
			return ckErr(dir, "", fmt.Errorf("remove %s left by an interrupted write: %w", p, err))
		}
	}
	return nil
}

// checkReplaceable refuses to replace something that is not a checkpoint: a typo such as
// the run directory for a checkpoint directory must not delete a run.
func checkReplaceable(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return ckErr(dir, "", err)
	}
	if !fi.IsDir() {
		return ckErr(dir, "", errors.New("exists and is not a directory"))
	}
	if _, err := os.Lstat(filepath.Join(dir, MetadataFile)); err == nil {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ckErr(dir, "", err)
	}
	if len(entries) > 0 {
		return ckErr(dir, "", fmt.Errorf("exists, is not empty and has no %s: refusing to replace it", MetadataFile))
	}
	return nil
}

type fileData struct {
	name string
	data []byte
}

// encodeCheckpoint renders every file of c, metadata.json last.
func encodeCheckpoint(dir string, c *Checkpoint) ([]fileData, error) {
	if len(c.Model) == 0 {
		return nil, ckErr(dir, ModelFile, errors.New("no model tensors"))
	}
	model, err := EncodeSafetensors(c.Model, safetensorsMeta)
	if err != nil {
		return nil, ckErr(dir, ModelFile, err)
	}
	opt, err := EncodeSafetensors(c.Optimizer, safetensorsMeta)
	if err != nil {
		return nil, ckErr(dir, OptimizerFile, err)
	}
	files := []fileData{{ModelFile, model}, {OptimizerFile, opt}}
	if len(c.State) > 0 {
		if !json.Valid(c.State) {
			return nil, ckErr(dir, StateFile, errors.New("state is not valid JSON"))
		}
		files = append(files, fileData{StateFile, c.State})
	}

	meta := c.Meta
	switch meta.SchemaVersion {
	case 0:
		meta.SchemaVersion = CheckpointSchemaVersion
	case CheckpointSchemaVersion:
	default:
		return nil, ckErr(dir, MetadataFile, fmt.Errorf("schema_version %d: this build writes %d", meta.SchemaVersion, CheckpointSchemaVersion))
	}
	if meta.CreatedAt == "" {
		meta.CreatedAt = time.Now().UTC().Format(time.RFC3339)
	}
	meta.Files = make(map[string]string, len(files))
	for _, f := range files {
		sum := sha256.Sum256(f.data)
		meta.Files[f.name] = hex.EncodeToString(sum[:])
	}
	mj, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, ckErr(dir, MetadataFile, err)
	}
	return append(files, fileData{MetadataFile, append(mj, '\n')}), nil
}

// writeFileSync creates path with data and fsyncs it. At a failpoint it writes half the
// data first, as an interrupted write would.
func writeFileSync(path string, data []byte, step func(string) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := step("write " + filepath.Base(path)); err != nil {
		f.Write(data[:len(data)/2])
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ---- reading ----

// ReadCheckpoint reads and verifies a checkpoint directory: metadata.json present and
// parseable, schema_version supported, every file listed in its sha256 present with that
// hash, no unlisted state.json, tensors well-formed. Errors wrap ErrCheckpoint and name
// the file or field at fault. When dir is missing but an interrupted write left the
// previous checkpoint at .NAME.old, that one is read (and nothing is modified).
func ReadCheckpoint(dir string) (*Checkpoint, error) {
	dir = filepath.Clean(dir)
	src := dir
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if fo, oerr := os.Stat(sibling(dir, "old")); oerr == nil && fo.IsDir() {
			src, fi, err = sibling(dir, "old"), fo, nil
		} else {
			return nil, ckErr(dir, "", notExistError("directory does not exist"))
		}
	}
	if err != nil {
		return nil, ckErr(dir, "", err)
	}
	if !fi.IsDir() {
		return nil, ckErr(dir, "", errors.New("not a directory"))
	}

	mj, err := os.ReadFile(filepath.Join(src, MetadataFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ckErr(dir, MetadataFile, notExistError("missing (not a checkpoint directory?)"))
		}
		return nil, ckErr(dir, MetadataFile, err)
	}
	meta, err := decodeMetadata(mj)
	if err != nil {
		return nil, ckErr(dir, MetadataFile, err)
	}

	c := &Checkpoint{Meta: meta}
	for _, name := range slices.Sorted(maps.Keys(meta.Files)) {
		want := meta.Files[name]
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, ckErr(dir, name, notExistError("missing (listed in "+MetadataFile+")"))
			}
			return nil, ckErr(dir, name, err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != want {
			return nil, ckErr(dir, name, fmt.Errorf("sha256 mismatch (%s says %s, file is %s)", MetadataFile, want, got))
		}
		switch name {
		case ModelFile:
			c.Model, _, err = DecodeSafetensors(data)
		case OptimizerFile:
			c.Optimizer, _, err = DecodeSafetensors(data)
		case StateFile:
			if !json.Valid(data) {
				err = errors.New("not valid JSON")
			}
			c.State = data
		}
		if err != nil {
			return nil, ckErr(dir, name, err)
		}
	}
	if _, ok := meta.Files[StateFile]; !ok {
		if _, err := os.Lstat(filepath.Join(src, StateFile)); err == nil {
			return nil, ckErr(dir, StateFile, fmt.Errorf("present but not listed in %s sha256", MetadataFile))
		}
	}
	if len(c.Model) == 0 {
		return nil, ckErr(dir, ModelFile, errors.New("no model tensors"))
	}
	return c, nil
}

// decodeMetadata parses metadata.json and checks the fields the container owns.
func decodeMetadata(data []byte) (Metadata, error) {
	var m Metadata
	if err := json.Unmarshal(data, &m); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := lineCol(data, se.Offset)
			return m, fmt.Errorf("line %d, column %d: %w", line, col, err)
		case errors.As(err, &te) && te.Field != "":
			return m, fmt.Errorf("%s: want %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return m, err
	}
	switch m.SchemaVersion {
	case CheckpointSchemaVersion:
	case 0:
		return m, errors.New("schema_version missing")
	default:
		return m, fmt.Errorf("schema_version %d not supported (this build reads %d)", m.SchemaVersion, CheckpointSchemaVersion)
	}
	if m.Files == nil {
		return m, errors.New("sha256 missing")
	}
	for _, name := range []string{ModelFile, OptimizerFile} {
		if _, ok := m.Files[name]; !ok {
			return m, fmt.Errorf("sha256 has no entry for %s", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Files)) {
		switch name {
		case ModelFile, OptimizerFile, StateFile:
		default:
			return m, fmt.Errorf("sha256 lists %q, not a file of schema_version %d", name, CheckpointSchemaVersion)
		}
		if h := m.Files[name]; len(h) != 2*sha256.Size || strings.ToLower(h) != h || !isHex(h) {
			return m, fmt.Errorf("sha256[%q]: %q is not 64 lowercase hex digits", name, h)
		}
	}
	return m, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// lineCol converts a byte offset (as json.SyntaxError reports it, just past the fault)
// into a 1-based line and column.
func lineCol(data []byte, off int64) (int, int) {
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n') - 1
	return line, max(col, 1)
}
