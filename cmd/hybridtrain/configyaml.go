package main

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// renderOptions select what renderConfig writes.
type renderOptions struct {
	// sources adds a "# from <layer>" comment to every value that is not a phase default.
	sources bool
	// invocation keeps out, resume and quiet: they say where and how a run was written, not
	// what it trains, and are left out of a run's config.yaml so that `--config
	// runs/<run>/config.yaml` trains the same thing again into a new directory.
	invocation bool
}

// invocationKeys are the keys config.yaml leaves out (see renderOptions.invocation).
var invocationKeys = map[string]bool{"out": true, "resume": true, "quiet": true}

// renderConfig writes s as a YAML configuration file in table order, grouped by section; the
// result loads back (with --config) to the same settings.
func renderConfig(s *settings, opt renderOptions) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	section := ""
	for _, k := range configKeys() {
		if invocationKeys[k.Name] && !opt.invocation {
			continue
		}
		var val *yaml.Node
		if k.Type == typeInstruments {
			val = instrumentsNode(s)
		} else {
			val = &yaml.Node{}
			if err := val.Encode(k.value(s)); err != nil {
				return nil, fmt.Errorf("config: render %s: %w", k.Name, err)
			}
			if k.Type == typeLayers {
				val.Style = yaml.FlowStyle
			}
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: k.Name}
		if k.Section != section {
			section = k.Section
			key.HeadComment = sectionTitle(section)
		}
		if src, ok := s.sources[k.Name]; ok && opt.sources {
			val.LineComment = "from " + src
		}
		root.Content = append(root.Content, key, val)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	return buf.Bytes(), nil
}

func sectionTitle(section string) string {
	switch section {
	case secRun:
		return "Run."
	case secNetwork:
		return "Network."
	case secPPO:
		return "PPO."
	case secEnv:
		return "Environment."
	}
	return section
}

// instrumentsNode renders the instruments of the config files, symbols sorted, fields in
// docs order.
func instrumentsNode(s *settings) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	if len(s.Instruments) == 0 {
		n.Style = yaml.FlowStyle
		return n
	}
	for _, sym := range sortedKeys(s.Instruments) {
		spec := s.Instruments[sym]
		m := &yaml.Node{Kind: yaml.MappingNode}
		add := func(k string, v any) {
			val := &yaml.Node{}
			_ = val.Encode(v) // scalars and string lists always encode
			if k == "data_session" {
				val.Style = yaml.FlowStyle
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, val)
		}
		add("point_value", spec.PointValue)
		add("tick_size", spec.TickSize)
		add("commission_per_side", spec.CommissionPerSide)
		add("slippage_ticks", spec.SlippageTicks)
		add("typical_price", spec.TypicalPrice)
		add("timezone", spec.Timezone)
		add("data_session", spec.DataSession)
		add("entry_start", spec.EntryStart)
		add("flatten_time", spec.FlattenTime)
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: sym}, m)
	}
	return n
}

// configValues returns the resolved configuration as a map of the keys config.yaml holds:
// what the trainer records in each checkpoint's metadata and compares key by key on resume.
func configValues(s *settings) map[string]any {
	out := map[string]any{}
	for _, k := range configKeys() {
		switch {
		case invocationKeys[k.Name]:
		case k.Type == typeInstruments:
			out[k.Name] = instrumentsValue(s)
		default:
			out[k.Name] = k.value(s)
		}
	}
	return out
}

// instrumentsValue is the instruments key as plain maps under the configuration's own field
// names (env.InstrumentSpec has no JSON names), so that it survives metadata.json.
func instrumentsValue(s *settings) map[string]any {
	out := map[string]any{}
	for sym, spec := range s.Instruments {
		out[sym] = map[string]any{
			"point_value": spec.PointValue, "tick_size": spec.TickSize,
			"commission_per_side": spec.CommissionPerSide, "slippage_ticks": spec.SlippageTicks,
			"typical_price": spec.TypicalPrice, "timezone": spec.Timezone,
			"data_session": append([]string(nil), spec.DataSession...),
			"entry_start":  spec.EntryStart, "flatten_time": spec.FlattenTime,
		}
	}
	return out
}
