#!/usr/bin/env bash
# install-cuda-build-deps.sh: installs what a `-tags cuda` build (the CUDA engine,
# docs/cuda.md) needs on Debian bookworm.
#
#   - nvidia-cuda-dev (contrib non-free): cuda.h and a libcuda to link against, for
#     gorgonia.org/cu's cgo build. Only the driver API is used: no cuBLAS, no cuDNN.
#   - clang-15 (main): compiles internal/device/kernels/*.cu to PTX (scripts/gen-ptx.sh).
#
# Idempotent: it adds the contrib and non-free components only if they are missing and
# installs only what is not installed yet. Needs root (or sudo) and about 5.5 GB of disk.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
dpkg -s nvidia-cuda-dev >/dev/null 2>&1 || need+=(nvidia-cuda-dev)
dpkg -s clang-15 >/dev/null 2>&1 || need+=(clang-15)
# verify: what the build needs is really there (a package can be installed but broken).
verify() {
  local ok=0
  [ -f /usr/include/cuda.h ] || { echo "install-cuda-build-deps: /usr/include/cuda.h is missing" >&2; ok=1; }
  command -v clang-15 >/dev/null || { echo "install-cuda-build-deps: clang-15 is not on PATH" >&2; ok=1; }
  ldconfig -p 2>/dev/null | grep -q 'libcuda\.so ' || ls /usr/lib/x86_64-linux-gnu/libcuda.so >/dev/null 2>&1 ||
    { echo "install-cuda-build-deps: no libcuda.so to link against" >&2; ok=1; }
  return $ok
}

if [ ${#need[@]} -eq 0 ]; then
  verify || exit 1
  echo "install-cuda-build-deps: nothing to do (nvidia-cuda-dev and clang-15 are installed)"
  exit 0
fi

src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ]; then
  if grep -q '^Components:' "$src" && grep '^Components:' "$src" | grep -vq 'non-free'; then
    echo "install-cuda-build-deps: enabling contrib non-free in $src"
    $SUDO sed -i -E '/^Components:/{/contrib/!s/$/ contrib/; /non-free( |$)/!s/$/ non-free/}' "$src"
  fi
elif [ -f /etc/apt/sources.list ]; then
  if ! grep -Eq '^deb .* non-free( |$)' /etc/apt/sources.list; then
    echo "install-cuda-build-deps: enabling contrib non-free in /etc/apt/sources.list"
    $SUDO sed -i -E '/^deb /{/contrib/!s/$/ contrib/; / non-free( |$)/!s/$/ non-free/}' /etc/apt/sources.list
  fi
fi

$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
verify || exit 1
echo "install-cuda-build-deps: installed ${need[*]}"
