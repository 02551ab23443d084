package tfevents

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// FileName returns the name TensorBoard gives an event file written at t on host:
// events.out.tfevents.<unix seconds, 10 digits>.<host>. TensorBoard reads any file whose
// name contains "tfevents", in name order; characters of host that do not belong in a file
// name become '_'.
func FileName(t time.Time, host string) string {
	clean := strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return r
		}
		return '_'
	}, host)
	if clean == "" {
		clean = "localhost"
	}
	return fmt.Sprintf("events.out.tfevents.%010d.%s", t.Unix(), clean)
}

// Writer encodes events as records and holds them until Flush writes them to the
// underlying writer, all in one Write call: a file a crash tears loses at most the tail of
// the last flush, which a reader drops as an incomplete record.
type Writer struct {
	w   io.Writer
	buf []byte // records not yet written
	enc []byte // scratch for one event's encoding
}

// NewWriter returns a Writer to w. It writes nothing by itself: the caller starts a new
// file with an event that carries FileVersion.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write encodes e and holds its record for the next Flush; it fails only on an event
// AppendEvent refuses.
func (w *Writer) Write(e *Event) error {
	enc, err := AppendEvent(w.enc[:0], e)
	if err != nil {
		return err
	}
	w.enc = enc
	w.buf = AppendRecord(w.buf, enc)
	return nil
}

// Buffered returns the number of bytes written with Write and not yet flushed.
func (w *Writer) Buffered() int { return len(w.buf) }

// Flush writes the records held since the last Flush and lets go of them, also on an
// error: a failed write may have written part of them, and writing them again would put a
// record after a torn one, where readers stop.
func (w *Writer) Flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		return fmt.Errorf("tfevents: %w", err)
	}
	return nil
}
