#!/usr/bin/env bash
# build-gpu-artifacts.sh: builds, on this machine (no GPU needed), what scripts/gpu-check.sh
# runs on a lent GPU machine that may have no Go toolchain:
#
#   .gpu/hybridtrain-cuda   the CLI built with -tags cuda
#   .gpu/device-cuda.test   internal/device's tests and benchmarks, -tags cuda
#   .gpu/policy-cuda.test   internal/policy's tests and benchmarks, -tags cuda
#   .gpu/BUILD-INFO         commit, Go version, sizes, dynamic libraries, newest glibc symbol
#
# The binaries link glibc and libcuda.so.1 dynamically (cgo; the GPU machine's driver
# provides libcuda) and nothing else from CUDA: the kernels are PTX embedded in the binary.
# They are stripped (-s -w) so that .gpu/ stays well inside the device tool's 64 MiB carry
# limit together with the working tree. .gpu/ is git-ignored; carry it to the GPU machine.
#
# A cuda binary cannot start on this machine (gorgonia.org/cu's init exits 1 without
# a GPU), so nothing here runs them. Needs scripts/install-cuda-build-deps.sh first.
#
#   scripts/build-gpu-artifacts.sh            build all three (a package that does not
#                                             build is reported and skipped; exit 1)
set -uo pipefail
cd "$(dirname "$0")/.."

tag=cuda
dir=.gpu
mkdir -p "$dir"
status=0
flags=(-tags "$tag" -trimpath -ldflags "-s -w")

if command -v clang-15 >/dev/null 2>&1; then
  scripts/gen-ptx.sh --check || status=1
else
  echo "build-gpu-artifacts: clang-15 not found, cannot check that the embedded PTX is current" >&2
fi

build() { # build NAME CMD...
  local name=$1; shift
  rm -f "$dir/$name"
  if "$@"; then
    echo "build-gpu-artifacts: built $dir/$name"
  else
    echo "build-gpu-artifacts: FAILED to build $dir/$name" >&2
    status=1
  fi
}
build hybridtrain-cuda go build "${flags[@]}" -o "$dir/hybridtrain-cuda" ./cmd/hybridtrain
build device-cuda.test go test -c "${flags[@]}" -o "$dir/device-cuda.test" ./internal/device/
build policy-cuda.test go test -c "${flags[@]}" -o "$dir/policy-cuda.test" ./internal/policy/

{
  echo "commit:     $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "built:      $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)"
  echo "go:         $(go version)"
  echo "tags:       $tag"
  for f in hybridtrain-cuda device-cuda.test policy-cuda.test; do
    [ -f "$dir/$f" ] || { echo "$f: missing"; continue; }
    echo "$f: $(wc -c <"$dir/$f") bytes"
    echo "  needs: $(ldd "$dir/$f" 2>/dev/null | awk '{print $1}' | grep -v '^/' | tr '\n' ' ')"
    echo "  newest glibc symbol: $(objdump -T "$dir/$f" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
  done
} >"$dir/BUILD-INFO"
cat "$dir/BUILD-INFO"

total=$(du -cb "$dir" | tail -1 | cut -f1)
if [ "$total" -gt $((48 * 1024 * 1024)) ]; then
  echo "build-gpu-artifacts: $dir holds $total bytes; with the working tree it may pass the 64 MiB carry limit" >&2
fi
exit $status
