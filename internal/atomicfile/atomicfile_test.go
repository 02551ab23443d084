package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entries returns the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.jsonl")
	for _, content := range []string{"first\n", "second, longer\n", ""} {
		if err := Write(path, []byte(content), Perm); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("content %q, want %q", got, content)
		}
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v, want only metrics.jsonl", names)
	}
}

func TestWriteFuncStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bars.csv")
	big := strings.Repeat("2025-01-02T09:30:00-05:00,1,2,0.5,1.5,100\n", 10_000) // past bufio's buffer
	err := WriteFunc(path, Perm, func(w io.Writer) error {
		_, err := io.WriteString(w, big)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != big {
		t.Errorf("wrote %d bytes, want %d", len(got), len(big))
	}
}

// TestWriteFailureKeepsOld: whatever step fails, the old file is intact, no temporary file
// is left, and the error names the path and wraps the cause.
func TestWriteFailureKeepsOld(t *testing.T) {
	errRender := errors.New("render failed")
	cases := []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns the path to write
		write   func(io.Writer) error
		wantErr error
	}{
		{
			name: "write func fails after writing",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "config.yaml")
				os.WriteFile(p, []byte("old\n"), 0o644)
				return p
			},
			write: func(w io.Writer) error {
				io.WriteString(w, strings.Repeat("new", 5000))
				return errRender
			},
			wantErr: errRender,
		},
		{
			name: "rename over a directory",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "report.json")
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(p, "keep"), []byte("old\n"), 0o644)
				return p
			},
			write: func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err },
		},
		{
			name:    "missing directory",
			setup:   func(t *testing.T, dir string) string { return filepath.Join(dir, "missing", "x.csv") },
			write:   func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err },
			wantErr: fs.ErrNotExist,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(t, dir)
			before := snapshot(t, dir)
			err := WriteFunc(path, Perm, tc.write)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q does not wrap %q", err, tc.wantErr)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("directory changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// snapshot describes every file under dir with its content.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(p)
		if !d.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.WriteString("=" + string(data))
		}
		b.WriteString("; ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Errorf("sync of a real directory: %v", err)
	}
	if err := SyncDir(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sync of a missing directory: %v, want ErrNotExist", err)
	}
}

// TestWriteRelative: a bare file name writes in the working directory and syncs ".".
func TestWriteRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := Write("out.csv", []byte("x\n"), Perm); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile("out.csv"); string(got) != "x\n" {
		t.Errorf("content %q", got)
	}
}
