package tfevents

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// This file reads event files without the package's reader, decoder or checksum: the
// framing, both checksums and the protocol-buffer fields are decoded here from the format
// description alone (doc.go; the protobuf wire format of protobuf.dev/programming-guides/
// encoding), so that the writer is held to the format, not to its own reader.

// crc32cBitwise is CRC-32C from its definition: reflected polynomial 0x82F63B78, initial
// value and final XOR 0xFFFFFFFF (RFC 3720, appendix B.4), one bit at a time.
func crc32cBitwise(data []byte) uint32 {
	crc := ^uint32(0)
	for _, b := range data {
		crc ^= uint32(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82F63B78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

// maskCRC is TensorFlow's crc32c::Mask.
func maskCRC(c uint32) uint32 { return (c>>15 | c<<17) + 0xa282ead8 }

// splitRecords frames data by hand: uint64 length, uint32 masked CRC of the length bytes,
// the data, uint32 masked CRC of the data, all little-endian.
func splitRecords(t *testing.T, file []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for off := 0; off < len(file); {
		if len(file)-off < 12 {
			t.Fatalf("record at %d: %d bytes left, want a 12-byte header", off, len(file)-off)
		}
		lenBytes := file[off : off+8]
		n := int(binary.LittleEndian.Uint64(lenBytes))
		if got, want := binary.LittleEndian.Uint32(file[off+8:]), maskCRC(crc32cBitwise(lenBytes)); got != want {
			t.Fatalf("record at %d: length checksum %#x, want %#x", off, got, want)
		}
		if len(file)-off < 12+n+4 {
			t.Fatalf("record at %d: length %d runs past the end", off, n)
		}
		data := file[off+12 : off+12+n]
		if got, want := binary.LittleEndian.Uint32(file[off+12+n:]), maskCRC(crc32cBitwise(data)); got != want {
			t.Fatalf("record at %d: data checksum %#x, want %#x", off, got, want)
		}
		out = append(out, data)
		off += 12 + n + 4
	}
	return out
}

// field is one decoded protobuf field: wire type 0 (varint), 1 (fixed64), 2 (bytes) or 5
// (fixed32).
type field struct {
	num, wire int
	u         uint64 // varint, fixed64 or fixed32 bits
	b         []byte // bytes
}

func varint(t *testing.T, b []byte) (uint64, int) {
	t.Helper()
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	t.Fatalf("bad varint % x", b)
	return 0, 0
}

func fields(t *testing.T, msg []byte) []field {
	t.Helper()
	var out []field
	for len(msg) > 0 {
		key, n := varint(t, msg)
		msg = msg[n:]
		f := field{num: int(key >> 3), wire: int(key & 7)}
		switch f.wire {
		case 0:
			f.u, n = varint(t, msg)
		case 1:
			f.u, n = binary.LittleEndian.Uint64(msg), 8
		case 5:
			f.u, n = uint64(binary.LittleEndian.Uint32(msg)), 4
		case 2:
			l, m := varint(t, msg)
			f.b, n = msg[m:m+int(l)], m+int(l)
		default:
			t.Fatalf("field %d: wire type %d", f.num, f.wire)
		}
		msg = msg[n:]
		out = append(out, f)
	}
	return out
}

// refEvent is an Event as this file decodes it, with its values rendered as strings.
type refEvent struct {
	wallTime    float64
	step        int64
	fileVersion string
	values      []string // "tag=scalar" or "tag=histo{...}"
}

func decodeRef(t *testing.T, data []byte) refEvent {
	t.Helper()
	var e refEvent
	for _, f := range fields(t, data) {
		switch {
		case f.num == 1 && f.wire == 1: // double wall_time = 1
			e.wallTime = math.Float64frombits(f.u)
		case f.num == 2 && f.wire == 0: // int64 step = 2
			e.step = int64(f.u)
		case f.num == 3 && f.wire == 2: // string file_version = 3
			e.fileVersion = string(f.b)
		case f.num == 5 && f.wire == 2: // Summary summary = 5
			for _, sv := range fields(t, f.b) {
				if sv.num != 1 || sv.wire != 2 { // repeated Value value = 1
					t.Fatalf("summary field %d wire %d", sv.num, sv.wire)
				}
				e.values = append(e.values, decodeRefValue(t, sv.b))
			}
		default:
			t.Fatalf("event field %d wire %d", f.num, f.wire)
		}
	}
	return e
}

func decodeRefValue(t *testing.T, data []byte) string {
	t.Helper()
	var tag, val string
	for _, f := range fields(t, data) {
		switch {
		case f.num == 1 && f.wire == 2: // string tag = 1
			tag = string(f.b)
		case f.num == 2 && f.wire == 5: // float simple_value = 2
			val = fmt.Sprint(math.Float32frombits(uint32(f.u)))
		case f.num == 5 && f.wire == 2: // HistogramProto histo = 5
			val = decodeRefHisto(t, f.b)
		default:
			t.Fatalf("value field %d wire %d", f.num, f.wire)
		}
	}
	return tag + "=" + val
}

func decodeRefHisto(t *testing.T, data []byte) string {
	t.Helper()
	var scalars [6]float64
	var limits, counts []float64
	for _, f := range fields(t, data) {
		switch {
		case f.num >= 1 && f.num <= 5 && f.wire == 1: // min, max, num, sum, sum_squares
			scalars[f.num] = math.Float64frombits(f.u)
		case (f.num == 6 || f.num == 7) && f.wire == 2: // packed bucket_limit, bucket
			if len(f.b)%8 != 0 {
				t.Fatalf("histogram field %d: %d packed bytes", f.num, len(f.b))
			}
			var vs []float64
			for i := 0; i < len(f.b); i += 8 {
				vs = append(vs, math.Float64frombits(binary.LittleEndian.Uint64(f.b[i:])))
			}
			if f.num == 6 {
				limits = vs
			} else {
				counts = vs
			}
		default:
			t.Fatalf("histogram field %d wire %d", f.num, f.wire)
		}
	}
	return fmt.Sprintf("histo{min %v max %v num %v sum %v sumsq %v limits %v counts %v}",
		scalars[1], scalars[2], scalars[3], scalars[4], scalars[5], limits, counts)
}

// TestCRC32CKnownVector: the CRC-32C check value of "123456789" is 0xE3069283 (RFC 3720,
// and the catalogue of parametrised CRC algorithms, CRC-32/ISCSI).
func TestCRC32CKnownVector(t *testing.T) {
	in := []byte("123456789")
	if got := CRC32C(in); got != 0xE3069283 {
		t.Errorf("CRC32C(%q) = %#08x, want 0xe3069283", in, got)
	}
	if got := crc32cBitwise(in); got != 0xE3069283 {
		t.Errorf("the test's bitwise CRC-32C(%q) = %#08x, want 0xe3069283", in, got)
	}
	for _, s := range []string{"", "a", "brain.Event:2", "123456789"} {
		if got, want := MaskedCRC32C([]byte(s)), maskCRC(crc32cBitwise([]byte(s))); got != want {
			t.Errorf("MaskedCRC32C(%q) = %#08x, want %#08x", s, got, want)
		}
	}
}

// TestEventBytes pins one event's encoding, assembled by hand from the wire format:
// key = field number << 3 | wire type.
func TestEventBytes(t *testing.T) {
	got, err := AppendEvent(nil, &Event{WallTime: 1.5, Step: 7, Summary: []Value{{Tag: "a", SimpleValue: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // wall_time (1, fixed64): 1.5 = 0x3ff8000000000000
		0x10, 0x07, // step (2, varint): 7
		0x2a, 0x0a, // summary (5, bytes), 10 bytes
		0x0a, 0x08, // value (1, bytes), 8 bytes
		0x0a, 0x01, 'a', // tag (1, bytes): "a"
		0x15, 0, 0, 0, 0x40, // simple_value (2, fixed32): 2.0 = 0x40000000
	}
	if !bytes.Equal(got, want) {
		t.Errorf("AppendEvent = % x\nwant           % x", got, want)
	}
}

// TestWriterMatchesFormat writes a file's worth of events and reads it back with this
// file's reader.
func TestWriterMatchesFormat(t *testing.T) {
	h := &Histogram{Min: -1, Max: 3, Num: 4, Sum: 4, SumSquares: 12,
		BucketLimit: []float64{1, 3}, Bucket: []float64{2, 2}}
	events := []Event{
		{WallTime: 1700000000.25, FileVersion: FileVersion},
		{WallTime: 1700000001.5, Step: 2048, Summary: []Value{
			{Tag: "train/approx_kl", SimpleValue: 0.0123},
			{Tag: "train/loss", SimpleValue: -3.5},
			{Tag: "train/early_stop", SimpleValue: 0}, // a zero scalar is still written (oneof)
		}},
		{WallTime: 1700000002, Step: 1 << 40, Summary: []Value{{Tag: "adapter/context_weights", Histo: h}}},
		{WallTime: 1700000003, Step: 4096}, // no summary at all
	}
	want := []refEvent{
		{wallTime: 1700000000.25, fileVersion: "brain.Event:2"},
		{wallTime: 1700000001.5, step: 2048, values: []string{"train/approx_kl=0.0123", "train/loss=-3.5", "train/early_stop=0"}},
		{wallTime: 1700000002, step: 1 << 40, values: []string{"adapter/context_weights=histo{min -1 max 3 num 4 sum 4 sumsq 12 limits [1 3] counts [2 2]}"}},
		{wallTime: 1700000003, step: 4096},
	}
	var file bytes.Buffer
	w := NewWriter(&file)
	for i := range events {
		if err := w.Write(&events[i]); err != nil {
			t.Fatalf("Write(event %d): %v", i, err)
		}
	}
	if file.Len() != 0 {
		t.Fatalf("%d bytes reached the file before Flush", file.Len())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	records := splitRecords(t, file.Bytes())
	if len(records) != len(want) {
		t.Fatalf("%d records, want %d", len(records), len(want))
	}
	for i, rec := range records {
		got := decodeRef(t, rec)
		if fmt.Sprint(got) != fmt.Sprint(want[i]) {
			t.Errorf("record %d = %+v\nwant %+v", i, got, want[i])
		}
	}
}

func TestAppendEventRefusesBadEvents(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    Event
	}{
		{"file version and summary", Event{FileVersion: FileVersion, Summary: []Value{{Tag: "x"}}}},
		{"empty tag", Event{Summary: []Value{{Tag: "x"}, {}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := AppendEvent(nil, &tc.e); err == nil {
				t.Errorf("AppendEvent(%+v) = nil error, want one", tc.e)
			}
		})
	}
}
