//go:build !amd64.v3

package vec

// goFusesFMA says whether the compiler fuses adamGo's multiply-adds: on amd64 only from
// GOAMD64=v3 (fma_v3_test.go). Where it does not, adamGo and the assembly, which does not
// fuse, round alike. (Other architectures fuse, but run only adamGo.)
const goFusesFMA = false
