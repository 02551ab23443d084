package sweep

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// decodeManifest splits the YAML documents and decodes them back into the typed objects,
// strictly: a field the types do not have is an error.
func decodeManifest(t *testing.T, data []byte) (*corev1.ConfigMap, *batchv1.Job) {
	t.Helper()
	docs := bytes.Split(data, []byte("\n---\n"))
	if len(docs) != 2 {
		t.Fatalf("%d documents, want 2:\n%s", len(docs), data)
	}
	var cm corev1.ConfigMap
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(docs[0], &cm); err != nil {
		t.Fatalf("ConfigMap: %v", err)
	}
	if err := yaml.UnmarshalStrict(docs[1], &job); err != nil {
		t.Fatalf("Job: %v", err)
	}
	return &cm, &job
}

// TestJobManifest builds the manifest of a 12-trial sweep, decodes it back into
// batchv1.Job and corev1.ConfigMap and checks it field by field, then with the API
// machinery's own validation.
func TestJobManifest(t *testing.T) {
	f, err := Parse("nq.yaml", []byte(exampleFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultJobConfig()
	cfg.Image, cfg.Parallelism, cfg.PVC, cfg.CPU, cfg.Memory, cfg.GPU = "registry.example.com/hybridtrain:v1-cuda", 4, "runs", "1500m", "6Gi", true
	cm0, job0, err := Job(f, len(f.Trials()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := WriteManifest(cm0, job0)
	if err != nil {
		t.Fatal(err)
	}
	cm, job := decodeManifest(t, data)

	if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" || cm.Name != "nq-lr-sweep" || cm.Data[ConfigFileName] != exampleFile {
		t.Errorf("ConfigMap: %s/%s %s, data %q", cm.APIVersion, cm.Kind, cm.Name, cm.Data)
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" || job.Name != "nq-lr" || job.Labels[LabelSweep] != "nq-lr" {
		t.Errorf("Job: %s/%s %s %v", job.APIVersion, job.Kind, job.Name, job.Labels)
	}
	sp := job.Spec
	switch {
	case sp.CompletionMode == nil || *sp.CompletionMode != batchv1.IndexedCompletion:
		t.Errorf("completionMode: %v", sp.CompletionMode)
	case sp.Completions == nil || *sp.Completions != 12:
		t.Errorf("completions: %v, want 12", sp.Completions)
	case sp.Parallelism == nil || *sp.Parallelism != 4:
		t.Errorf("parallelism: %v, want 4", sp.Parallelism)
	case sp.BackoffLimitPerIndex == nil || *sp.BackoffLimitPerIndex != 3:
		t.Errorf("backoffLimitPerIndex: %v, want 3", sp.BackoffLimitPerIndex)
	case sp.PodReplacementPolicy == nil || *sp.PodReplacementPolicy != batchv1.Failed:
		t.Errorf("podReplacementPolicy: %v, want Failed", sp.PodReplacementPolicy)
	case sp.PodFailurePolicy == nil || len(sp.PodFailurePolicy.Rules) != 2:
		t.Fatalf("podFailurePolicy: %+v", sp.PodFailurePolicy)
	}
	ignore, failIndex := sp.PodFailurePolicy.Rules[0], sp.PodFailurePolicy.Rules[1]
	if ignore.Action != batchv1.PodFailurePolicyActionIgnore || len(ignore.OnPodConditions) != 1 || ignore.OnPodConditions[0].Type != corev1.DisruptionTarget {
		t.Errorf("first rule: %+v", ignore)
	}
	if failIndex.Action != batchv1.PodFailurePolicyActionFailIndex || failIndex.OnExitCodes == nil ||
		*failIndex.OnExitCodes.ContainerName != ContainerName || !slices.Equal(failIndex.OnExitCodes.Values, []int32{2, 3, 4}) {
		t.Errorf("second rule: %+v", failIndex)
	}

	pod := sp.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds != 300 {
		t.Errorf("pod: restartPolicy %s, grace %v", pod.RestartPolicy, pod.TerminationGracePeriodSeconds)
	}
	if sc := pod.SecurityContext; sc == nil || *sc.RunAsUser != RunAsUser || *sc.FSGroup != RunAsUser || !*sc.RunAsNonRoot {
		t.Errorf("securityContext: %+v", sc)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Name != ContainerName || c.Image != cfg.Image || c.WorkingDir != WorkMountPath ||
		!slices.Equal(append(c.Command, c.Args...), []string{"hybridtrain", "sweep", "run", "/config/sweep.yaml"}) {
		t.Errorf("container: %s %s in %s: %v %v", c.Name, c.Image, c.WorkingDir, c.Command, c.Args)
	}
	// 1500m rounds up to 2 threads.
	if len(c.Env) != 1 || c.Env[0].Name != "GOMAXPROCS" || c.Env[0].Value != "2" {
		t.Errorf("env: %+v", c.Env)
	}
	q := func(l corev1.ResourceList, n corev1.ResourceName) string {
		v, ok := l[n]
		if !ok {
			return "absent"
		}
		return v.String()
	}
	r := c.Resources
	if q(r.Requests, corev1.ResourceCPU) != "1500m" || q(r.Requests, corev1.ResourceMemory) != "6Gi" ||
		q(r.Limits, corev1.ResourceMemory) != "6Gi" || q(r.Limits, GPUResource) != "1" || q(r.Limits, corev1.ResourceCPU) != "absent" {
		t.Errorf("resources: %+v", r)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	if m := mounts["sweep"]; m.MountPath != ConfigMountPath || !m.ReadOnly || vols["sweep"].ConfigMap == nil || vols["sweep"].ConfigMap.Name != cm.Name {
		t.Errorf("sweep volume: %+v %+v", m, vols["sweep"])
	}
	if m := mounts["work"]; m.MountPath != WorkMountPath || m.ReadOnly || vols["work"].PersistentVolumeClaim == nil || vols["work"].PersistentVolumeClaim.ClaimName != "runs" {
		t.Errorf("work volume: %+v %+v", m, vols["work"])
	}
	if err := ValidateObjects(cm, job); err != nil {
		t.Errorf("the decoded objects do not validate: %v", err)
	}

	// Without --gpu there is no GPU limit; parallelism 0 runs every trial at once.
	cfg.GPU, cfg.Parallelism = false, 0
	_, job, err = Job(f, 12, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := job.Spec.Template.Spec.Containers[0].Resources.Limits[GPUResource]; ok || *job.Spec.Parallelism != 12 {
		t.Errorf("no gpu: limits %v, parallelism %d", job.Spec.Template.Spec.Containers[0].Resources.Limits, *job.Spec.Parallelism)
	}
}

// TestJobConfigValidate: each bad setting is refused, naming it.
func TestJobConfigValidate(t *testing.T) {
	good := DefaultJobConfig()
	good.Image = "hybridtrain:v1"
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(*JobConfig)
		want   string
	}{
		{"no image", func(c *JobConfig) { c.Image = "" }, "image"},
		{"image with a space", func(c *JobConfig) { c.Image = "a b" }, "image"},
		{"negative parallelism", func(c *JobConfig) { c.Parallelism = -1 }, "parallelism"},
		{"bad claim", func(c *JobConfig) { c.PVC = "Runs_1" }, "pvc"},
		{"bad cpu", func(c *JobConfig) { c.CPU = "two" }, "cpu"},
		{"zero memory", func(c *JobConfig) { c.Memory = "0" }, "memory"},
		{"negative retries", func(c *JobConfig) { c.BackoffLimitPerIndex = -1 }, "backoff_limit_per_index"},
		{"no grace", func(c *JobConfig) { c.GracePeriod = 0 }, "grace_period"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.change(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// TestValidateObjects: the API machinery's checks catch what a hand edit could break.
func TestValidateObjects(t *testing.T) {
	f, err := Parse("nq.yaml", []byte(exampleFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultJobConfig()
	cfg.Image = "hybridtrain:v1"
	cases := []struct {
		name   string
		change func(*corev1.ConfigMap, *batchv1.Job)
		want   string
	}{
		{"job name not a DNS label", func(_ *corev1.ConfigMap, j *batchv1.Job) { j.Name = "nq.lr" }, "job.metadata.name"},
		{"bad label value", func(_ *corev1.ConfigMap, j *batchv1.Job) { j.Spec.Template.Labels["x"] = "a b" }, "labels"},
		{"mount of no volume", func(_ *corev1.ConfigMap, j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].VolumeMounts[1].Name = "data"
		}, "volumeMounts"},
		{"bad configmap key", func(cm *corev1.ConfigMap, _ *batchv1.Job) { cm.Data["a/b"] = "" }, "configMap.data"},
		{"bad env name", func(_ *corev1.ConfigMap, j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].Env[0].Name = "1X"
		}, "env"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cm, job, err := Job(f, 12, cfg)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(cm, job)
			if err := ValidateObjects(cm, job); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// The CPU quantity rounds up to GOMAXPROCS, at least 1.
func TestGOMAXPROCS(t *testing.T) {
	for cpu, want := range map[string]int{"100m": 1, "1": 1, "1001m": 2, "4": 4} {
		c := JobConfig{CPU: cpu}
		if _, err := resource.ParseQuantity(cpu); err != nil {
			t.Fatal(err)
		}
		if got := c.gomaxprocs(); got != want {
			t.Errorf("cpu %s: got %d, want %d", cpu, got, want)
		}
	}
}
