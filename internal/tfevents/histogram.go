package tfevents

import "math"

// NewHistogram returns the histogram of the finite values among values in n buckets of
// equal width from their minimum to their maximum (one bucket when they are all equal, n
// below 1 counting as 1). Min, Max, Num, Sum and SumSquares describe the finite values;
// NaN and infinities are left out, as TensorBoard cannot place them. With no finite value
// it is the empty histogram: everything 0, one empty bucket.
func NewHistogram[T float32 | float64](values []T, n int) *Histogram {
	n = max(n, 1)
	h := &Histogram{Min: math.Inf(1), Max: math.Inf(-1)}
	for _, v := range values {
		x := float64(v)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		h.Min, h.Max = min(h.Min, x), max(h.Max, x)
		h.Num++
		h.Sum += x
		h.SumSquares += x * x
	}
	if h.Num == 0 {
		h.Min, h.Max = 0, 0
		h.BucketLimit, h.Bucket = []float64{0}, []float64{0}
		return h
	}
	width := (h.Max - h.Min) / float64(n)
	if width == 0 {
		h.BucketLimit, h.Bucket = []float64{h.Max}, []float64{h.Num}
		return h
	}
	h.BucketLimit, h.Bucket = make([]float64, n), make([]float64, n)
	for i := range n {
		h.BucketLimit[i] = h.Min + float64(i+1)*width
	}
	h.BucketLimit[n-1] = h.Max // exactly, whatever the rounding of the sum
	for _, v := range values {
		x := float64(v)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		// The maximum, and a value rounding onto an edge, go in the bucket below.
		i := min(int((x-h.Min)/width), n-1)
		h.Bucket[i]++
	}
	return h
}
