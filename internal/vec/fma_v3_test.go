//go:build amd64.v3

package vec

// goFusesFMA: with GOAMD64=v3 and above the compiler fuses adamGo's multiply-adds, so
// adamGo may differ from the assembly in the last bits.
const goFusesFMA = true
