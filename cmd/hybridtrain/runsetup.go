package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"hybridtrain/internal/device"
	"hybridtrain/internal/env"
)

// Built-in synthetic bars used when a market has no data file (spec environment.md §10).
const (
	synthSessions = 120
	synthSeed     = 1
)

// dataDir holds the default bar files data/<SYM>_D1M.csv.
const dataDir = "data"

// defaultDataPath is the bar file a market uses when --data is not given.
func defaultDataPath(sym string) string { return filepath.Join(dataDir, sym+"_D1M.csv") }

// dataSource says where a run's bars come from.
type dataSource struct {
	paths     []string // the bar files and directories as given; none for synthetic bars
	files     []string // paths with each directory replaced by its .csv files (env.DataFiles)
	synthetic bool
}

// String names the bars: the paths as given, joined by commas (also Dataset.Source, so
// that a resumed run compares them as the data key gives them).
func (d dataSource) String() string {
	if d.synthetic {
		return fmt.Sprintf("built-in synthetic bars (%d sessions, seed %d)", synthSessions, synthSeed)
	}
	return strings.Join(d.paths, ",")
}

// stem names the bars in a report directory's name: the first path's base name without
// its extension, then "+N" for N more paths ("NQ_2025", "NQ_2024+1"); "" for synthetic bars.
func (d dataSource) stem() string {
	if len(d.paths) == 0 {
		return ""
	}
	base := filepath.Base(filepath.Clean(d.paths[0]))
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if n := len(d.paths) - 1; n > 0 {
		stem += fmt.Sprintf("+%d", n)
	}
	return stem
}

// resolveData picks the bars: the files and directories of the data key, which must exist
// (else a data error, exit 3); without one, data/<SYM>_D1M.csv if present, else synthetic
// bars.
func resolveData(s *resolvedConfig) (dataSource, error) {
	if len(s.Data) > 0 {
		src, err := dataPaths(s.Data)
		if err != nil {
			return dataSource{}, fmt.Errorf("%w (from %s)", err, s.source("data"))
		}
		return src, nil
	}
	if p := defaultDataPath(s.Market); !s.synthetic && fileExists(p) {
		return dataSource{paths: []string{p}, files: []string{p}}, nil
	}
	return dataSource{synthetic: true}, nil
}

// dataPaths expands bar files and directories of them into a dataSource; a missing path, a
// directory without .csv files or a file named twice is a data error (exit 3).
func dataPaths(paths []string) (dataSource, error) {
	files, err := env.DataFiles(paths)
	if err != nil {
		var pe *env.ParseError
		if errors.Is(err, fs.ErrNotExist) && errors.As(err, &pe) {
			return dataSource{}, dataErrorf("data: %s: no such file or directory", pe.File)
		}
		return dataSource{}, dataErrorf("data: %w", err)
	}
	return dataSource{paths: paths, files: files}, nil
}

// loadData loads the bars of src for inst, announcing synthetic bars on stderr.
func loadData(src dataSource, inst env.Instrument, cfg env.Config, stderr io.Writer) (*env.Dataset, error) {
	if src.synthetic {
		fmt.Fprintf(stderr, "data: no %s; using %s\n", defaultDataPath(inst.Symbol), src)
		ds, err := env.Synthesize(inst, synthSessions, synthSeed)
		if err != nil {
			return nil, fmt.Errorf("data: synthetic bars: %w", err)
		}
		return ds, nil
	}
	ds, err := env.LoadFiles(src.files, inst, cfg)
	if err != nil {
		var pe *env.ParseError
		if errors.As(err, &pe) {
			return nil, err // names file, line and column: exit 3
		}
		return nil, &dataError{fmt.Errorf("data: %w", err)}
	}
	ds.Source = src.String()
	for _, w := range ds.Warnings {
		if calendarWarning(w) {
			fmt.Fprintln(stderr, w)
		}
	}
	return ds, nil
}

// calendarWarning reports whether w is a warning of the exchange calendar (a holiday's bars
// dropped, dates it does not cover): loadData prints those for every command, since they say
// that bars were left out; the others (gaps, jumps, ...) only data info and data validate.
func calendarWarning(w env.Warning) bool {
	return w.Kind == env.WarnHoliday || w.Kind == env.WarnCalendar
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// marketsWithData lists the markets that have a data/<SYM>_D1M.csv file.
func marketsWithData(known []string) []string {
	var out []string
	for _, sym := range known {
		if fileExists(defaultDataPath(sym)) {
			out = append(out, sym)
		}
	}
	return out
}

// resolveDevice turns the device key into a device: auto is device.Auto(); cuda in a build
// without the cuda tag is a usage error that says how to build with CUDA.
func resolveDevice(s *resolvedConfig) (device.Device, error) {
	if strings.EqualFold(s.Device, "auto") {
		return device.Auto(), nil
	}
	d, err := device.Parse(s.Device)
	if err != nil {
		return device.Device{}, configErrorf("config: device: %v (from %s)", err, s.source("device"))
	}
	if d.Kind == device.KindCUDA && !device.CUDAAvailable() {
		return device.Device{}, fmt.Errorf("config: device %s (from %s): %w", s.Device, s.source("device"), device.ErrNotBuiltWithCUDA)
	}
	return d, nil
}

// source names the layer of key's value ("phase defaults" when no layer above set it).
func (s *resolvedConfig) source(key string) string {
	if w, ok := s.sources[key]; ok {
		return w
	}
	return "phase defaults"
}
