package adapter

import "fmt"

// Config sizes the adapter.
type Config struct {
	// InDim is the observation length the adapter reads (default 261: 228 base features
	// and 33 context features). Must be greater than OutDim.
	InDim int
	// OutDim is the base observation length the transferred network expects (default
	// 228). Inputs OutDim..InDim-1 are the context inputs. Must be >= 1.
	OutDim int
}

// DefaultConfig is Linear(261 -> 228).
func DefaultConfig() Config { return Config{InDim: 261, OutDim: 228} }

// Validate reports the first field out of range. InDim must exceed OutDim: an adapter
// without context inputs has nothing to adapt.
func (c Config) Validate() error {
	if c.OutDim < 1 {
		return fmt.Errorf("adapter: out_dim must be >= 1, got %d", c.OutDim)
	}
	if c.InDim <= c.OutDim {
		return fmt.Errorf("adapter: in_dim must be greater than out_dim (%d), got %d", c.OutDim, c.InDim)
	}
	return nil
}
