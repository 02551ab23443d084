package env

// This file holds the signatures agreed between packages. Helpers replace each stub with
// its implementation in the file that owns it and delete it from here; when this file is
// empty it is removed.

import (
	"errors"
)

var errTODO = errors.New("env: not implemented yet")

// ---- instrument.go / load.go (data owner) ----

// ---- synth.go (data owner) ----

// Synthesize generates seeded 1-minute bars for inst: sessions weekday sessions of the
// instrument's data session. Same arguments, same bars.
func Synthesize(inst Instrument, sessions int, seed uint64) (*Dataset, error) { return nil, errTODO }
