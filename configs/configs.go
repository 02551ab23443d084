// Package configs holds the configuration layers compiled into the hybridtrain binary.
//
// They are phase3.yaml (the Phase 3 defaults, every key), phase2.yaml (the Phase 2
// defaults) and test.yaml (the test-mode overlay of --test and `hybridtrain test`).
//
// The files live here, and not under cmd/hybridtrain, because go:embed cannot reach a
// parent directory: this tiny package is the one place that embeds them, so the binary needs
// no file beside it. The keys and their meaning are documented in docs/configuration.md.
package configs

import "embed"

// FS holds every configs/*.yaml file at its base name (phase3.yaml, phase2.yaml, test.yaml).
//
//go:embed *.yaml
var FS embed.FS
