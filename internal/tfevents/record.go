package tfevents

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// headerLen is a record's length field and its checksum; footerLen the data's checksum.
const (
	headerLen = 8 + 4
	footerLen = 4
)

// MaxRecordLen bounds the data of a record the Reader accepts: far above any event this
// package writes, and low enough that a damaged length cannot make the Reader allocate
// without limit.
const MaxRecordLen = 64 << 20

// ErrCorrupt is wrapped by the Reader's errors for a record whose checksum does not match
// or whose length is impossible.
var ErrCorrupt = errors.New("tfevents: corrupt record")

// AppendRecord appends data framed as one record (length, its masked CRC, data, the data's
// masked CRC) to dst and returns the extended slice.
func AppendRecord(dst, data []byte) []byte {
	var hdr [headerLen]byte
	binary.LittleEndian.PutUint64(hdr[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(hdr[8:], MaskedCRC32C(hdr[:8]))
	dst = append(dst, hdr[:]...)
	dst = append(dst, data...)
	return binary.LittleEndian.AppendUint32(dst, MaskedCRC32C(data))
}

// Reader reads the records of an event file in order, checking both checksums.
type Reader struct {
	r    *bufio.Reader
	off  int64 // offset of the next record
	data bytes.Buffer
}

// NewReader returns a Reader of the records in r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReader(r)} }

// Offset is the byte offset just past the last record Next returned: the length of the
// part of the file read whole.
func (r *Reader) Offset() int64 { return r.off }

// Next returns the data of the next record, valid until the next call. At the end of the
// input it returns io.EOF when the input ends between records, and an error wrapping
// io.ErrUnexpectedEOF when it ends inside one (a record torn by a crash, or one still being
// written). A record whose checksums do not match is an error wrapping ErrCorrupt. Errors
// name the record's byte offset.
func (r *Reader) Next() ([]byte, error) {
	var hdr [headerLen]byte
	n, err := io.ReadFull(r.r, hdr[:])
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return nil, io.EOF
	case err != nil:
		return nil, r.errorf("header: %w", unexpected(err))
	}
	if got, want := binary.LittleEndian.Uint32(hdr[8:]), MaskedCRC32C(hdr[:8]); got != want {
		return nil, r.errorf("%w: length checksum %#08x, want %#08x", ErrCorrupt, got, want)
	}
	length := binary.LittleEndian.Uint64(hdr[:8])
	if length > MaxRecordLen {
		return nil, r.errorf("%w: length %d exceeds %d", ErrCorrupt, length, MaxRecordLen)
	}
	// Copy rather than allocate length bytes up front: a torn file holds less than its
	// last length says.
	r.data.Reset()
	if _, err := io.CopyN(&r.data, r.r, int64(length)); err != nil {
		return nil, r.errorf("data: %w", unexpected(err))
	}
	var foot [footerLen]byte
	if _, err := io.ReadFull(r.r, foot[:]); err != nil {
		return nil, r.errorf("data checksum: %w", unexpected(err))
	}
	data := r.data.Bytes()
	if got, want := binary.LittleEndian.Uint32(foot[:]), MaskedCRC32C(data); got != want {
		return nil, r.errorf("%w: data checksum %#08x, want %#08x", ErrCorrupt, got, want)
	}
	r.off += headerLen + int64(length) + footerLen
	return data, nil
}

func (r *Reader) errorf(format string, args ...any) error {
	return fmt.Errorf("tfevents: record at byte %d: %w", r.off, fmt.Errorf(format, args...))
}

// unexpected turns the end of the input inside a record into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
