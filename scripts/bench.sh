#!/usr/bin/env bash
# bench.sh: the policy's Go benchmarks (internal/policy/bench_test.go) and the same network
# and maskable-PPO update in PyTorch (scripts/bench_torch.py), in one go, with Go/PyTorch
# ratios per size. Default Phase 3 network, float32, on the CPU.
#
#   scripts/bench.sh                 # 2 threads for both (this project's 2-vCPU machine)
#   THREADS=4 scripts/bench.sh       # GOMAXPROCS and torch.set_num_threads
#   TORCH_DEVICE=cuda scripts/bench.sh   # PyTorch on a GPU (the Go side stays on the CPU)
#   GO_TEST=./policy.test scripts/bench.sh   # a prebuilt test binary instead of `go test`
#   BENCHTIME=20x TORCH_SCALE=0.5 scripts/bench.sh   # fewer repeats (go test -benchtime; torch repeat factor)
#
# Needs Debian's python3-torch for /usr/bin/python3 (or PYTHON=...) and an optimised BLAS
# behind Debian's libblas.so.3 alternative, through which that PyTorch runs its CPU GEMMs:
#   DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread
# Without libopenblas0-pthread (not pulled by --no-install-recommends) PyTorch runs on the
# netlib reference BLAS, tens of times slower, and the ratios mean nothing; the script
# prints which libblas.so.3 is in use.
# Timings depend on what else the machine runs: compare rows of one run only.
#
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, when set in the environment, pin OpenBLAS to a
# (slower) kernel: they are removed for the PyTorch command alone, and the script prints
# which OpenBLAS kernel PyTorch ran with.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-2}
python=${PYTHON:-/usr/bin/python3}
benchtime=${BENCHTIME:-1s}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
echo "libblas.so.3 (PyTorch's BLAS on Debian): $blas" >&2
case "$blas" in */blas/libblas.so.3*) echo "bench.sh: warning: the netlib reference BLAS; install libopenblas0-pthread" >&2 ;; esac
echo "machine: $(nproc) CPUs, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(go version 2>/dev/null || echo 'go: prebuilt binary')" >&2
pattern='^(BenchmarkAct|BenchmarkUpdate)$'
if [ -n "${GO_TEST:-}" ]; then
  "$GO_TEST" -test.run '^$' -test.bench "$pattern" -test.benchtime "$benchtime" -test.cpu "$threads" -test.benchmem >"$out/go.txt"
else
  go test ./internal/policy/ -run '^$' -bench "$pattern" -benchtime "$benchtime" -cpu "$threads" -benchmem >"$out/go.txt"
fi
for v in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do
  if [ -n "${!v+x}" ]; then echo "bench.sh: $v=${!v} is set; unset for the PyTorch command" >&2; fi
done
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
  "$python" scripts/bench_torch.py --device "${TORCH_DEVICE:-cpu}" --threads "$threads" --scale "${TORCH_SCALE:-1}" >"$out/torch.json"

"$python" - "$out/go.txt" "$out/torch.json" <<'EOF'
import json, re, sys
go = {}
for line in open(sys.argv[1]):
    m = re.match(r"Benchmark(Act|Update)/([^/]+)/(?:batch|minibatch)=(\d+)-\d+\s+\d+\s+(.*)", line)
    if m:
        kind, backend, rows, rest = m.groups()
        unit = {u: float(v) for v, u in re.findall(r"([\d.]+) ([\w/-]+)", rest)}
        go[(kind.lower(), backend, rows)] = (unit["ns/op"] / 1e6, unit.get("B/op", 0), int(unit.get("allocs/op", 0)))
torch = json.load(open(sys.argv[2]))
backends = sorted({k[1] for k in go})
print(f"torch {torch['torch']} on {torch['device']}, {torch['threads']} threads, OpenBLAS kernel {torch.get('blas_core', 'unknown')}; times are ms per call (median for torch)")
head = f"{'what':<8}{'rows':>6}{'torch':>10}" + "".join(f"{b:>22}{'ratio':>8}{'allocs':>8}" for b in backends)
print(head)
for kind, key in (("act", "act_ms"), ("update", "update_ms")):
    for rows, t in torch[key].items():
        line = f"{kind:<8}{rows:>6}{t:>10.3f}"
        for b in backends:
            ms, _, allocs = go.get((kind, b, rows), (float("nan"), 0, 0))
            line += f"{ms:>22.3f}{ms / t:>7.2f}x{allocs:>8}"
        print(line)
EOF
