package ppo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hybridtrain/internal/tfevents"
)

// tagStep is where TensorBoard draws a value.
type tagStep struct {
	tag  string
	step int64
}

// runEvents is what a run's event files hold.
type runEvents struct {
	files   int
	scalars map[tagStep][]float32             // every value recorded: more than one is a duplicate
	histos  map[tagStep][]*tfevents.Histogram // likewise
}

// readEvents reads every event file of runDir's tb/, in name order as TensorBoard does. Each
// must start with the file-version event and read whole to its end.
func readEvents(t *testing.T, runDir string) runEvents {
	t.Helper()
	dir := filepath.Join(runDir, TensorBoardDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ev := runEvents{scalars: map[tagStep][]float32{}, histos: map[tagStep][]*tfevents.Histogram{}}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "events.out.tfevents.") {
			t.Fatalf("%s holds %s, which is not an event file", dir, e.Name())
		}
		ev.files++
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		r := tfevents.NewReader(bytes.NewReader(data))
		for i := 0; ; i++ {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			ev1, err := tfevents.ParseEvent(rec)
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			if (i == 0) != (ev1.FileVersion == tfevents.FileVersion) {
				t.Fatalf("%s: event %d has file_version %q; want %q in the first event only", e.Name(), i, ev1.FileVersion, tfevents.FileVersion)
			}
			for _, v := range ev1.Summary {
				k := tagStep{v.Tag, ev1.Step}
				if v.Histo != nil {
					ev.histos[k] = append(ev.histos[k], v.Histo)
				} else {
					ev.scalars[k] = append(ev.scalars[k], v.SimpleValue)
				}
			}
		}
	}
	return ev
}

// metricsValues returns every numeric value of a run's metrics.jsonl (booleans as 0 and 1)
// by key and the line's time/total_timesteps.
func metricsValues(t *testing.T, runDir string) map[tagStep]float64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(runDir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	out := map[tagStep]float64{}
	for i, l := range bytes.Split(bytes.TrimSpace(data), []byte{'\n'}) {
		var obj map[string]any
		if err := json.Unmarshal(l, &obj); err != nil {
			t.Fatalf("metrics line %d: %v", i+1, err)
		}
		step := int64(obj["time/total_timesteps"].(float64))
		for k, v := range obj {
			var x float64
			switch v := v.(type) {
			case float64:
				x = v
			case bool:
				if v {
					x = 1
				}
			default:
				continue // "kind"
			}
			out[tagStep{k, step}] = x
		}
	}
	return out
}

// TestEventFileRecordsEveryMetric: after a Phase 3 run with evaluations, every numeric
// value of metrics.jsonl is in the event file once, under its key at its step, equal to
// the value as float32 (what TensorBoard stores); the event file has no scalar metrics.jsonl
// lacks; and each rollout step has the two histograms.
func TestEventFileRecordsEveryMetric(t *testing.T) {
	c := toyConfig()
	c.NEnvs, c.NSteps, c.BatchSize = 2, 64, 32 // boundaries every 128 timesteps
	c.TotalTimesteps = 512
	c.EvalFreq, c.NEvalEpisodes = 256, 2
	spec := toySpec{kind: toyContext, baseDim: 4, nAct: 4, epLen: 50}
	res := train(t, toySetup(t, spec, c))

	want := metricsValues(t, res.RunDir)
	ev := readEvents(t, res.RunDir)
	if ev.files != 1 {
		t.Errorf("%d event files, want 1", ev.files)
	}
	for _, k := range []string{"time/fps", "train/early_stop", "adapter/llm_features_learned", "eval/mean_reward", "eval/best"} {
		if _, ok := want[tagStep{k, 256}]; !ok {
			t.Fatalf("metrics.jsonl has no %s at 256: the run does not exercise what this test checks", k)
		}
	}
	for k, v := range want {
		got := ev.scalars[k]
		if len(got) != 1 || got[0] != float32(v) {
			t.Errorf("%s at step %d: event file has %v, want [%v] (metrics.jsonl's %v as float32)", k.tag, k.step, got, float32(v), v)
		}
	}
	for k := range ev.scalars {
		if _, ok := want[k]; !ok {
			t.Errorf("event file has %s at step %d, which metrics.jsonl does not", k.tag, k.step)
		}
	}

	// 4 context features x 4 base outputs; 2 envs x 64 steps of actions.
	for step := int64(128); step <= 512; step += 128 {
		for tag, num := range map[string]float64{HistActionProb: 128, HistContextWeights: 16} {
			hs := ev.histos[tagStep{tag, step}]
			if len(hs) != 1 || hs[0].Num != num {
				t.Errorf("%s at %d: %d histograms, want one of %v values", tag, step, len(hs), num)
				continue
			}
			if tag == HistActionProb && !(hs[0].Min > 0 && hs[0].Max <= 1) {
				t.Errorf("%s at %d: values in [%v, %v], want probabilities in (0, 1]", tag, step, hs[0].Min, hs[0].Max)
			}
		}
	}
	if len(ev.histos) != 8 {
		t.Errorf("%d histograms, want 2 at each of the 4 rollout steps", len(ev.histos))
	}
}

// TestResumeAfterKillKeepsEventsOnce: a run killed after its checkpoint at 384 timesteps
// (its event file holds records up to 384, then a torn record) and resumed from its
// periodic checkpoint at 256 ends with event files that hold each tag at each step once,
// with the values of the run that was never stopped (apart from the wall clock).
func TestResumeAfterKillKeepsEventsOnce(t *testing.T) {
	spec := toySpec{kind: toyInvalid, nAct: 6, valid: 3, epLen: 30}
	c := fullConfig() // boundaries every 128 timesteps, periodic checkpoints every 128, keep 2
	straight := train(t, toySetup(t, spec, c))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := toySetup(t, spec, c)
	if _, err := Train(ctx, s, &cancelAt{ts: 384, cancel: cancel}); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("killed run: %v, want ErrInterrupted", err)
	}
	// The kill: a record torn half-way after the last whole one.
	files, _ := filepath.Glob(filepath.Join(s.RunDir, TensorBoardDir, "events.out.tfevents.*"))
	if len(files) != 1 {
		t.Fatalf("event files %v, want 1", files)
	}
	rec, err := tfevents.AppendEvent(nil, &tfevents.Event{Step: 512, Summary: []tfevents.Value{{Tag: "train/loss", SimpleValue: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	torn := tfevents.AppendRecord(nil, rec)
	f, err := os.OpenFile(files[0], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(torn[:len(torn)/2]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if before := readEventsUpToTear(t, files[0]); !slices.Contains(before, 384) {
		t.Fatalf("the killed run's event file has steps %v, want 384 among them (records past the checkpoint resumed from)", before)
	}

	r := toySetup(t, spec, c)
	r.RunDir, r.ResumeDir = "", filepath.Join(s.RunDir, CheckpointsDir, periodicName(256))
	resumed := train(t, r)

	got, want := readEvents(t, resumed.RunDir), readEvents(t, straight.RunDir)
	if got.files != 2 {
		t.Errorf("%d event files after the resume, want 2 (the killed process's, truncated, and the resumed one's)", got.files)
	}
	wall := func(tag string) bool { return slices.Contains(WallClockKeys, tag) }
	for k, vs := range got.scalars {
		if len(vs) != 1 {
			t.Errorf("%s at step %d recorded %d times: %v", k.tag, k.step, len(vs), vs)
		} else if w := want.scalars[k]; !wall(k.tag) && (len(w) != 1 || w[0] != vs[0]) {
			t.Errorf("%s at step %d = %v, the uninterrupted run's %v", k.tag, k.step, vs[0], w)
		}
	}
	for k, hs := range got.histos {
		if len(hs) != 1 {
			t.Errorf("histogram %s at step %d recorded %d times", k.tag, k.step, len(hs))
		}
	}
	if len(got.scalars) != len(want.scalars) || len(got.histos) != len(want.histos) {
		t.Errorf("%d scalars and %d histograms, the uninterrupted run's %d and %d",
			len(got.scalars), len(got.histos), len(want.scalars), len(want.histos))
	}
}

// readEventsUpToTear returns the steps of the whole summary records of an event file.
func readEventsUpToTear(t *testing.T, path string) []int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var steps []int64
	r := tfevents.NewReader(bytes.NewReader(data))
	for {
		rec, err := r.Next()
		if err != nil {
			return steps
		}
		if e, err := tfevents.ParseEvent(rec); err == nil && len(e.Summary) > 0 {
			steps = append(steps, e.Step)
		}
	}
}

// TestEventsUpTo keeps the records at or before the step and stops at a damaged record.
func TestEventsUpTo(t *testing.T) {
	var file []byte
	for _, e := range []tfevents.Event{
		{FileVersion: tfevents.FileVersion},
		{Step: 100, Summary: []tfevents.Value{{Tag: "a", SimpleValue: 1}}},
		{Step: 200, Summary: []tfevents.Value{{Tag: "a", SimpleValue: 2}}},
		{Step: 300, Summary: []tfevents.Value{{Tag: "a", SimpleValue: 3}}},
		{Step: 150, Summary: []tfevents.Value{{Tag: "b", SimpleValue: 4}}}, // steps need not be ordered
	} {
		rec, err := tfevents.AppendEvent(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		file = tfevents.AppendRecord(file, rec)
	}
	steps := func(data []byte) (out []int64) {
		r := tfevents.NewReader(bytes.NewReader(data))
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatalf("kept records: %v", err)
			}
			e, _ := tfevents.ParseEvent(rec)
			out = append(out, e.Step)
		}
	}
	if got := steps(eventsUpTo(file, 200)); !slices.Equal(got, []int64{0, 100, 200, 150}) {
		t.Errorf("up to 200: steps %v, want [0 100 200 150]", got)
	}
	if got := eventsUpTo(file, math.MaxInt64); !bytes.Equal(got, file) {
		t.Errorf("up to the last step: %d bytes, want the file's %d unchanged", len(got), len(file))
	}
	damaged := bytes.Clone(file)
	damaged[len(damaged)-1] ^= 1 // the last record's data checksum
	if got := steps(eventsUpTo(damaged, math.MaxInt64)); !slices.Equal(got, []int64{0, 100, 200, 300}) {
		t.Errorf("damaged last record: steps %v, want [0 100 200 300]", got)
	}
}

// TestTensorBoardOff: with the key off a run writes no tb/.
func TestTensorBoardOff(t *testing.T) {
	c := toyConfig()
	c.TotalTimesteps = 512 // one rollout
	c.TensorBoard = false
	res := train(t, toySetup(t, toySpec{kind: toyIdentity, nAct: 4, epLen: 50}, c))
	if _, err := os.Stat(filepath.Join(res.RunDir, TensorBoardDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tensorboard off: stat tb/ = %v, want it absent", err)
	}
}
