package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"hybridtrain/internal/device"
)

func newDeviceCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "device",
		Short: "List the devices this binary can use and which one auto picks",
		Long: `List the devices this binary can use and which one --device auto picks.

A default build uses the CPU only (auto = cpu; --device cuda is an error that says
how to build with CUDA). A CUDA build (go build -tags cuda ./cmd/hybridtrain)
needs a GPU to start at all (gorgonia.org/cu exits 1 before main without one), and
there auto = cuda:0. See docs/cuda.md.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return runDevice(a, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}

// deviceReport is the output of `device --json`.
type deviceReport struct {
	Available []string `json:"available"`
	Auto      string   `json:"auto"`
	CUDABuild bool     `json:"cuda_build"`
}

func runDevice(a *app, asJSON bool) error {
	rep := deviceReport{Auto: device.Auto().String(), CUDABuild: device.CUDAAvailable()}
	for _, d := range device.Available() {
		rep.Available = append(rep.Available, d.String())
	}
	if asJSON {
		return writeJSON(a.stdout, rep)
	}
	for _, d := range rep.Available {
		mark := ""
		if d == rep.Auto {
			mark = "  (auto)"
		}
		fmt.Fprintf(a.stdout, "%s%s\n", d, mark)
	}
	if !rep.CUDABuild {
		fmt.Fprintln(a.stderr, "cuda: not in this build (go build -tags cuda ./cmd/hybridtrain; see docs/cuda.md)")
	}
	return nil
}
