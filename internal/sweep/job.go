package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// Where a trial's pod finds things: the sweep file from the ConfigMap, and the volume
// that holds data/, the runs and everything the sweep's relative paths name (the
// container's working directory).
const (
	ConfigMountPath = "/config"
	ConfigFileName  = "sweep.yaml"
	WorkMountPath   = "/work"
	ContainerName   = "trial"
)

// Labels on every object of a sweep.
const (
	LabelName  = "app.kubernetes.io/name"
	LabelSweep = "hybridtrain/sweep"
)

// GPUResource is the extended resource a --gpu trial asks one of.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// RunAsUser is the user (and group) the image runs as and the pod asks for; the volume is
// made writable for its group (fsGroup).
const RunAsUser = 65532

// JobConfig describes how the cluster runs a sweep's trials.
type JobConfig struct {
	// Image holds a hybridtrain binary on its PATH (the repository's Dockerfile builds
	// one); a CUDA build with GPU.
	Image string
	// Parallelism is the most trials running at once; 0 runs every trial at once.
	Parallelism int
	// PVC is the PersistentVolumeClaim mounted at WorkMountPath, the pods' working
	// directory: the sweep's out, data/ and any other relative path resolve on it.
	PVC string
	// CPU and Memory are each pod's resource requests, as Kubernetes quantities ("4",
	// "500m", "8Gi"); Memory is also the limit. GOMAXPROCS is set to CPU rounded up.
	CPU, Memory string
	// GPU asks for one nvidia.com/gpu per pod.
	GPU bool
	// BackoffLimitPerIndex is the retries of each trial (a pod that exits 2, 3 or 4, a
	// mistake no retry fixes, fails its index at once; an evicted pod is not counted).
	BackoffLimitPerIndex int
	// GracePeriod is the seconds a pod has between SIGTERM and SIGKILL: long enough to
	// finish the update in progress and save interrupted/.
	GracePeriod int
}

// DefaultJobConfig returns the defaults: every trial at once, the claim hybridtrain-runs,
// 2 CPUs and 4Gi of memory per pod, 3 retries per trial, 300 s to save on SIGTERM.
func DefaultJobConfig() JobConfig {
	return JobConfig{PVC: "hybridtrain-runs", CPU: "2", Memory: "4Gi", BackoffLimitPerIndex: 3, GracePeriod: 300}
}

// Validate checks every field and names the one at fault.
func (c JobConfig) Validate() error {
	switch {
	case strings.TrimSpace(c.Image) == "" || strings.ContainsAny(c.Image, " \t\n"):
		return fmt.Errorf("sweep: image: want an image reference such as registry.example.com/hybridtrain:v1, got %q", c.Image)
	case c.Parallelism < 0:
		return fmt.Errorf("sweep: parallelism: want 0 (every trial at once) or more, got %d", c.Parallelism)
	case c.BackoffLimitPerIndex < 0:
		return fmt.Errorf("sweep: backoff_limit_per_index: want 0 or more, got %d", c.BackoffLimitPerIndex)
	case c.GracePeriod < 1:
		return fmt.Errorf("sweep: grace_period: want 1 s or more, got %d", c.GracePeriod)
	}
	if msgs := validation.IsDNS1123Subdomain(c.PVC); len(msgs) > 0 {
		return fmt.Errorf("sweep: pvc: %q is not a claim name: %s", c.PVC, strings.Join(msgs, "; "))
	}
	for _, q := range []struct{ name, value string }{{"cpu", c.CPU}, {"memory", c.Memory}} {
		v, err := resource.ParseQuantity(q.value)
		if err != nil || v.Sign() <= 0 {
			return fmt.Errorf("sweep: %s: want a positive Kubernetes quantity such as 2, 500m or 8Gi, got %q", q.name, q.value)
		}
	}
	return nil
}

// gomaxprocs is the CPU request rounded up to whole CPUs, as the Go runtime rounds a CPU
// limit: with requests alone (no limit, so no throttling) it would see every CPU of the node.
func (c JobConfig) gomaxprocs() int {
	q := resource.MustParse(c.CPU) // Validate parsed it
	return max(1, int(math.Ceil(float64(q.MilliValue())/1000)))
}

// Job builds the objects that run f's trials on a cluster: a ConfigMap that holds the sweep
// file verbatim, and an Indexed Job with one completion per trial whose pods run
// `hybridtrain sweep run /config/sweep.yaml`: each takes its trial from
// JOB_COMPLETION_INDEX and writes it on the claim, in the pods' working directory.
func Job(f *File, trials int, c JobConfig) (*corev1.ConfigMap, *batchv1.Job, error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	if trials < 1 {
		return nil, nil, errors.New("sweep: job: no trials")
	}
	labels := map[string]string{LabelName: "hybridtrain", LabelSweep: f.Name}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: f.Name + "-sweep", Labels: labels},
		Data:       map[string]string{ConfigFileName: string(f.Source)},
	}
	parallelism := int32(trials)
	if c.Parallelism > 0 {
		parallelism = int32(min(c.Parallelism, trials))
	}
	requests := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(c.CPU),
		corev1.ResourceMemory: resource.MustParse(c.Memory),
	}
	limits := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(c.Memory)}
	if c.GPU {
		limits[GPUResource] = resource.MustParse("1")
	}
	container := corev1.Container{
		Name:       ContainerName,
		Image:      c.Image,
		Command:    []string{"hybridtrain"},
		Args:       []string{"sweep", "run", ConfigMountPath + "/" + ConfigFileName},
		WorkingDir: WorkMountPath,
		Env:        []corev1.EnvVar{{Name: "GOMAXPROCS", Value: strconv.Itoa(c.gomaxprocs())}},
		Resources:  corev1.ResourceRequirements{Requests: requests, Limits: limits},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "sweep", MountPath: ConfigMountPath, ReadOnly: true},
			{Name: "work", MountPath: WorkMountPath},
		},
	}
	user := int64(RunAsUser)
	grace := int64(c.GracePeriod)
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: f.Name, Labels: labels},
		Spec: batchv1.JobSpec{
			CompletionMode:       ptr(batchv1.IndexedCompletion),
			Completions:          ptr(int32(trials)),
			Parallelism:          &parallelism,
			BackoffLimitPerIndex: ptr(int32(c.BackoffLimitPerIndex)),
			// A replacement pod starts only once the one it replaces has stopped, so two
			// pods never write the same trial (the first may still be saving interrupted/).
			PodReplacementPolicy: ptr(batchv1.Failed),
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				// Evictions and preemptions are not the trial's fault: retry without counting.
				{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
					{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue},
				}},
				// Exit 2, 3 and 4 (configuration, bar file, checkpoint) fail the same way
				// again: fail the index at once.
				{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr(ContainerName), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{2, 3, 4},
				}},
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					TerminationGracePeriodSeconds: &grace,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr(true), RunAsUser: &user, RunAsGroup: &user, FSGroup: &user,
					},
					Containers: []corev1.Container{container},
					Volumes: []corev1.Volume{
						{Name: "sweep", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}},
						{Name: "work", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
							ClaimName: c.PVC}}},
					},
				},
			},
		},
	}
	if err := ValidateObjects(cm, job); err != nil {
		return nil, nil, err
	}
	return cm, job, nil
}

func ptr[T any](v T) *T { return &v }

// ValidateObjects checks what the API machinery can check without a cluster: the objects'
// metadata (names, labels) with its own validation functions, and the names the pod
// template refers to. The full Job validation lives in the API server.
func ValidateObjects(cm *corev1.ConfigMap, job *batchv1.Job) error {
	var errs field.ErrorList
	errs = append(errs, apivalidation.ValidateObjectMeta(&cm.ObjectMeta, false, apivalidation.NameIsDNSSubdomain, field.NewPath("configMap", "metadata"))...)
	for k := range cm.Data {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(field.NewPath("configMap", "data").Key(k), k, msg))
		}
	}
	// A Job's pods are named <job>-<index>-<suffix> with the hostname <job>-<index>: the
	// name must be a DNS label.
	errs = append(errs, apivalidation.ValidateObjectMeta(&job.ObjectMeta, false, apivalidation.NameIsDNSLabel, field.NewPath("job", "metadata"))...)
	tmpl := field.NewPath("job", "spec", "template")
	errs = append(errs, metavalidation.ValidateLabels(job.Spec.Template.Labels, tmpl.Child("metadata", "labels"))...)
	spec := job.Spec.Template.Spec
	volumes := map[string]bool{}
	for i, v := range spec.Volumes {
		for _, msg := range validation.IsDNS1123Label(v.Name) {
			errs = append(errs, field.Invalid(tmpl.Child("spec", "volumes").Index(i).Child("name"), v.Name, msg))
		}
		volumes[v.Name] = true
	}
	for i, ctr := range spec.Containers {
		p := tmpl.Child("spec", "containers").Index(i)
		for _, msg := range validation.IsDNS1123Label(ctr.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), ctr.Name, msg))
		}
		for j, m := range ctr.VolumeMounts {
			if !volumes[m.Name] {
				errs = append(errs, field.NotFound(p.Child("volumeMounts").Index(j).Child("name"), m.Name))
			}
		}
		for j, e := range ctr.Env {
			for _, msg := range validation.IsEnvVarName(e.Name) {
				errs = append(errs, field.Invalid(p.Child("env").Index(j).Child("name"), e.Name, msg))
			}
		}
	}
	if err := errs.ToAggregate(); err != nil {
		return fmt.Errorf("sweep: job: %w", err)
	}
	return nil
}

// WriteManifest writes the objects as YAML documents separated by ---, as
// `kubectl apply -f -` reads them.
func WriteManifest(cm *corev1.ConfigMap, job *batchv1.Job) ([]byte, error) {
	var b bytes.Buffer
	for i, obj := range []any{cm, job} {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("sweep: manifest: %w", err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}
