package env

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by ParseError; test with errors.Is.
var (
	ErrMissingColumn    = errors.New("missing column")
	ErrBadNumber        = errors.New("not a number")
	ErrBadTime          = errors.New("not a timestamp")
	ErrNonFinite        = errors.New("NaN or Inf")
	ErrNonPositivePrice = errors.New("price <= 0")
	ErrHighLow          = errors.New("high/low do not contain open and close")
	ErrNegativeVolume   = errors.New("volume < 0")
	ErrTimeOrder        = errors.New("time not strictly increasing")
	ErrEmpty            = errors.New("no bars")
	ErrTooFewBars       = errors.New("too few bars")
)

// ParseError is a defect in a bar file. Line is 1-based (the header is line 1); Column is
// the 1-based column of the field at fault, 0 when the defect is not one field's.
type ParseError struct {
	File   string
	Line   int
	Column int
	Err    error
}

func (e *ParseError) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	default:
		return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
	}
}

func (e *ParseError) Unwrap() error { return e.Err }
