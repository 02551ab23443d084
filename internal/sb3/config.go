package sb3

import "fmt"

// Config says what the imported policy must take and give, and how much the reader may
// load into memory.
type Config struct {
	// ObsDim is the observation length the policy must take: 228, the Phase 2 features.
	ObsDim int
	// NumActions is the size of the Discrete action space the policy must have: 6.
	NumActions int
	// MaxBytes bounds every file, zip entry and tensor storage read into memory. A model
	// of the default Phase 2 network is about 5 MB.
	MaxBytes int64
}

// DefaultConfig is Phase 2 of this tool: Box(228) observations, Discrete(6) actions, files
// up to 1 GiB.
func DefaultConfig() Config {
	return Config{ObsDim: 228, NumActions: 6, MaxBytes: 1 << 30}
}

// Validate checks every field.
func (c Config) Validate() error {
	switch {
	case c.ObsDim < 1:
		return fmt.Errorf("sb3: ObsDim must be >= 1, got %d", c.ObsDim)
	case c.NumActions < 2:
		return fmt.Errorf("sb3: NumActions must be >= 2, got %d", c.NumActions)
	case c.MaxBytes < 1:
		return fmt.Errorf("sb3: MaxBytes must be >= 1, got %d", c.MaxBytes)
	}
	return nil
}
