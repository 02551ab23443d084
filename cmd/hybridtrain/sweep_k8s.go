package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"hybridtrain/internal/sweep"
)

type sweepK8sOptions struct {
	path string
	job  sweep.JobConfig
}

func newSweepK8sCmd(a *app) *cobra.Command {
	opts := &sweepK8sOptions{job: sweep.DefaultJobConfig()}
	cmd := &cobra.Command{
		Use:   "k8s FILE --image IMAGE",
		Short: "Print the Kubernetes Job that runs a sweep's trials, one per index",
		Long: `Print, for kubectl apply -f -, a ConfigMap holding the sweep file FILE verbatim
and a batch/v1 Job with completionMode Indexed and one completion per trial. Each
pod runs "hybridtrain sweep run /config/sweep.yaml", which takes its trial from
JOB_COMPLETION_INDEX, in the working directory /work: the PersistentVolumeClaim
--pvc, where the sweep's out, data/ and every other relative path resolve. A
restarted pod resumes its trial from the newest checkpoint on the claim.

backoffLimitPerIndex retries a failed trial; exit 2, 3 or 4 (configuration, bar
file, checkpoint) fails its index at once, and an evicted pod is retried without
counting. A replacement pod starts only once the one it replaces has stopped
(podReplacementPolicy Failed). Each pod requests --cpu and --memory (the memory
is its limit too) and runs with GOMAXPROCS = --cpu rounded up; --gpu adds a limit
of one nvidia.com/gpu and needs an image of the CUDA build. The image is built by
the repository's Dockerfile (docs/sweeps.md). Every trial's configuration is
checked first, as by sweep plan.`,
		Example: `  hybridtrain sweep k8s sweeps/nq-lr.yaml --image registry.example.com/hybridtrain:v1 | kubectl apply -f -
  hybridtrain sweep k8s sweeps/nq-lr.yaml --image registry.example.com/hybridtrain:v1-cuda --gpu --parallelism 4`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.path = args[0]
			return runSweepK8s(a, opts)
		},
	}
	f := cmd.Flags()
	j := &opts.job
	f.StringVar(&j.Image, "image", "", "container image with hybridtrain on its PATH (required)")
	f.IntVar(&j.Parallelism, "parallelism", j.Parallelism, "trials running at once; 0 = every trial")
	f.StringVar(&j.PVC, "pvc", j.PVC, "PersistentVolumeClaim mounted at /work, the pods' working directory")
	f.StringVar(&j.CPU, "cpu", j.CPU, "CPU request of each pod (Kubernetes quantity)")
	f.StringVar(&j.Memory, "memory", j.Memory, "memory request and limit of each pod (Kubernetes quantity)")
	f.BoolVar(&j.GPU, "gpu", false, "one nvidia.com/gpu per pod (an image of the CUDA build)")
	f.IntVar(&j.BackoffLimitPerIndex, "backoff-limit-per-index", j.BackoffLimitPerIndex, "retries of each trial")
	f.IntVar(&j.GracePeriod, "grace-period", j.GracePeriod, "seconds a pod has from SIGTERM to save interrupted/")
	return cmd
}

func runSweepK8s(a *app, opts *sweepK8sOptions) error {
	if opts.job.Image == "" {
		return configErrorf("sweep k8s: --image is required: the image the Dockerfile builds, pushed where the cluster pulls from")
	}
	if err := opts.job.Validate(); err != nil {
		return &configError{err}
	}
	ls, err := loadSweep(a, opts.path)
	if err != nil {
		return err
	}
	if filepath.IsAbs(ls.file.Out) {
		return configErrorf("sweep k8s: %s:%d: out: %s is absolute: on the cluster relative paths resolve on the volume (the pods' working directory %s); write out relative to it",
			ls.file.Path, ls.file.OutLine, ls.file.Out, sweep.WorkMountPath)
	}
	cm, job, err := sweep.Job(ls.file, len(ls.trials), opts.job)
	if err != nil {
		return err
	}
	data, err := sweep.WriteManifest(cm, job)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(data)
	if err == nil {
		fmt.Fprintf(a.stderr, "sweep %s: Job %s runs %s, %d at a time, on the claim %s; collect with: hybridtrain sweep report %s\n",
			ls.file.Name, job.Name, plural(len(ls.trials), "trial", "trials"), *job.Spec.Parallelism, opts.job.PVC, ls.file.Out)
	}
	return err
}
