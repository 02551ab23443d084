package device

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestKernelTermLayout: the CUDA kernel writes the per-sample PPO terms at the offsets the
// host engine and the policy read them from (the HT_* defines of kernels.cu against the
// Term* constants), so the layout is written twice but cannot drift.
func TestKernelTermLayout(t *testing.T) {
	src, err := os.ReadFile("kernels/kernels.cu")
	if err != nil {
		t.Fatal(err)
	}
	defines := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^#define (HT_PPO_TERMS|HT_TERM_[A-Z_]+) (\d+)`).FindAllSubmatch(src, -1) {
		v, err := strconv.Atoi(string(m[2]))
		if err != nil {
			t.Fatal(err)
		}
		defines[string(m[1])] = v
	}
	want := map[string]int{
		"HT_PPO_TERMS":      PPOTerms,
		"HT_TERM_POLICY":    TermPolicy,
		"HT_TERM_VALUE":     TermValue,
		"HT_TERM_ENTROPY":   TermEntropy,
		"HT_TERM_APPROX_KL": TermApproxKL,
		"HT_TERM_CLIPPED":   TermClipped,
	}
	if len(defines) != len(want) {
		t.Errorf("kernels.cu defines %d term constants %v, want %d", len(defines), defines, len(want))
	}
	for name, v := range want {
		if got, ok := defines[name]; !ok || got != v {
			t.Errorf("kernels.cu: %s = %d (defined: %v), want %d", name, got, ok, v)
		}
	}
	// No bare offsets left in the kernel's term writes.
	if m := regexp.MustCompile(`\bt\[[0-9]\]|terms \+ r \* [0-9]`).Find(src); m != nil {
		t.Errorf("kernels.cu indexes the terms with a literal: %q", m)
	}
}
