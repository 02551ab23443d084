package device

import (
	"errors"
	"fmt"
)

// ErrInvalidArgument classifies a call the engine refuses before touching memory: a nil or
// aliased operand, a negative dimension, an out-of-range index or hyper-parameter. Errors
// wrap it, so callers test with errors.Is.
var ErrInvalidArgument = errors.New("invalid argument")

// LengthError is returned when an operand is shorter than the operation needs (for
// example a Gemm output with fewer than m*n elements). Buffers may be longer than needed:
// the engine uses their leading elements.
type LengthError struct {
	Op      string // the operation, e.g. "Gemm"
	Operand string // the operand's name in the method's signature, e.g. "c"
	Need    int    // elements the call reads or writes
	Have    int    // the operand's Len
}

func (e *LengthError) Error() string {
	return fmt.Sprintf("device: %s: operand %s has %d elements, needs %d", e.Op, e.Operand, e.Have, e.Need)
}

// invalid builds an ErrInvalidArgument error naming the operation.
func invalid(op, format string, args ...any) error {
	return fmt.Errorf("device: %s: %s: %w", op, fmt.Sprintf(format, args...), ErrInvalidArgument)
}
