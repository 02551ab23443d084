package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// Configuration layers, highest first: flags > HYBRIDTRAIN_<KEY> environment variables >
// the config file (--config FILE, else ./hybridtrain.yaml when present) > the test overlay
// (configs/test.yaml, with --test and in `hybridtrain test`) > the phase defaults
// (configs/phase3.yaml; with phase 2, configs/phase2.yaml on top of it).
//
// viper does the merge: the files go into its config layer in order (lowest first, maps
// merged key by key, so instruments merge field by field), the environment variables and
// the flags are bound to their keys. The values are then read back key by key and converted
// strictly by the table of keys (keys.go); nothing outside this file calls viper.

// localConfigFile is read when --config is not given (except by `test`).
const localConfigFile = "hybridtrain.yaml"

// Names of the embedded layers.
const (
	phase3File = "phase3.yaml"
	phase2File = "phase2.yaml"
	testFile   = "test.yaml"
)

// configRequest says which layers a command uses.
type configRequest struct {
	flags       *pflag.FlagSet // the command's flags; key flags are looked up by name
	configFile  string         // --config; "" = ./hybridtrain.yaml if present (unless ignoreLocal)
	testMode    bool           // apply configs/test.yaml
	ignoreLocal bool           // `test` reads ./hybridtrain.yaml only when --config names it
	checkpoint  *configLayer   // eval: the checkpoint's resolved configuration, above the overlay
	// extra are layers above the config file, lowest first: a sweep's settings and a
	// trial's grid values.
	extra []configLayer

	// runConfigOf, when set and configFile is "", returns the config file of the run that
	// the checkpoint named by the resume key belongs to ("" when it has none), and that file
	// is then the config file: train sets it, so that `train --resume DIR` needs no other flag.
	runConfigOf func(checkpoint string) string
}

// configLayer is one parsed configuration file.
type configLayer struct {
	name   string         // as shown in messages: a path, or "configs/test.yaml (built in)"
	values map[string]any // top-level keys as written
	// lines holds the line of each value (instruments' fields as instruments.SYM.field) for
	// the layers whose messages name it, a sweep file's; nil names the layer alone.
	lines map[string]int
}

// at names the layer as messages show key's source: its name, and the line of the value
// when the layer records lines (sweep.yaml:12).
func (l configLayer) at(key string) string {
	if n, ok := l.lines[key]; ok {
		return fmt.Sprintf("%s:%d", l.name, n)
	}
	return l.name
}

// has reports whether the layer sets key (a top-level key or instruments.SYM.field).
func (l configLayer) has(key string) bool {
	if l.values == nil {
		return false
	}
	parts := strings.SplitN(key, ".", 3)
	v, ok := l.values[parts[0]]
	if !ok || len(parts) == 1 {
		return ok
	}
	syms, _ := v.(map[string]any)
	for sym, fields := range syms {
		if strings.EqualFold(sym, parts[1]) {
			if len(parts) == 2 {
				return true
			}
			fm, _ := fields.(map[string]any)
			_, ok := fm[parts[2]]
			return ok
		}
	}
	return false
}

// configError is a usage or configuration error (exit code 2).
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func configErrorf(format string, a ...any) error {
	return &configError{fmt.Errorf(format, a...)}
}

// resolved is the outcome of loading the configuration.
type resolved struct {
	settings *resolvedConfig
	layers   []configLayer // lowest first
	warnings []string      // e.g. unknown HYBRIDTRAIN_* variables
	// configFile is the config file read because --config named it or because it is the
	// resumed run's (configRequest.runConfigOf); "" when neither (./hybridtrain.yaml read by
	// default does not count).
	configFile string
}

// loadSettings applies the layers and validates every value. fsys holds the embedded
// configs/*.yaml files (configs.FS; tests pass their own).
func loadSettings(fsys fs.FS, req configRequest) (*resolved, error) {
	keys := configKeys()
	base, err := readEmbedded(fsys, phase3File, keys)
	if err != nil {
		return nil, err
	}
	var upper []configLayer
	if req.testMode {
		l, err := readEmbedded(fsys, testFile, keys)
		if err != nil {
			return nil, err
		}
		upper = append(upper, l)
	}
	if req.checkpoint != nil {
		upper = append(upper, *req.checkpoint)
	}
	if req.configFile == "" && req.runConfigOf != nil {
		// The resume key picks the config file, so it is read first, like any key, from the
		// layers that can set it before there is a file: flags, environment, built-in files.
		resume, err := probeKey(append([]configLayer{base}, upper...), keys, req.flags, "resume")
		if err != nil {
			return nil, err
		}
		if resume.Resume != "" {
			req.configFile = req.runConfigOf(resume.Resume)
		}
	}
	if user, err := readUserFile(req, keys); err != nil {
		return nil, err
	} else if user != nil {
		upper = append(upper, *user)
	}
	upper = append(upper, req.extra...)

	// The phase picks the bottom layer, so it is resolved first from the layers above.
	layers := append([]configLayer{base}, upper...)
	phase, err := probeKey(layers, keys, req.flags, "phase")
	if err != nil {
		return nil, err
	}
	if phase.Phase == 2 {
		p2, err := readEmbedded(fsys, phase2File, keys)
		if err != nil {
			return nil, err
		}
		layers = append([]configLayer{base, p2}, upper...)
	}
	v, err := newViper(layers, keys, req.flags)
	if err != nil {
		return nil, err
	}

	s := &resolvedConfig{sources: map[string]string{}, Env: env.DefaultConfig(), PPO: ppo.DefaultConfig(), Policy: policy.DefaultConfig()}
	for _, k := range keys {
		if k.Type == typeInstruments {
			continue
		}
		if err := applyKey(s, k, v, layers, req.flags); err != nil {
			return nil, err
		}
		if src := sourceOf(k, layers, req.flags); src != layers[0].name {
			s.sources[k.Name] = src
		}
	}
	if s.Phase == 2 {
		s.Policy.ObsDim = s.Policy.BaseDim // no adapter: the base network sees the 228 features
	}
	if s.Instruments, err = readInstruments(v, layers); err != nil {
		return nil, err
	}
	if err := validateSettings(s); err != nil {
		return nil, err
	}
	return &resolved{settings: s, layers: layers, warnings: unknownEnvWarnings(keys), configFile: req.configFile}, nil
}

// probeKey resolves the one key name from layers, the environment and flags, for the keys
// that choose layers (phase, resume); the result holds that key alone.
func probeKey(layers []configLayer, keys []configKey, flags *pflag.FlagSet, name string) (*resolvedConfig, error) {
	k, ok := lookupKey(keys, name)
	if !ok {
		return nil, fmt.Errorf("config: no key %s", name) // a programming error
	}
	v, err := newViper(layers, keys, flags)
	if err != nil {
		return nil, err
	}
	var probe resolvedConfig
	if err := applyKey(&probe, k, v, layers, flags); err != nil {
		return nil, err
	}
	return &probe, nil
}

// newViper builds a local viper (never the global one) with the file layers merged in
// order and the environment variables and flags bound to their keys.
func newViper(layers []configLayer, keys []configKey, flags *pflag.FlagSet) (*viper.Viper, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	for _, l := range layers {
		// viper keeps (and lower-cases) the maps it merges: give it a copy.
		if err := v.MergeConfigMap(deepCopy(l.values).(map[string]any)); err != nil {
			return nil, configErrorf("config: %s: %w", l.name, err)
		}
	}
	for _, k := range keys {
		if k.Type == typeInstruments {
			continue // files only
		}
		if err := v.BindEnv(k.Name, k.EnvVar()); err != nil {
			return nil, fmt.Errorf("config: bind %s: %w", k.EnvVar(), err)
		}
		if k.Flag == "" || flags == nil {
			continue
		}
		if f := flags.Lookup(k.Flag); f != nil {
			if err := v.BindPFlag(k.Name, f); err != nil {
				return nil, fmt.Errorf("config: bind --%s: %w", k.Flag, err)
			}
		}
	}
	return v, nil
}

// applyKey reads key k from v, converts and checks it, and names the key and the layer it
// came from when the value is wrong.
func applyKey(s *resolvedConfig, k configKey, v *viper.Viper, layers []configLayer, flags *pflag.FlagSet) error {
	raw := v.Get(k.Name)
	if raw == nil {
		return configErrorf("config: %s: no value in any layer (%s must set it)", k.Name, layers[0].name)
	}
	if err := k.apply(s, raw); err != nil {
		return configErrorf("config: %s: %w (from %s)", k.Name, err, sourceOf(k, layers, flags))
	}
	return nil
}

// sourceOf names the layer that gives k its value, with the precedence viper applies.
func sourceOf(k configKey, layers []configLayer, flags *pflag.FlagSet) string {
	if k.Flag != "" && flags != nil {
		if f := flags.Lookup(k.Flag); f != nil && f.Changed {
			return "--" + k.Flag
		}
	}
	if val, ok := os.LookupEnv(k.EnvVar()); ok && val != "" {
		return "$" + k.EnvVar()
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if layers[i].has(k.Name) {
			return layers[i].at(k.Name)
		}
	}
	return layers[0].name
}

// checkpointLayer makes a layer of the resolved configuration a checkpoint recorded in its
// metadata (the map train passes as ppo.Setup.Config, read back from JSON). Keys this
// version does not know are dropped: the layer describes a past run, not a file to fix.
func checkpointLayer(dir string, cfg any) *configLayer {
	m, ok := cfg.(map[string]any)
	if !ok {
		return nil
	}
	l := &configLayer{name: dir + " (the checkpoint's configuration)", values: map[string]any{}}
	for _, k := range configKeys() {
		if v, ok := m[k.Name]; ok && v != nil {
			l.values[k.Name] = v
		}
	}
	if inst, ok := l.values[instrumentsKey].(map[string]any); ok {
		clean := map[string]any{}
		for sym, fields := range inst {
			fm, ok := fields.(map[string]any)
			if !ok || !validSymbol(sym) {
				continue
			}
			kept := map[string]any{}
			for _, f := range instrumentKeys() {
				if v, ok := fm[f.Name]; ok {
					kept[f.Name] = v
				}
			}
			clean[sym] = kept
		}
		l.values[instrumentsKey] = clean
	} else {
		delete(l.values, instrumentsKey)
	}
	return l
}

// readEmbedded parses one of the compiled-in layers.
func readEmbedded(fsys fs.FS, name string, keys []configKey) (configLayer, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return configLayer{}, fmt.Errorf("config: built-in %s: %w", name, err)
	}
	return parseLayer("configs/"+name+" (built in)", data, keys)
}

// readUserFile reads --config, else ./hybridtrain.yaml if it exists (and the command reads
// it); nil when there is none.
func readUserFile(req configRequest, keys []configKey) (*configLayer, error) {
	path := req.configFile
	if path == "" {
		if req.ignoreLocal {
			return nil, nil
		}
		if _, err := os.Stat(localConfigFile); err != nil {
			return nil, nil
		}
		path = localConfigFile
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, configErrorf("config: --config %s: no such file", path)
		}
		return nil, configErrorf("config: --config %s: %w", path, err)
	}
	l, err := parseLayer(path, data, keys)
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// parseLayer parses a YAML configuration file and rejects unknown keys (also the fields of
// custom instruments), naming the file and line and suggesting the closest known key.
func parseLayer(name string, data []byte, keys []configKey) (configLayer, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return configLayer{name: name, values: map[string]any{}}, nil // an empty file sets nothing
		}
		return configLayer{name: name}, configErrorf("config: %s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	return parseLayerNode(name, root, keys)
}

// parseLayerNode reads a mapping of configuration keys, a file's document or a sweep
// file's settings, as parseLayer does; name is the file, for messages.
func parseLayerNode(name string, root *yaml.Node, keys []configKey) (configLayer, error) {
	l := configLayer{name: name, values: map[string]any{}}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return l, nil
	}
	if root.Kind != yaml.MappingNode {
		return l, configErrorf("config: %s:%d: want a mapping of key: value lines", name, root.Line)
	}
	known := keyNames(keys)
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := root.Content[i], root.Content[i+1]
		if !slices.Contains(known, kn.Value) {
			return l, configErrorf("config: %s:%d: unknown key %q%s", name, kn.Line, kn.Value, suggestKey(kn.Value, keys))
		}
		if kn.Value == instrumentsKey {
			if err := checkInstrumentsNode(name, vn); err != nil {
				return l, err
			}
			continue
		}
		if vn.Kind == yaml.ScalarNode && vn.Tag == "!!null" {
			// viper would take the null as the key's value and lose the lower layers', and
			// the error would then blame the phase defaults.
			k, _ := lookupKey(keys, kn.Value)
			hint := ""
			switch k.Type {
			case typeString:
				hint = `; write "" for an empty string`
			case typePaths:
				hint = `; write "" for none`
			}
			return l, configErrorf("config: %s:%d: %s: no value (want %s: %s%s)", name, kn.Line, kn.Value, k.Type, k.Range, hint)
		}
	}
	if err := root.Decode(&l.values); err != nil {
		return l, configErrorf("config: %s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if l.values == nil {
		l.values = map[string]any{}
	}
	if inst, ok := l.values[instrumentsKey]; ok && inst == nil {
		l.values[instrumentsKey] = map[string]any{}
	}
	return l, nil
}

// checkInstrumentsNode checks that instruments is a mapping of symbol -> mapping of known
// instrument fields.
func checkInstrumentsNode(file string, n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return configErrorf("config: %s:%d: instruments: want a mapping of symbol -> instrument", file, n.Line)
	}
	fields := keyNames(instrumentKeys())
	for i := 0; i+1 < len(n.Content); i += 2 {
		sym, spec := n.Content[i], n.Content[i+1]
		if !validSymbol(sym.Value) {
			return configErrorf("config: %s:%d: instruments: symbol %q: want letters and digits, starting with a letter", file, sym.Line, sym.Value)
		}
		if spec.Kind != yaml.MappingNode {
			return configErrorf("config: %s:%d: instruments.%s: want a mapping of instrument keys (%s)", file, spec.Line, sym.Value, strings.Join(fields, ", "))
		}
		for j := 0; j+1 < len(spec.Content); j += 2 {
			f := spec.Content[j]
			if !slices.Contains(fields, f.Value) {
				return configErrorf("config: %s:%d: unknown key \"instruments.%s.%s\"%s", file, f.Line, sym.Value, f.Value, suggest(f.Value, fields))
			}
		}
	}
	return nil
}

// validSymbol accepts symbols such as NQ, M2K or 6E... written with a letter first.
func validSymbol(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i, r := range s {
		isLetter := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
		if !isLetter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// readInstruments reads every instruments.SYM.field leaf from v (so that each field takes
// the highest layer that sets it) into specs. A built-in symbol starts from its built-in
// specification, so a file may override only its commission; a new symbol must give every
// field.
func readInstruments(v *viper.Viper, layers []configLayer) (map[string]env.InstrumentSpec, error) {
	fields := map[string]map[string]any{} // upper-case symbol -> field -> raw
	for _, key := range v.AllKeys() {
		parts := strings.Split(key, ".")
		if len(parts) != 3 || parts[0] != instrumentsKey {
			continue
		}
		sym := strings.ToUpper(parts[1])
		if fields[sym] == nil {
			fields[sym] = map[string]any{}
		}
		fields[sym][parts[2]] = v.Get(key)
	}
	syms := make([]string, 0, len(fields))
	for sym := range fields {
		syms = append(syms, sym)
	}
	sort.Strings(syms)
	ikeys := instrumentKeys()
	out := make(map[string]env.InstrumentSpec, len(syms))
	for _, sym := range syms {
		spec, builtin := builtinSpec(sym)
		where := func(field string) string {
			key := instrumentsKey + "." + sym + "." + field
			for i := len(layers) - 1; i >= 0; i-- {
				if layers[i].has(key) {
					return layers[i].at(key)
				}
			}
			return "?"
		}
		if !builtin {
			for _, f := range ikeys {
				if _, ok := fields[sym][f.Name]; !ok && !f.optional {
					return nil, configErrorf("config: instruments.%s: missing key %s (a new instrument gives all of %s; in %s)",
						sym, f.Name, strings.Join(requiredKeys(ikeys), ", "), where(firstKey(fields[sym])))
				}
			}
		}
		for _, f := range ikeys {
			raw, ok := fields[sym][f.Name]
			if !ok {
				continue
			}
			if err := f.apply(&spec, raw); err != nil {
				return nil, configErrorf("config: instruments.%s.%s: %w (in %s)", sym, f.Name, err, where(f.Name))
			}
		}
		if _, err := spec.NewInstrument(sym); err != nil {
			return nil, &configError{fmt.Errorf("config: %w", err)}
		}
		out[sym] = spec
	}
	return out, nil
}

// requiredKeys names the fields every new instrument gives.
func requiredKeys(keys []instrumentKey) []string {
	var out []string
	for _, k := range keys {
		if !k.optional {
			out = append(out, k.Name)
		}
	}
	return out
}

func firstKey(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// builtinSpec returns the built-in instrument symbol as an InstrumentSpec, so that a file
// can override some of its fields.
func builtinSpec(symbol string) (env.InstrumentSpec, bool) {
	in, ok := env.BuiltinInstrument(symbol)
	if !ok {
		return env.InstrumentSpec{}, false
	}
	spec := env.InstrumentSpec{
		PointValue: in.PointValue, TickSize: in.TickSize, CommissionPerSide: in.CommissionPerSide,
		SlippageTicks: in.SlippageTicks, TypicalPrice: in.TypicalPrice,
		EntryStart: in.EntryStart.String(), FlattenTime: in.FlattenTime.String(),
		Calendar: in.Calendar.Name(), // an override keeps the built-in calendar unless it names another
	}
	if in.Zone != nil {
		spec.Timezone = in.Zone.String()
	}
	for _, r := range in.DataSession {
		spec.DataSession = append(spec.DataSession, r.String())
	}
	return spec, true
}

// validateSettings checks what one key alone cannot: relations between keys, the market,
// and each package's own Validate.
func validateSettings(s *resolvedConfig) error {
	src := s.source
	if s.PPO.BatchSize > s.PPO.NEnvs*s.PPO.NSteps {
		return configErrorf("config: batch_size: want at most n_envs x n_steps = %d x %d = %d, got %d (batch_size from %s, n_envs from %s, n_steps from %s)",
			s.PPO.NEnvs, s.PPO.NSteps, s.PPO.NEnvs*s.PPO.NSteps, s.PPO.BatchSize, src("batch_size"), src("n_envs"), src("n_steps"))
	}
	if s.Market != "" {
		if _, err := s.instrument(); err != nil {
			return err
		}
	}
	if err := s.Env.Validate(); err != nil {
		return &configError{fmt.Errorf("config: %w", err)}
	}
	if err := s.PPO.Validate(); err != nil {
		return &configError{fmt.Errorf("config: %w", err)}
	}
	if err := s.Policy.Validate(); err != nil {
		return &configError{fmt.Errorf("config: %w", err)}
	}
	return nil
}

// knownMarkets lists the built-in symbols and then the custom ones, sorted.
func (s *resolvedConfig) knownMarkets() []string {
	out := append([]string(nil), env.BuiltinSymbols()...)
	var custom []string
	for sym := range s.Instruments {
		if !slices.Contains(out, sym) {
			custom = append(custom, sym)
		}
	}
	sort.Strings(custom)
	return append(out, custom...)
}

// instrument returns the market's instrument: its entry under instruments (built-in fields
// overridden there included), else the built-in one; an unknown market is a config error
// that names it.
func (s *resolvedConfig) instrument() (env.Instrument, error) {
	return instrumentFor(s, s.Market)
}

func instrumentFor(s *resolvedConfig, sym string) (env.Instrument, error) {
	if spec, ok := s.Instruments[sym]; ok {
		in, err := spec.NewInstrument(sym)
		if err != nil {
			return env.Instrument{}, &configError{fmt.Errorf("config: %w", err)}
		}
		return in, nil
	}
	if in, ok := env.BuiltinInstrument(sym); ok {
		return in, nil
	}
	where := "--market"
	if w, ok := s.sources["market"]; ok {
		where = w
	}
	known := s.knownMarkets()
	return env.Instrument{}, configErrorf("config: market: unknown market %q (from %s)%s; known: %s, or define it under instruments in a config file",
		sym, where, suggest(sym, known), strings.Join(known, ", "))
}

// unknownEnvWarnings lists HYBRIDTRAIN_* variables that name no key: a typo there would
// otherwise be silently ignored. HYBRIDTRAIN_SLOW (the slow-test switch) is not a key.
func unknownEnvWarnings(keys []configKey) []string {
	var names, warns []string
	for _, k := range keys {
		if k.Type != typeInstruments {
			names = append(names, k.EnvVar())
		}
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) || name == envPrefix+"SLOW" || slices.Contains(names, name) {
			continue
		}
		hint := suggest(name, names)
		if k, ok := keyOfFlag(strings.TrimPrefix(name, envPrefix), keys); ok {
			hint = fmt.Sprintf(" (did you mean %q?)", k.EnvVar())
		}
		warns = append(warns, fmt.Sprintf("warning: ignoring %s: no such configuration key%s", name, hint))
	}
	sort.Strings(warns)
	return warns
}

// deepCopy copies nested maps and lists so that viper's merge cannot change a layer.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

// suggestKey suggests the key for an unknown name: the key whose flag it names, written
// in any case with - or _ (timesteps is total_timesteps, whose flag is --timesteps, not
// the n_steps that edit distance picks), else the closest key by suggest.
func suggestKey(name string, keys []configKey) string {
	if k, ok := keyOfFlag(name, keys); ok {
		return fmt.Sprintf(" (did you mean %q?)", k.Name)
	}
	return suggest(name, keyNames(keys))
}

// keyOfFlag returns the key whose flag is name (case and - or _ aside).
func keyOfFlag(name string, keys []configKey) (configKey, bool) {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "-") }
	for _, k := range keys {
		if k.Flag != "" && norm(k.Flag) == norm(name) {
			return k, true
		}
	}
	return configKey{}, false
}

// suggest returns ` (did you mean "x"?)` for the known name closest to name by edit
// distance, or "" when nothing is reasonably close.
func suggest(name string, known []string) string {
	best, bestD := "", -1
	lname := strings.ToLower(name)
	for _, k := range known {
		d := editDistance(lname, strings.ToLower(k))
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	// Beyond half the name's length the "closest" key is noise, unless the name is the
	// start of the key (tick for tick_size).
	if bestD < 0 || bestD > max(2, len(name)/2) && !(len(name) >= 3 && strings.HasPrefix(strings.ToLower(best), lname)) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b (bytes; keys are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
