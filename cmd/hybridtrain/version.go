package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"hybridtrain/internal/device"
)

// version is the release version; set with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// toolVersion is the version recorded in checkpoints: the release version, plus the VCS
// revision the binary was built from when Go recorded one.
func toolVersion() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			v += "+" + rev
			if dirty {
				v += "-dirty"
			}
		}
	}
	return v
}

// buildTags names the optional features compiled in: the CUDA device is the cuda build tag.
func buildTags() string {
	if device.CUDAAvailable() {
		return "cuda (CUDA)"
	}
	return "none (CPU only, no CUDA)"
}

func newVersionCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, the Go version and the build tags (cuda or not)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			if asJSON {
				return writeJSON(a.stdout, map[string]any{
					"version": toolVersion(), "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH,
					"cuda": device.CUDAAvailable(),
				})
			}
			fmt.Fprintf(a.stdout, "hybridtrain %s\ngo          %s %s/%s\nbuild tags  %s\n",
				toolVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH, buildTags())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
