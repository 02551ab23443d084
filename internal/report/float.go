package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Float is a metric that may be undefined or infinite. JSON cannot hold NaN or Inf, so a
// Float is written as a number when finite, null when undefined (NaN: a ratio of nothing,
// such as the win rate with no trades), and the strings "inf" and "-inf" when infinite (a
// profit factor with no losing trade). UnmarshalJSON reads all four forms back.
type Float float64

// Undefined is the Float written as null.
var Undefined = Float(math.NaN())

// Defined reports whether f is a number (finite or infinite), not undefined.
func (f Float) Defined() bool { return !math.IsNaN(float64(f)) }

// MarshalJSON writes f as a number, null, "inf" or "-inf".
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte("null"), nil
	case math.IsInf(v, 1):
		return []byte(`"inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-inf"`), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *Float) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "null":
		*f = Undefined
		return nil
	case `"inf"`:
		*f = Float(math.Inf(1))
		return nil
	case `"-inf"`:
		*f = Float(math.Inf(-1))
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("report: want a number, null, \"inf\" or \"-inf\", got %s", b)
	}
	*f = Float(v)
	return nil
}

// format writes f for the text tables: "n/a" when undefined, "inf" or "-inf", else with
// prec decimals.
func (f Float) format(prec int) string {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// ratio is x/y as a Float: undefined for 0/0, +-Inf for a non-zero x over 0.
func ratio(x, y float64) Float {
	if y == 0 {
		switch {
		case x > 0:
			return Float(math.Inf(1))
		case x < 0:
			return Float(math.Inf(-1))
		}
		return Undefined
	}
	return Float(x / y)
}
