package main

import (
	"encoding/json"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/spf13/pflag"

	"hybridtrain/configs"
	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// trainFlags returns train's real flag set with args parsed.
func trainFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	cmd, _, err := newRootCmd(newTestApp(t).app).Find([]string{"train"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	return cmd.Flags()
}

// layeredFS is the real configs with a custom instrument XYZ in the phase defaults and an
// overlay that sets keys the layers above override.
func layeredFS(t *testing.T) fs.FS {
	t.Helper()
	phase3, err := fs.ReadFile(configs.FS, phase3File)
	if err != nil {
		t.Fatal(err)
	}
	phase2, err := fs.ReadFile(configs.FS, phase2File)
	if err != nil {
		t.Fatal(err)
	}
	p3 := strings.Replace(string(phase3), "instruments: {}", `instruments:
  XYZ:
    point_value: 10
    tick_size: 0.5
    commission_per_side: 1.0
    slippage_ticks: 1
    typical_price: 1000
    timezone: America/Chicago
    data_session: ["08:30-15:59"]
    entry_start: "09:00"
    flatten_time: "15:59"`, 1)
	if p3 == string(phase3) {
		t.Fatal("phase3.yaml has no 'instruments: {}' line to replace")
	}
	return fstest.MapFS{
		phase3File: {Data: []byte(p3)},
		phase2File: {Data: phase2},
		testFile: {Data: []byte(`n_envs: 2
n_steps: 512
seed: 11
plan: 75k
instruments:
  XYZ:
    tick_size: 0.25
`)},
	}
}

// TestPrecedence checks flag > environment > config file > test overlay > phase defaults,
// key by key, with the nested instruments merged field by field.
func TestPrecedence(t *testing.T) {
	dir := inTempDir(t)
	userFile := filepath.Join(dir, "user.yaml")
	writeFile(t, userFile, `market: xyz
n_envs: 3
seed: 12
plan: 100k
gamma: 0.95
instruments:
  XYZ:
    commission_per_side: 2.0
  NQ:
    commission_per_side: 1.23
`)
	t.Setenv("HYBRIDTRAIN_N_ENVS", "4")
	t.Setenv("HYBRIDTRAIN_SEED", "13")
	t.Setenv("HYBRIDTRAIN_GAMMA", "0.9")

	res, err := loadSettings(layeredFS(t), configRequest{
		flags: trainFlags(t, "--n-envs", "5"), configFile: userFile, testMode: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := res.settings
	overlay := "configs/test.yaml (built in)"
	defaults := "configs/phase3.yaml (built in)"
	cases := []struct {
		key       string
		got, want any
		source    string
	}{
		{"n_envs", s.PPO.NEnvs, 5, "--n-envs"},                                // every layer sets it
		{"seed", s.PPO.Seed, uint64(13), "$HYBRIDTRAIN_SEED"},                 // all but the flag
		{"gamma", s.PPO.Gamma, 0.9, "$HYBRIDTRAIN_GAMMA"},                     // defaults, file, env
		{"plan", s.Env.Plan, "100k", userFile},                                // defaults, overlay, file
		{"market", s.Market, "XYZ", userFile},                                 // upper-cased
		{"n_steps", s.PPO.NSteps, 512, overlay},                               // defaults, overlay
		{"ent_coef", s.PPO.EntCoef, 0.01, defaults},                           // defaults only
		{"total_timesteps", s.PPO.TotalTimesteps, int64(5_000_000), defaults}, // not in this overlay
	}
	for _, tc := range cases {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: got %v (%T), want %v (%T)", tc.key, tc.got, tc.got, tc.want, tc.want)
		}
		k, _ := lookupKey(configKeys(), tc.key)
		if got := sourceOf(k, res.layers, trainFlags(t, "--n-envs", "5")); got != tc.source {
			t.Errorf("%s: source %q, want %q", tc.key, got, tc.source)
		}
	}

	// Nested: each field of XYZ from the highest layer that sets it.
	xyz := s.Instruments["XYZ"]
	if xyz.TickSize != 0.25 { // overlay over defaults
		t.Errorf("instruments.XYZ.tick_size: got %v, want 0.25 (test overlay)", xyz.TickSize)
	}
	if xyz.CommissionPerSide != 2.0 { // file over defaults
		t.Errorf("instruments.XYZ.commission_per_side: got %v, want 2.0 (file)", xyz.CommissionPerSide)
	}
	if xyz.PointValue != 10 || xyz.Timezone != "America/Chicago" || !slices.Equal(xyz.DataSession, []string{"08:30-15:59"}) {
		t.Errorf("instruments.XYZ: point_value %v, timezone %q, data_session %v; want 10, America/Chicago, [08:30-15:59] (defaults)",
			xyz.PointValue, xyz.Timezone, xyz.DataSession)
	}
	// A built-in overridden in part keeps its other fields (NQ: $20/point, tick 0.25).
	nq := s.Instruments["NQ"]
	if nq.CommissionPerSide != 1.23 || nq.PointValue != 20 || nq.TickSize != 0.25 || nq.Timezone != "America/New_York" {
		t.Errorf("instruments.NQ: got %+v, want commission 1.23 over the built-in NQ", nq)
	}
	inst, err := s.instrument()
	if err != nil {
		t.Fatalf("market XYZ: %v", err)
	}
	if inst.Symbol != "XYZ" || inst.TickValue() != 2.5 { // 10 $/point x 0.25
		t.Errorf("instrument: got %s with tick value %v, want XYZ with 2.5", inst.Symbol, inst.TickValue())
	}

	// Without --test the overlay is not applied.
	res, err = loadSettings(layeredFS(t), configRequest{flags: trainFlags(t), configFile: userFile})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.settings.PPO.NSteps; got != 2048 {
		t.Errorf("n_steps without --test: got %d, want 2048", got)
	}
	if got := res.settings.Instruments["XYZ"].TickSize; got != 0.5 {
		t.Errorf("instruments.XYZ.tick_size without --test: got %v, want 0.5", got)
	}
}

// TestLocalConfigFile: ./hybridtrain.yaml is read when --config is not given, except by
// `test`; --config replaces it.
func TestLocalConfigFile(t *testing.T) {
	inTempDir(t)
	writeFile(t, localConfigFile, "n_epochs: 3\n")
	writeFile(t, "other.yaml", "n_epochs: 4\n")
	cases := []struct {
		name string
		req  configRequest
		want int
	}{
		{"train reads ./hybridtrain.yaml", configRequest{flags: trainFlags(t)}, 3},
		{"--config replaces it", configRequest{flags: trainFlags(t), configFile: "other.yaml"}, 4},
		{"test ignores it", configRequest{flags: trainFlags(t), ignoreLocal: true, testMode: true}, 10},
		{"test reads --config", configRequest{flags: trainFlags(t), ignoreLocal: true, configFile: "other.yaml"}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := loadSettings(configs.FS, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.settings.PPO.NEpochs; got != tc.want {
				t.Errorf("n_epochs: got %d, want %d", got, tc.want)
			}
		})
	}
}

// TestEmbeddedConfigs loads every configs/*.yaml through the real layers and validates it.
// The Phase 3 defaults must equal each package's DefaultConfig (an independent source), and
// the overlay the numbers of spec training.md section 5.
func TestEmbeddedConfigs(t *testing.T) {
	inTempDir(t)
	entries, err := fs.ReadDir(configs.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if _, err := readEmbedded(configs.FS, e.Name(), configKeys()); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}
	if want := []string{phase2File, phase3File, testFile}; !slices.Equal(names, want) {
		t.Errorf("configs: got %v, want %v (a new file needs a test here)", names, want)
	}

	t.Run("phase3", func(t *testing.T) {
		res, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t)})
		if err != nil {
			t.Fatal(err)
		}
		s := res.settings
		if !reflect.DeepEqual(s.Env, env.DefaultConfig()) {
			t.Errorf("environment keys:\n got %+v\nwant %+v", s.Env, env.DefaultConfig())
		}
		if !reflect.DeepEqual(s.PPO, ppo.DefaultConfig()) {
			t.Errorf("ppo keys:\n got %+v\nwant %+v", s.PPO, ppo.DefaultConfig())
		}
		if !reflect.DeepEqual(s.Policy, policy.DefaultConfig()) {
			t.Errorf("network keys:\n got %+v\nwant %+v", s.Policy, policy.DefaultConfig())
		}
		if s.Phase != 3 || s.Device != "auto" || s.Market != "" || len(s.Data) != 0 || s.Quiet || len(s.Instruments) != 0 {
			t.Errorf("run keys: phase %d, device %q, market %q, data %q, quiet %v, instruments %v",
				s.Phase, s.Device, s.Market, s.Data, s.Quiet, s.Instruments)
		}
	})
	t.Run("phase2", func(t *testing.T) {
		res, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t, "--phase", "2")})
		if err != nil {
			t.Fatal(err)
		}
		s := res.settings
		if s.Phase != 2 || !reflect.DeepEqual(s.Policy, policy.Phase2Config()) {
			t.Errorf("phase 2: phase %d, network %+v; want 2, %+v", s.Phase, s.Policy, policy.Phase2Config())
		}
		if !reflect.DeepEqual(s.PPO, ppo.DefaultConfig()) {
			t.Errorf("phase 2 ppo keys differ from the defaults: %+v", s.PPO)
		}
	})
	t.Run("test overlay", func(t *testing.T) {
		res, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t), testMode: true})
		if err != nil {
			t.Fatal(err)
		}
		// Spec training.md section 5.
		want := ppo.DefaultConfig()
		want.TotalTimesteps, want.NEnvs, want.NSteps = 50_000, 2, 1024
		want.EvalFreq, want.NEvalEpisodes, want.SaveFreq, want.AdapterWarmupSteps = 10_000, 3, 10_000, 5_000
		if !reflect.DeepEqual(res.settings.PPO, want) {
			t.Errorf("test mode:\n got %+v\nwant %+v", res.settings.PPO, want)
		}
	})
}

// TestBadConfigFiles: every unknown key or bad value names the key and the file; unknown
// keys come with the closest known one.
func TestBadConfigFiles(t *testing.T) {
	cases := []struct {
		name, content string
		want          []string // substrings of the error
	}{
		{"unknown key", "n_envs: 2\nn_env: 4\n", []string{`bad.yaml:2`, `unknown key "n_env"`, `did you mean "n_envs"`}},
		{"flag-only name", "non_interactive: true\n", []string{`unknown key "non_interactive"`}},
		{"unknown instrument field", "instruments:\n  XYZ:\n    tick: 0.25\n", []string{`bad.yaml:3`, `"instruments.XYZ.tick"`, `did you mean "tick_size"`}},
		{"instruments not a map", "instruments: 5\n", []string{`bad.yaml:1`, "instruments: want a mapping"}},
		{"bad symbol", "instruments:\n  \"1X\":\n    tick_size: 1\n", []string{`symbol "1X"`}},
		{"new instrument without all fields", "instruments:\n  XYZ:\n    tick_size: 0.25\n", []string{"instruments.XYZ: missing key point_value", "bad.yaml"}},
		{"bad instrument value", "instruments:\n  NQ:\n    tick_size: -1\n", []string{"instruments.NQ.tick_size", "want a number > 0", "bad.yaml"}},
		{"bad instrument time", "instruments:\n  NQ:\n    entry_start: \"9:30\"\n", []string{"instruments.NQ.entry_start"}},
		{"gamma out of range", "gamma: 1.5\n", []string{"gamma", "(0, 1]", "1.5", "bad.yaml"}},
		{"count below 1", "n_epochs: 0\n", []string{"n_epochs", ">= 1", "bad.yaml"}},
		{"coefficient below 0", "ent_coef: -0.1\n", []string{"ent_coef", ">= 0"}},
		{"not an integer", "n_steps: 12.5\n", []string{"n_steps", "want an integer", "12.5"}},
		{"not a number", "learning_rate: fast\n", []string{"learning_rate", "want a number", "fast"}},
		{"not a bool", "norm_obs: maybe\n", []string{"norm_obs", "true or false"}},
		{"bad enum", "lr_schedule: cosine\n", []string{"lr_schedule", "constant, linear", "cosine"}},
		{"bad plan", "plan: 60k\n", []string{"plan", "60k"}},
		{"bad device", "device: tpu\n", []string{"device", "tpu"}},
		{"bad layers", "pi_layers: [64, 0]\n", []string{"pi_layers", "position 2"}},
		{"batch over rollout", "n_envs: 2\nn_steps: 64\nbatch_size: 256\n", []string{"batch_size", "2 x 64 = 128", "256"}},
		{"bad zone", "data_tz: Mars/Olympus\n", []string{"data_tz"}},
		{"unknown market", "market: ZZZ\n", []string{`unknown market "ZZZ"`, "bad.yaml"}},
		{"contracts over the plan", "plan: 25k\ncontracts: 5\n", []string{"contracts"}},
		{"not a mapping", "- a\n- b\n", []string{"bad.yaml:1", "mapping"}},
		{"yaml syntax", "n_envs: [1\n", []string{"bad.yaml"}},
		{"duplicate key", "n_envs: 1\nn_envs: 2\n", []string{"bad.yaml", "n_envs"}},
		{"flag name as key", "timesteps: 1000\n", []string{`bad.yaml:1`, `unknown key "timesteps"`, `did you mean "total_timesteps"`}},
		{"kebab-case key", "n-envs: 4\n", []string{`unknown key "n-envs"`, `did you mean "n_envs"`}},
		{"key without a value", "n_envs: 2\ngamma:\n", []string{"bad.yaml:2", "gamma", "no value", "(0, 1]"}},
		{"string key without a value", "data: ~\n", []string{"bad.yaml:1", "data", "no value", `""`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inTempDir(t)
			writeFile(t, "bad.yaml", tc.content)
			_, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t), configFile: "bad.yaml"})
			if err == nil {
				t.Fatal("no error")
			}
			if code := exitCode(err, true); code != exitUsage {
				t.Errorf("exit code: got %d, want %d (%v)", code, exitUsage, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestBadEnvironmentValues: a bad HYBRIDTRAIN_* value names the key and the variable.
func TestBadEnvironmentValues(t *testing.T) {
	cases := []struct{ name, value, want string }{
		{"HYBRIDTRAIN_N_STEPS", "abc", "n_steps"},
		{"HYBRIDTRAIN_GAMMA", "0", "gamma"},
		{"HYBRIDTRAIN_NORMALIZE_ADVANTAGE", "yes please", "normalize_advantage"},
		{"HYBRIDTRAIN_PI_LAYERS", "64,x", "pi_layers"},
		{"HYBRIDTRAIN_SEED", "-1", "seed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inTempDir(t)
			t.Setenv(tc.name, tc.value)
			_, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t)})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range []string{tc.want, "$" + tc.name} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestEnvironmentValues: environment strings are converted strictly (layers as lists,
// integers written as floats or with underscores).
func TestEnvironmentValues(t *testing.T) {
	inTempDir(t)
	t.Setenv("HYBRIDTRAIN_PI_LAYERS", "[64, 32]")
	t.Setenv("HYBRIDTRAIN_TOTAL_TIMESTEPS", "2e6")
	t.Setenv("HYBRIDTRAIN_SAVE_FREQ", "25_000")
	t.Setenv("HYBRIDTRAIN_NORM_REWARD", "false")
	t.Setenv("HYBRIDTRAIN_N_ENV", "3") // a typo: warned about, not applied
	res, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t)})
	if err != nil {
		t.Fatal(err)
	}
	s := res.settings
	if !slices.Equal(s.Policy.PiLayers, []int{64, 32}) || s.PPO.TotalTimesteps != 2_000_000 || s.PPO.SaveFreq != 25_000 || s.PPO.NormReward {
		t.Errorf("got pi_layers %v, total_timesteps %d, save_freq %d, norm_reward %v; want [64 32], 2000000, 25000, false",
			s.Policy.PiLayers, s.PPO.TotalTimesteps, s.PPO.SaveFreq, s.PPO.NormReward)
	}
	if s.PPO.NEnvs != 8 {
		t.Errorf("n_envs: got %d, want 8 (HYBRIDTRAIN_N_ENV is not a key)", s.PPO.NEnvs)
	}
	if len(res.warnings) != 1 || !strings.Contains(res.warnings[0], "HYBRIDTRAIN_N_ENV") || !strings.Contains(res.warnings[0], `"HYBRIDTRAIN_N_ENVS"`) {
		t.Errorf("warnings: got %q, want one about HYBRIDTRAIN_N_ENV suggesting HYBRIDTRAIN_N_ENVS", res.warnings)
	}
}

// TestRenderedConfigLoadsBack: config.yaml, given back with --config, resolves to the same
// settings.
func TestRenderedConfigLoadsBack(t *testing.T) {
	dir := inTempDir(t)
	in := filepath.Join(dir, "in.yaml")
	writeFile(t, in, `market: XYZ
phase: 2
pi_layers: [64, 32]
learning_rate: 0.00025
lr_schedule: linear
target_kl: 0
reward: apex-shaped
breach_reward: -2.5
instruments:
  XYZ: {point_value: 10, tick_size: 0.5, commission_per_side: 1, slippage_ticks: 0, typical_price: 900,
        timezone: Europe/London, data_session: ["08:00-12:00", "13:00-16:30"], entry_start: "08:30", flatten_time: "16:30"}
`)
	first, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t, "--seed", "99"), configFile: in})
	if err != nil {
		t.Fatal(err)
	}
	out, err := renderConfig(first.settings, renderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(dir, "config.yaml")
	writeFile(t, saved, string(out))
	second, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t), configFile: saved})
	if err != nil {
		t.Fatalf("config.yaml does not load back: %v\n%s", err, out)
	}
	a, b := first.settings, second.settings
	if !reflect.DeepEqual(a.Env, b.Env) || !reflect.DeepEqual(a.PPO, b.PPO) || !reflect.DeepEqual(a.Policy, b.Policy) ||
		!reflect.DeepEqual(a.Instruments, b.Instruments) || a.Market != b.Market || a.Phase != b.Phase {
		t.Errorf("settings differ after the round trip:\n%+v\n%+v\nconfig.yaml:\n%s", a, b, out)
	}
	for _, k := range configKeys() {
		if k.invocation && strings.Contains(string(out), "\n"+k.Name+":") {
			t.Errorf("config.yaml holds the invocation key %s:\n%s", k.Name, out)
		}
	}
}

// TestCheckpointLayer: the configuration a checkpoint records (as read back from JSON) is a
// layer of its own: numbers as float64, unknown keys dropped.
func TestCheckpointLayer(t *testing.T) {
	inTempDir(t)
	cfg := map[string]any{"n_steps": float64(64), "pi_layers": []any{float64(16)}, "market": "ES", "from_the_future": 1,
		"instruments": map[string]any{"XYZ": map[string]any{"point_value": float64(5), "tick_size": 0.5, "commission_per_side": float64(1),
			"slippage_ticks": float64(1), "typical_price": float64(100), "timezone": "UTC", "data_session": []any{"09:00-10:00"},
			"entry_start": "09:10", "flatten_time": "10:00", "bogus": 1}}}
	res, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t, "--n-envs", "4"), checkpoint: checkpointLayer("ckpt", cfg)})
	if err != nil {
		t.Fatal(err)
	}
	s := res.settings
	if s.PPO.NSteps != 64 || !slices.Equal(s.Policy.PiLayers, []int{16}) || s.Market != "ES" || s.PPO.NEnvs != 4 || s.Instruments["XYZ"].PointValue != 5 {
		t.Errorf("got n_steps %d, pi_layers %v, market %s, n_envs %d, XYZ %+v", s.PPO.NSteps, s.Policy.PiLayers, s.Market, s.PPO.NEnvs, s.Instruments["XYZ"])
	}
	if checkpointLayer("x", "not a map") != nil {
		t.Error("a non-map configuration should give no layer")
	}
}

func TestConversions(t *testing.T) {
	ints := []struct {
		in   any
		want int64
		ok   bool
	}{
		{8, 8, true}, {"8", 8, true}, {" 5e6 ", 5_000_000, true}, {"5_000", 5000, true}, {1e6, 1_000_000, true},
		{2.5, 0, false}, {"eight", 0, false}, {"010", 10, true}, {true, 0, false}, {[]any{1}, 0, false},
	}
	for _, tc := range ints {
		got, err := toInt64(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("toInt64(%#v): got %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	floats := []struct {
		in   any
		want float64
		ok   bool
	}{{0.5, 0.5, true}, {"3e-4", 3e-4, true}, {2, 2, true}, {"NaN", 0, false}, {"inf", 0, false}, {"x", 0, false}, {false, 0, false}}
	for _, tc := range floats {
		got, err := toFloat(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("toFloat(%#v): got %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	layers := []struct {
		in   any
		want []int
		ok   bool
	}{
		{[]any{64, 32}, []int{64, 32}, true}, {"64, 32", []int{64, 32}, true}, {"[8]", []int{8}, true},
		{[]any{}, nil, false}, {"", nil, false}, {[]any{0}, nil, false}, {[]any{"a"}, nil, false}, {7, nil, false},
	}
	for _, tc := range layers {
		got, err := toLayers(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("toLayers(%#v): got %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestFloatRange(t *testing.T) {
	cases := []struct {
		r    floatRange
		text string
		in   []float64
		out  []float64
	}{
		{openLow(0, 1), "(0, 1]", []float64{1e-9, 0.5, 1}, []float64{0, -1, 1.0000001}},
		{closed(0, math.Inf(1)), ">= 0", []float64{0, 5}, []float64{-1e-9}},
		{openLow(0, math.Inf(1)), "> 0", []float64{1e-300}, []float64{0}},
		{anyFinite(), "any finite number", []float64{-5, 0, 5}, nil},
	}
	for _, tc := range cases {
		if got := tc.r.String(); got != tc.text {
			t.Errorf("String: got %q, want %q", got, tc.text)
		}
		for _, x := range tc.in {
			if !tc.r.contains(x) {
				t.Errorf("%s should contain %v", tc.text, x)
			}
		}
		for _, x := range tc.out {
			if tc.r.contains(x) {
				t.Errorf("%s should not contain %v", tc.text, x)
			}
		}
	}
}

func TestSuggest(t *testing.T) {
	// Levenshtein distances worked by hand: kitten -> sitting is 3 (k/s, e/i, +g).
	dist := []struct {
		a, b string
		want int
	}{{"kitten", "sitting", 3}, {"n_env", "n_envs", 1}, {"", "abc", 3}, {"gamma", "gamma", 0}, {"flaw", "lawn", 2}}
	for _, tc := range dist {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q): got %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	known := []string{"n_envs", "n_steps", "gamma", "gae_lambda"}
	if got := suggest("n_step", known); got != ` (did you mean "n_steps"?)` {
		t.Errorf("suggest(n_step): got %q", got)
	}
	if got := suggest("qqqqqqqqqqqq", known); got != "" {
		t.Errorf("suggest(qqqqqqqqqqqq): got %q, want nothing", got)
	}
}

func TestMarketFromFileName(t *testing.T) {
	known := env.BuiltinSymbols()
	cases := map[string]string{
		"data/NQ_D1M.csv": "NQ", "es.csv": "ES", "/x/MNQ_2024.csv": "MNQ", "M2K-1m.csv": "M2K",
		"bars.csv": defaultDataMarket, "NQX.csv": defaultDataMarket, "": defaultDataMarket,
	}
	for path, want := range cases {
		if got := marketFromFileName(path, known); got != want {
			t.Errorf("%q: got %s, want %s", path, got, want)
		}
	}
}

// BenchmarkLoadSettings measures resolving the configuration of a run (five layers, every
// key converted and checked), which every train, test and eval pays once.
func BenchmarkLoadSettings(b *testing.B) {
	dir := b.TempDir()
	b.Chdir(dir)
	if err := os.WriteFile("c.yaml", []byte("n_steps: 512\ninstruments:\n  NQ:\n    commission_per_side: 1.5\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd, _, err := newRootCmd(newApp(nil, io.Discard, io.Discard)).Find([]string{"train"})
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.ParseFlags([]string{"--n-envs", "4"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := loadSettings(configs.FS, configRequest{flags: cmd.Flags(), configFile: "c.yaml", testMode: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUnknownEnvironmentVariables: a HYBRIDTRAIN_* variable that names no key is a warning
// naming it and the closest key's variable (the flag's name counts: HYBRIDTRAIN_TIMESTEPS
// is total_timesteps, not n_steps); HYBRIDTRAIN_SLOW, the slow-test switch, is no key.
func TestUnknownEnvironmentVariables(t *testing.T) {
	inTempDir(t)
	t.Setenv("HYBRIDTRAIN_TIMESTEPS", "1000")
	t.Setenv("HYBRIDTRAIN_GAMA", "0.9")
	t.Setenv("HYBRIDTRAIN_SLOW", "1")
	t.Setenv("HYBRIDTRAIN_N_ENVS", "2")
	got := unknownEnvWarnings(configKeys())
	want := []string{
		`warning: ignoring HYBRIDTRAIN_GAMA: no such configuration key (did you mean "HYBRIDTRAIN_GAMMA"?)`,
		`warning: ignoring HYBRIDTRAIN_TIMESTEPS: no such configuration key (did you mean "HYBRIDTRAIN_TOTAL_TIMESTEPS"?)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestResumeReadsTheRunsConfig: the resume key, from its flag or its environment variable
// like every key, makes the resumed run's config.yaml the config file unless --config names
// one.
func TestResumeReadsTheRunsConfig(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      string   // HYBRIDTRAIN_RESUME
		args     []string // train's flags
		config   string   // --config
		market   string
		file     string // resolved.configFile
		resumeBy string // the layer resume came from
	}{
		{name: "flag", args: []string{"--resume", "run/final"}, market: "ES", file: "run/config.yaml", resumeBy: "--resume"},
		{name: "environment", env: " run/checkpoints/ts-000000128 ", market: "ES", file: "run/config.yaml", resumeBy: "$HYBRIDTRAIN_RESUME"},
		{name: "flag over environment", env: "elsewhere/final", args: []string{"--resume", "run/final"}, market: "ES", file: "run/config.yaml", resumeBy: "--resume"},
		{name: "--config wins", env: "run/final", config: "mine.yaml", market: "GC", file: "mine.yaml", resumeBy: "$HYBRIDTRAIN_RESUME"},
		{name: "a run without config.yaml", env: "bare/final", market: "", file: "", resumeBy: "$HYBRIDTRAIN_RESUME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inTempDir(t)
			for _, d := range []string{"run/final", "run/checkpoints/ts-000000128", "bare/final"} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			writeFile(t, "run/config.yaml", "market: ES\n")
			writeFile(t, "mine.yaml", "market: GC\n")
			if tc.env != "" {
				t.Setenv(envPrefix+"RESUME", tc.env)
			}
			res, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t, tc.args...), configFile: tc.config, runConfigOf: runConfigFile})
			if err != nil {
				t.Fatal(err)
			}
			s := res.settings
			if s.Market != tc.market || res.configFile != tc.file || s.source("resume") != tc.resumeBy {
				t.Errorf("market %q, config file %q, resume from %s; want %q, %q, %s", s.Market, res.configFile, s.source("resume"), tc.market, tc.file, tc.resumeBy)
			}
		})
	}
}

// TestResumeKeysNameEverySetting: each recorded setting of a run (every field of the PPO,
// network and environment configurations but the dimensions the trainer fixes, and every
// field of the instrument) is read by exactly one key of the table, so that a change on
// resume is named as files name it and never by state.json's field names.
func TestResumeKeysNameEverySetting(t *testing.T) {
	base := ppo.RunSettings{
		Phase: 3, Market: "NQ", PPO: ppo.DefaultConfig(), Policy: policy.DefaultConfig(), Env: env.DefaultConfig(),
		Instrument: &ppo.InstrumentRecord{Symbol: "NQ", PointValue: 20, TickSize: 0.25, Timezone: "America/New_York",
			DataSession: []string{"18:00-16:59"}, EntryStart: "09:30", FlattenTime: "16:55"},
	}
	// The trainer fixes these from the phase and the environment; no key sets them.
	fixed := []string{"ObsDim", "BaseDim", "NumActions"}
	parts := []struct {
		name   string
		prefix string // of the key a change must be named by
		value  func(r *ppo.RunSettings) reflect.Value
	}{
		{"ppo.Config", "", func(r *ppo.RunSettings) reflect.Value { return reflect.ValueOf(&r.PPO).Elem() }},
		{"policy.Config", "", func(r *ppo.RunSettings) reflect.Value { return reflect.ValueOf(&r.Policy).Elem() }},
		{"env.Config", "", func(r *ppo.RunSettings) reflect.Value { return reflect.ValueOf(&r.Env).Elem() }},
		{"instrument", "instruments.NQ.", func(r *ppo.RunSettings) reflect.Value { return reflect.ValueOf(r.Instrument).Elem() }},
	}
	keys := map[string]bool{}
	for _, kv := range resumeKeys(&base) {
		keys[kv.Key] = true
	}
	for _, part := range parts {
		typ := part.value(&base).Type()
		for i := range typ.NumField() {
			field := typ.Field(i).Name
			if slices.Contains(fixed, field) || part.prefix != "" && field == "Symbol" {
				continue
			}
			t.Run(part.name+"."+field, func(t *testing.T) {
				cur := base
				cur.Policy.PiLayers = slices.Clone(base.Policy.PiLayers)
				in := *base.Instrument
				cur.Instrument = &in
				f := part.value(&cur).Field(i)
				switch f.Kind() {
				case reflect.Int, reflect.Int64:
					f.SetInt(f.Int() + 1)
				case reflect.Uint64:
					f.SetUint(f.Uint() + 1)
				case reflect.Float64:
					f.SetFloat(f.Float() + 0.5)
				case reflect.Bool:
					f.SetBool(!f.Bool())
				case reflect.String:
					f.SetString(f.String() + "x")
				case reflect.Slice:
					f.Set(reflect.Append(f, reflect.Zero(f.Type().Elem())))
				default:
					t.Fatalf("a %s field: teach this test to change it", f.Kind())
				}
				var changed []string
				was, now := resumeKeys(&base), resumeKeys(&cur)
				for j := range was {
					if !reflect.DeepEqual(was[j], now[j]) {
						changed = append(changed, was[j].Key)
					}
				}
				if len(changed) != 1 || !strings.HasPrefix(changed[0], part.prefix) || !keys[changed[0]] {
					t.Errorf("changing %s changes the keys %v, want one key of the table", field, changed)
				}
			})
		}
	}
}

// TestPPOKeysAreConfigJSONNames: ppo.Config's json names, which state.json writes and the
// trainer uses for its resumable keys (total_timesteps, eval_freq, save_freq, tensorboard),
// are the names of the table's PPO keys.
func TestPPOKeysAreConfigJSONNames(t *testing.T) {
	data, err := json.Marshal(ppo.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	var table []string
	for _, k := range configKeys() {
		if k.Section == secPPO {
			table = append(table, k.Name)
		}
	}
	slices.Sort(table)
	if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, table) {
		t.Errorf("ppo.Config's json names\n%v\nwant the PPO keys\n%v", got, table)
	}
}
