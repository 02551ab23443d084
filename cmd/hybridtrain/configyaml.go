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
	// invocation keeps the invocation keys (out, resume, quiet; see keyOf.invocation), which
	// a run's config.yaml leaves out.
	invocation bool
}

// renderConfig writes s as a YAML configuration file in table order, grouped by section; the
// result loads back (with --config) to the same settings.
func renderConfig(s *resolvedConfig, opt renderOptions) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	section := ""
	for _, k := range configKeys() {
		if k.invocation && !opt.invocation {
			continue
		}
		var val *yaml.Node
		if k.Type == typeInstruments {
			var err error
			if val, err = instrumentsNode(s); err != nil {
				return nil, err
			}
		} else {
			val = &yaml.Node{}
			if err := val.Encode(k.value(s)); err != nil {
				return nil, fmt.Errorf("config: render %s: %w", k.Name, err)
			}
			if k.Type == typeLayers || val.Kind == yaml.SequenceNode {
				val.Style = yaml.FlowStyle // pi_layers: [512, 256], data: [a.csv, b.csv]
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
func instrumentsNode(s *resolvedConfig) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	if len(s.Instruments) == 0 {
		n.Style = yaml.FlowStyle
		return n, nil
	}
	for _, sym := range sortedKeys(s.Instruments) {
		spec := s.Instruments[sym]
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, f := range instrumentKeys() {
			val := &yaml.Node{}
			if err := val.Encode(f.value(&spec)); err != nil {
				return nil, fmt.Errorf("config: render instruments.%s.%s: %w", sym, f.Name, err)
			}
			if f.Type == typeStrings {
				val.Style = yaml.FlowStyle
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: f.Name}, val)
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: sym}, m)
	}
	return n, nil
}

// configValues returns the resolved configuration as a map of the keys config.yaml holds:
// what the trainer records in each checkpoint's metadata, and eval reads back as the settings
// the model was trained with (checkpointLayer).
func configValues(s *resolvedConfig) map[string]any {
	out := map[string]any{}
	for _, k := range configKeys() {
		switch {
		case k.invocation:
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
func instrumentsValue(s *resolvedConfig) map[string]any {
	out := map[string]any{}
	for sym, spec := range s.Instruments {
		fields := map[string]any{}
		for _, f := range instrumentKeys() {
			fields[f.Name] = f.value(&spec)
		}
		out[sym] = fields
	}
	return out
}
