package env

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"
)

// WriteCSV writes ds's bars as a bar file that Load reads back to the same bars: header
// "timestamp,open,high,low,close,volume", times in UTC RFC 3339 (2024-01-02T13:30:00Z, one
// offset for the whole file, so a daylight-saving change cannot break a reader), numbers in
// the shortest form that parses back to the same float64.
func WriteCSV(w io.Writer, ds *Dataset) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString("timestamp,open,high,low,close,volume\n"); err != nil {
		return fmt.Errorf("env: write csv: %w", err)
	}
	b := &ds.Bars
	buf := make([]byte, 0, 128)
	for i := range b.Len() {
		buf = time.Unix(b.Time[i], 0).UTC().AppendFormat(buf[:0], "2006-01-02T15:04:05Z")
		for _, x := range [...]float64{b.Open[i], b.High[i], b.Low[i], b.Close[i], b.Volume[i]} {
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, x, 'f', -1, 64)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("env: write csv: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("env: write csv: %w", err)
	}
	return nil
}
