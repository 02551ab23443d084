//go:build unix

package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteMode: under a umask of 022 a new file is 0644 (os.CreateTemp's 0600 was the bug
// this package fixed), a replaced one too, and a stricter perm is kept.
func TestWriteMode(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	cases := []struct {
		name string
		perm fs.FileMode
		pre  bool // the file exists first, with mode 0600
		want fs.FileMode
	}{
		{"new", Perm, false, 0o644},
		{"replaced", Perm, true, 0o644},
		{"private", 0o600, false, 0o600},
		{"umask applies", 0o666, false, 0o644},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if tc.pre {
				if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := Write(path, []byte("new"), tc.perm); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tc.want {
				t.Errorf("mode %v, want %v", got, tc.want)
			}
		})
	}
}
