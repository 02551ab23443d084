package sb3

import (
	"errors"
	"fmt"
	"strings"

	"hybridtrain/internal/policy"
)

// The kinds of error, matched with errors.Is. Every *Error also matches
// policy.ErrCheckpoint, so that the command line exits 4.
var (
	// ErrCorrupt: not a zip, a truncated or damaged file, a malformed pickle or JSON,
	// parts of one model that disagree.
	ErrCorrupt = errors.New("corrupt")
	// ErrMissing: an entry, key, attribute or tensor the import needs is absent.
	ErrMissing = errors.New("missing")
	// ErrUnsupported: a well-formed model this tool cannot run: other spaces, shared or
	// empty layers, another activation, policy parts beyond the MLPs and heads.
	ErrUnsupported = errors.New("unsupported")
	// ErrForbidden: a pickle names a global outside the allow-list. Python would import
	// and call it; this reader refuses the file.
	ErrForbidden = errors.New("forbidden global")
	// ErrValues: NaN or infinite weights or statistics, a negative variance, a count
	// that is not positive, a clip_obs that is not.
	ErrValues = errors.New("bad values")
)

// Error is a model or statistics file that cannot be imported: File is the path given,
// Entry the zip entry (and the member of policy.pth's own archive), Key the JSON key,
// attribute or tensor name at fault; each is empty when it does not apply. Kind is one of
// ErrCorrupt, ErrMissing, ErrUnsupported, ErrForbidden and ErrValues.
type Error struct {
	Kind  error
	File  string
	Entry string
	Key   string
	Err   error
}

// Error reads "sb3: FILE: ENTRY: KEY: cause".
func (e *Error) Error() string {
	parts := []string{"sb3"}
	for _, p := range []string{e.File, e.Entry, e.Key} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(append(parts, e.Err.Error()), ": ")
}

// Unwrap returns policy.ErrCheckpoint, the kind and the cause.
func (e *Error) Unwrap() []error { return []error{policy.ErrCheckpoint, e.Kind, e.Err} }

// where locates errors inside one file: its path and, as reading descends, the entry.
type where struct {
	file, entry string
}

// in returns w inside entry.
func (w where) in(entry string) where {
	if w.entry != "" {
		entry = w.entry + ": " + entry
	}
	return where{w.file, entry}
}

// fail returns an *Error of kind at key.
func (w where) fail(kind error, key string, err error) *Error {
	return &Error{Kind: kind, File: w.file, Entry: w.entry, Key: key, Err: err}
}

// failf is fail with a formatted message.
func (w where) failf(kind error, key, format string, args ...any) *Error {
	return w.fail(kind, key, fmt.Errorf(format, args...))
}
