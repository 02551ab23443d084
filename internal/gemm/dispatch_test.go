package gemm

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestChooseLevel(t *testing.T) {
	for _, c := range []struct {
		best level
		env  string
		want level
	}{
		{levelAVX512, "", levelAVX512},
		{levelAVX512, "avx2", levelAVX2},
		{levelAVX512, "generic", levelGeneric},
		{levelAVX512, "avx512", levelAVX512},
		{levelAVX2, "avx512", levelAVX2}, // never a level the CPU lacks
		{levelGeneric, "avx2", levelGeneric},
		{levelAVX512, "AVX2", levelAVX512}, // unknown names are ignored
		{levelAVX512, "sse", levelAVX512},
	} {
		if got := chooseLevel(c.best, c.env); got != c.want {
			t.Errorf("chooseLevel(%v, %q) = %v, want %v", c.best, c.env, got, c.want)
		}
	}
}

func TestSetLevel(t *testing.T) {
	before := Level()
	restore := setLevel(levelGeneric)
	if Level() != "generic" {
		t.Errorf("after setLevel(generic), Level() = %q", Level())
	}
	restore()
	if Level() != before {
		t.Errorf("after restore, Level() = %q, want %q", Level(), before)
	}
	if detected < levelAVX512 {
		defer func() {
			if recover() == nil {
				t.Error("setLevel above the detected level did not panic")
			}
		}()
		setLevel(levelAVX512)
	}
}

// TestEnvLevel re-runs the test binary with HYBRIDTRAIN_SIMD set and checks the level the
// package chose at init.
func TestEnvLevel(t *testing.T) {
	if os.Getenv("GEMM_PRINT_LEVEL") != "" {
		t.Log("level=" + Level())
		return
	}
	for _, env := range []string{"generic", "avx2", "avx512", "bogus"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEnvLevel$", "-test.v")
		cmd.Env = append(os.Environ(), "GEMM_PRINT_LEVEL=1", envLevel+"="+env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s=%s: %v\n%s", envLevel, env, err, out)
		}
		want := chooseLevel(detected, env).String()
		if !strings.Contains(string(out), "level="+want+"\n") {
			t.Errorf("%s=%s: want level=%s in\n%s", envLevel, env, want, out)
		}
	}
}
