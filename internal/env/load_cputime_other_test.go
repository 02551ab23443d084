//go:build !unix

package env

import (
	"testing"
	"time"
)

// processCPU is unknown on this platform: the cpu-ms/op metric reads 0.
func processCPU(testing.TB) time.Duration { return 0 }
