// Package tfevents writes and reads TensorBoard event files.
//
// An event file (events.out.tfevents.<unix seconds>.<host>) is a sequence of TFRecord
// records, each holding one Event protocol buffer. A record is
//
//	uint64 length        little-endian, of data
//	uint32 masked CRC32C of the 8 length bytes
//	byte   data[length]
//	uint32 masked CRC32C of data
//
// where the CRC is CRC-32C (Castagnoli), masked as TensorFlow's crc32c::Mask:
// ((crc >> 15) | (crc << 17)) + 0xa282ead8. The masking keeps a CRC of data that itself
// contains CRCs from being degenerate (tensorflow/core/lib/hash/crc32c.h).
//
// The messages are the subset of TensorBoard's protos (tensorboard/compat/proto/event.proto
// and summary.proto) that scalars and histograms need, with their field numbers:
//
//	Event:          wall_time = 1 (double), step = 2 (int64),
//	                oneof what { file_version = 3 (string), summary = 5 (Summary) }
//	Summary:        repeated Value value = 1
//	Summary.Value:  tag = 1 (string),
//	                oneof value { simple_value = 2 (float), histo = 5 (HistogramProto) }
//	HistogramProto: min = 1, max = 2, num = 3, sum = 4, sum_squares = 5 (double),
//	                bucket_limit = 6, bucket = 7 (repeated double, packed)
//
// The first event of a file carries only file_version "brain.Event:2" (FileVersion);
// TensorBoard reads the rest as they are appended, and waits at a record the writer has not
// finished, so a file torn by a crash stays readable up to its last whole record.
//
// The package encodes with google.golang.org/protobuf/encoding/protowire and checksums with
// hash/crc32; it imports nothing else outside the standard library.
package tfevents
