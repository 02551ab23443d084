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

	// ErrDuplicateColumn: a column the loader reads appears twice in the header.
	ErrDuplicateColumn = errors.New("duplicate column")
	// ErrFieldCount: a row has fewer fields than the columns the loader reads need.
	ErrFieldCount = errors.New("too few fields")
	// ErrSyntax: the file is not valid CSV (for example a stray quote).
	ErrSyntax = errors.New("csv syntax error")
	// ErrRead: reading the file failed (it could not be opened, or an I/O error).
	ErrRead = errors.New("cannot read")
)

// ParseError is a defect in a bar file. Line is 1-based (the header is line 1); Column is
// the 1-based column of the field at fault, 0 when the defect is not one field's. Line 0
// means the whole file (empty, too few bars, cannot be read).
type ParseError struct {
	File   string
	Line   int
	Column int
	Err    error
}

// Error formats the error as "file:line:column: message", leaving out a zero line or column.
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

// Unwrap returns the wrapped error, usually one of the sentinels.
func (e *ParseError) Unwrap() error { return e.Err }

// OmittedError ends the error list of ValidateFile when more errors were found than asked
// for: "and N more errors".
type OmittedError struct {
	Count int // errors found but not listed
}

// Error returns "and N more errors".
func (e *OmittedError) Error() string {
	if e.Count == 1 {
		return "and 1 more error"
	}
	return fmt.Sprintf("and %d more errors", e.Count)
}
