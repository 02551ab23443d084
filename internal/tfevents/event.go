package tfevents

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// FileVersion is the file_version of a file's first event: the event format TensorBoard
// expects.
const FileVersion = "brain.Event:2"

// Field numbers of TensorBoard's tensorboard/compat/proto/event.proto and summary.proto
// (the same numbers as TensorFlow's tensorflow/core/util/event.proto and
// tensorflow/core/framework/summary.proto).
const (
	// message Event
	eventWallTime    protowire.Number = 1 // double wall_time
	eventStep        protowire.Number = 2 // int64 step
	eventFileVersion protowire.Number = 3 // string file_version (oneof what)
	eventSummary     protowire.Number = 5 // Summary summary (oneof what)

	// message Summary
	summaryValue protowire.Number = 1 // repeated Value value

	// message Summary.Value
	valueTag         protowire.Number = 1 // string tag
	valueSimpleValue protowire.Number = 2 // float simple_value (oneof value)
	valueHisto       protowire.Number = 5 // HistogramProto histo (oneof value)

	// message HistogramProto
	histoMin         protowire.Number = 1 // double min
	histoMax         protowire.Number = 2 // double max
	histoNum         protowire.Number = 3 // double num
	histoSum         protowire.Number = 4 // double sum
	histoSumSquares  protowire.Number = 5 // double sum_squares
	histoBucketLimit protowire.Number = 6 // repeated double bucket_limit [packed = true]
	histoBucket      protowire.Number = 7 // repeated double bucket [packed = true]
)

// Event is one record of an event file: the file_version event that starts a file, or a
// summary of values at a step.
type Event struct {
	WallTime float64 // wall_time: seconds since the Unix epoch
	Step     int64   // step: the x of every value in Summary
	// FileVersion is set in a file's first event only (FileVersion); an event carries either
	// it or a Summary (they share a oneof).
	FileVersion string
	Summary     []Value
}

// Value is one tagged value of an event's summary: a scalar (SimpleValue) unless Histo is
// set.
type Value struct {
	Tag         string
	SimpleValue float32 // TensorBoard stores scalars as float32
	Histo       *Histogram
}

// Histogram is a HistogramProto: bucket i counts the values from BucketLimit[i-1] (Min for
// the first bucket) up to BucketLimit[i], and TensorBoard draws the last bucket up to Max.
type Histogram struct {
	Min, Max, Num, Sum, SumSquares float64
	BucketLimit                    []float64 // right edge of each bucket
	Bucket                         []float64 // count of each bucket
}

// errOneof is returned for an event that sets both members of Event's oneof.
var errOneof = errors.New("tfevents: an event carries either a file version or a summary, not both")

// AppendEvent appends the protocol-buffer encoding of e to dst. Zero wall_time and step
// are written out too (TensorFlow writes them); a scalar's simple_value always is, being a
// oneof member. It fails on an event with both a FileVersion and a Summary, or a value
// with an empty tag.
func AppendEvent(dst []byte, e *Event) ([]byte, error) {
	if e.FileVersion != "" && len(e.Summary) > 0 {
		return dst, errOneof
	}
	dst = protowire.AppendTag(dst, eventWallTime, protowire.Fixed64Type)
	dst = protowire.AppendFixed64(dst, math.Float64bits(e.WallTime))
	dst = protowire.AppendTag(dst, eventStep, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(e.Step))
	if e.FileVersion != "" {
		dst = protowire.AppendTag(dst, eventFileVersion, protowire.BytesType)
		dst = protowire.AppendString(dst, e.FileVersion)
		return dst, nil
	}
	if len(e.Summary) == 0 {
		return dst, nil
	}
	var summary []byte
	for i := range e.Summary {
		v := &e.Summary[i]
		if v.Tag == "" {
			return dst, fmt.Errorf("tfevents: summary value %d has no tag", i)
		}
		summary = protowire.AppendTag(summary, summaryValue, protowire.BytesType)
		summary = protowire.AppendBytes(summary, appendValue(nil, v))
	}
	dst = protowire.AppendTag(dst, eventSummary, protowire.BytesType)
	return protowire.AppendBytes(dst, summary), nil
}

func appendValue(dst []byte, v *Value) []byte {
	dst = protowire.AppendTag(dst, valueTag, protowire.BytesType)
	dst = protowire.AppendString(dst, v.Tag)
	if v.Histo == nil {
		dst = protowire.AppendTag(dst, valueSimpleValue, protowire.Fixed32Type)
		return protowire.AppendFixed32(dst, math.Float32bits(v.SimpleValue))
	}
	dst = protowire.AppendTag(dst, valueHisto, protowire.BytesType)
	return protowire.AppendBytes(dst, appendHistogram(nil, v.Histo))
}

func appendHistogram(dst []byte, h *Histogram) []byte {
	for _, f := range []struct {
		num protowire.Number
		v   float64
	}{{histoMin, h.Min}, {histoMax, h.Max}, {histoNum, h.Num}, {histoSum, h.Sum}, {histoSumSquares, h.SumSquares}} {
		dst = protowire.AppendTag(dst, f.num, protowire.Fixed64Type)
		dst = protowire.AppendFixed64(dst, math.Float64bits(f.v))
	}
	for _, f := range []struct {
		num protowire.Number
		vs  []float64
	}{{histoBucketLimit, h.BucketLimit}, {histoBucket, h.Bucket}} {
		if len(f.vs) == 0 {
			continue
		}
		packed := make([]byte, 0, 8*len(f.vs))
		for _, x := range f.vs {
			packed = protowire.AppendFixed64(packed, math.Float64bits(x))
		}
		dst = protowire.AppendTag(dst, f.num, protowire.BytesType)
		dst = protowire.AppendBytes(dst, packed)
	}
	return dst
}

// ParseEvent decodes an Event from its protocol-buffer encoding. Fields this package does
// not model (a graph, a session log, an image, a value's metadata) are skipped; a value
// with neither simple_value nor histo reads as the scalar 0.
func ParseEvent(data []byte) (Event, error) {
	var e Event
	err := eachField(data, func(num protowire.Number, typ protowire.Type, b []byte, x uint64) error {
		switch {
		case num == eventWallTime && typ == protowire.Fixed64Type:
			e.WallTime = math.Float64frombits(x)
		case num == eventStep && typ == protowire.VarintType:
			e.Step = int64(x)
		case num == eventFileVersion && typ == protowire.BytesType:
			e.FileVersion = string(b)
		case num == eventSummary && typ == protowire.BytesType:
			return eachField(b, func(num protowire.Number, typ protowire.Type, b []byte, _ uint64) error {
				if num != summaryValue || typ != protowire.BytesType {
					return nil
				}
				v, err := parseValue(b)
				if err != nil {
					return err
				}
				e.Summary = append(e.Summary, v)
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return Event{}, fmt.Errorf("tfevents: event: %w", err)
	}
	return e, nil
}

func parseValue(data []byte) (Value, error) {
	var v Value
	err := eachField(data, func(num protowire.Number, typ protowire.Type, b []byte, x uint64) error {
		switch {
		case num == valueTag && typ == protowire.BytesType:
			v.Tag = string(b)
		case num == valueSimpleValue && typ == protowire.Fixed32Type:
			v.SimpleValue = math.Float32frombits(uint32(x))
		case num == valueHisto && typ == protowire.BytesType:
			h, err := parseHistogram(b)
			if err != nil {
				return err
			}
			v.Histo = &h
		}
		return nil
	})
	return v, err
}

func parseHistogram(data []byte) (Histogram, error) {
	var h Histogram
	err := eachField(data, func(num protowire.Number, typ protowire.Type, b []byte, x uint64) error {
		f := math.Float64frombits(x)
		switch {
		case typ == protowire.Fixed64Type && num == histoMin:
			h.Min = f
		case typ == protowire.Fixed64Type && num == histoMax:
			h.Max = f
		case typ == protowire.Fixed64Type && num == histoNum:
			h.Num = f
		case typ == protowire.Fixed64Type && num == histoSum:
			h.Sum = f
		case typ == protowire.Fixed64Type && num == histoSumSquares:
			h.SumSquares = f
		case num == histoBucketLimit:
			return appendDoubles(&h.BucketLimit, typ, b, x)
		case num == histoBucket:
			return appendDoubles(&h.Bucket, typ, b, x)
		}
		return nil
	})
	return h, err
}

// appendDoubles reads a repeated double, packed (as written) or not (as a parser must also
// accept).
func appendDoubles(dst *[]float64, typ protowire.Type, b []byte, x uint64) error {
	switch typ {
	case protowire.Fixed64Type:
		*dst = append(*dst, math.Float64frombits(x))
	case protowire.BytesType:
		if len(b)%8 != 0 {
			return fmt.Errorf("packed doubles of %d bytes", len(b))
		}
		for ; len(b) > 0; b = b[8:] {
			v, _ := protowire.ConsumeFixed64(b)
			*dst = append(*dst, math.Float64frombits(v))
		}
	}
	return nil
}

// eachField calls fn for every field of a message: bytes fields with their contents,
// scalar fields with their raw bits (varint, fixed32 or fixed64) in x.
func eachField(data []byte, fn func(num protowire.Number, typ protowire.Type, b []byte, x uint64) error) error {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		var (
			b []byte
			x uint64
		)
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(data)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(data)
			x = uint64(v)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(data)
		case protowire.BytesType:
			b, n = protowire.ConsumeBytes(data)
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		data = data[n:]
		if err := fn(num, typ, b, x); err != nil {
			return err
		}
	}
	return nil
}
