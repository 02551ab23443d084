#!/usr/bin/env bash
# gen-ptx.sh: regenerates internal/device/kernels/kernels.ptx from kernels.cu.
#
# The CUDA engine (build tag cuda) embeds that PTX; the driver JIT-compiles it for the GPU
# it runs on, so no NVIDIA compiler is needed: Debian's clang-15 emits PTX ISA 6.0 for
# sm_70, which every GPU from Volta on (H100/H200 are sm_90) accepts.
#
#   scripts/gen-ptx.sh           regenerate (commit the result with the .cu change)
#   scripts/gen-ptx.sh --check   fail if the committed PTX differs from a fresh build
#
# Needs clang-15 (scripts/install-cuda-build-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=internal/device/kernels
src=$dir/kernels.cu
out=$dir/kernels.ptx
clang=${CLANG:-clang-15}

if ! command -v "$clang" >/dev/null 2>&1; then
  echo "gen-ptx: $clang not found; run scripts/install-cuda-build-deps.sh" >&2
  exit 1
fi

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# -Werror: a warning in a kernel is a bug waiting for a GPU to show it.
"$clang" -x cuda --cuda-device-only --cuda-gpu-arch=sm_70 -nocudainc -nocudalib \
  -O3 -Wall -Wextra -Werror -S -o "$tmp" "$src"

for k in $(grep -o '^KERNEL ht_[a-z_]*' "$src" | cut -d' ' -f2); do
  grep -q "^.visible .entry $k(" "$tmp" || { echo "gen-ptx: entry $k missing from the PTX" >&2; exit 1; }
done

if [ "${1:-}" = "--check" ]; then
  if ! cmp -s "$tmp" "$out"; then
    echo "gen-ptx: $out is stale; run scripts/gen-ptx.sh and commit it" >&2
    exit 1
  fi
  echo "gen-ptx: $out is up to date"
  exit 0
fi
cp "$tmp" "$out"
echo "gen-ptx: wrote $out ($(grep -c '^.visible .entry' "$out") kernels, $(wc -c <"$out") bytes)"
