#!/usr/bin/env bash
# gpu-check.sh OUTDIR: the one prepared check of the CUDA build on a lent GPU machine.
#
# The GPU machine may have no Go toolchain, so this runs prebuilt artifacts that
# scripts/build-gpu-artifacts.sh makes on the build machine into .gpu/ (git-ignored; carry
# it along): hybridtrain-cuda, device-cuda.test, policy-cuda.test. In order of importance,
# each step only if the time budget still allows it:
#
#   probe      nvidia-smi, driver, glibc, the artifacts and what they link
#   device     the device package's tests (each kernel against the host engine, transfers,
#              mismatch errors, the PTX/kernel-table check) on cuda:0
#   policy     GPU/CPU parity: three PPO updates, act, adapter with host observations
#   smoke      `hybridtrain-cuda test --device cuda` (test-mode training + the spec's checks)
#   crossdev   the smoke run's roundtrip check: final/ loads on the CPU and gives the GPU
#              policy's deterministic actions; then `eval` of final/ on the CPU
#   bench      kernel benchmarks; policy update (64/256/2048) and act (1/8/16) on cpu
#              (host kernels) and cuda; scripts/bench_torch.py --device cuda if it exists
#   fps        end-to-end env steps/s of a short test-mode training on cpu and on cuda
#   sanitizer  compute-sanitizer memcheck over the kernel tests, if the tool is there
#
# Logs go to OUTDIR (at most 8 files, as the device tool returns); a summary table is
# printed last and saved as OUTDIR/summary.txt. The whole run stays under
# GPU_CHECK_BUDGET seconds (default 330). Exit status: 0 when every step that ran passed.
#
# Typical use, through the device tool, from the repository root:
#   scripts/build-gpu-artifacts.sh                       (here, once)
#   run: bash scripts/gpu-check.sh "$OUT"   carry: [".gpu"]   timeout_s: 360
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

out=${1:?usage: scripts/gpu-check.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
art=${GPU_ARTIFACTS:-.gpu}
case $art in /*) ;; *) art=$root/$art ;; esac
budget=${GPU_CHECK_BUDGET:-330}
work=$(mktemp -d "${TMPDIR:-/tmp}/hybridtrain-gpu-check.XXXXXX")
t_start=$(date +%s)

summary=()  # "step|status|seconds|detail"
failed=0

left() { echo $((budget - ($(date +%s) - t_start))); }

# run_step NAME MIN MAX LOG CMD...: runs CMD under `timeout`, appending to OUTDIR/LOG, with
# MAX seconds or what the budget has left (less a 10 s reserve for the summary), and skips
# it when fewer than MIN seconds are left. Sets STEP_RC.
run_step() {
  local name=$1 min=$2 max=$3 log=$4
  shift 4
  local avail=$(($(left) - 10))
  if [ "$avail" -lt "$min" ]; then
    summary+=("$name|SKIP|0|budget: ${avail}s left, needs ${min}s")
    STEP_RC=125
    return 0
  fi
  local lim=$((max < avail ? max : avail))
  local t0
  t0=$(date +%s)
  printf '\n===== %s (limit %ss): %s\n' "$name" "$lim" "$*" >>"$out/$log"
  timeout --kill-after=5 "$lim" "$@" >>"$out/$log" 2>&1
  STEP_RC=$?
  local dt=$(($(date +%s) - t0)) st=PASS
  case $STEP_RC in
  0) ;;
  124 | 137) st=TIMEOUT failed=1 ;;
  *) st=FAIL failed=1 ;;
  esac
  printf '===== %s: exit %s after %ss\n' "$name" "$STEP_RC" "$dt" >>"$out/$log"
  summary+=("$name|$st|$dt|${STEP_DETAIL:-see $log}")
  STEP_DETAIL=""
}

# note NAME STATUS DETAIL: a summary row for a check that is not a command.
note() { summary+=("$1|$2|0|$3"); [ "$2" = FAIL ] && failed=1; return 0; }

have() { [ -x "$art/$1" ]; }

# ---------------------------------------------------------------------------- probe
probe() {
  echo "== machine"; uname -a; (ldd --version 2>&1 | head -1); nproc; free -g | head -2
  echo "== gpu"; nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
  nvidia-smi
  echo "== libcuda"; ldconfig -p 2>/dev/null | grep -E 'libcuda\.so' || echo "no libcuda in ldconfig"
  echo "== artifacts ($art)"; ls -la "$art"; cat "$art/BUILD-INFO" 2>/dev/null
  for f in hybridtrain-cuda device-cuda.test policy-cuda.test; do
    [ -f "$art/$f" ] && { echo "-- ldd $f"; ldd "$art/$f"; }
  done
  echo "== tools"; for t in python3 compute-sanitizer nvcc; do printf '%-18s %s\n' "$t" "$(command -v "$t" || echo absent)"; done
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' 2>&1 | tail -1
  nvidia-smi >/dev/null 2>&1
}
export -f probe  # `timeout` runs commands, not shell functions
run_step probe 5 20 probe.log bash -c probe
gpu_name=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
[ -n "$gpu_name" ] || gpu_name="(nvidia-smi gave nothing)"

# ---------------------------------------------------------------------------- tests
# Test binaries run in their package directory, as `go test` runs them (testdata paths).
if have device-cuda.test; then
  run_step device 20 75 device-tests.log \
    bash -c "cd '$root/internal/device' && '$art/device-cuda.test' -test.v -test.count=1 -test.timeout=70s"
  [ "$STEP_RC" = 125 ] || note device-summary "$([ "$STEP_RC" = 0 ] && echo PASS || echo FAIL)" \
    "$(grep -c '^--- PASS' "$out/device-tests.log") passed, $(grep -c '^--- FAIL' "$out/device-tests.log") failed (top-level)"
else
  note device FAIL "missing $art/device-cuda.test (run scripts/build-gpu-artifacts.sh)"
fi

if have policy-cuda.test; then
  run_step policy 20 90 policy-tests.log \
    bash -c "cd '$root/internal/policy' && '$art/policy-cuda.test' -test.v -test.count=1 -test.run 'CUDA' -test.timeout=85s"
  [ "$STEP_RC" = 125 ] || note policy-summary "$([ "$STEP_RC" = 0 ] && echo PASS || echo FAIL)" \
    "$(grep -c -- '--- PASS' "$out/policy-tests.log") passed, $(grep -c -- '--- FAIL' "$out/policy-tests.log") failed (with subtests)"
else
  note policy FAIL "missing $art/policy-cuda.test"
fi

# ---------------------------------------------------------------------------- CLI
bin=$art/hybridtrain-cuda
cli_ok=0
if have hybridtrain-cuda && "$bin" test --help 2>/dev/null | grep -q -- '--device'; then
  cli_ok=1
fi
if [ $cli_ok = 1 ]; then
  run_step cli-device 2 15 train.log bash -c "'$bin' version && '$bin' device --json"
  smoke=$work/test-cuda
  run_step smoke 40 120 train.log "$bin" test --device cuda --out "$smoke" --non-interactive --quiet
  smoke_rc=$STEP_RC
  [ -f "$smoke/metrics.jsonl" ] && cp "$smoke/metrics.jsonl" "$out/smoke-metrics.jsonl"
  # The roundtrip check of `test` loads final/ on the CPU and compares its deterministic
  # actions with the GPU-trained policy's on 256 validation observations (and replays the
  # last training-time evaluation on the CPU): the cross-device check of issue 7.
  if grep -q '^PASS roundtrip' "$out/train.log"; then
    note crossdev PASS "final/ of the GPU run loads on the CPU with the GPU policy's deterministic actions"
  elif [ "${smoke_rc:-125}" != 125 ]; then
    note crossdev FAIL "roundtrip check did not pass (train.log)"
  fi
  if [ -d "$smoke/final" ]; then
    run_step eval-cpu 5 30 train.log "$bin" eval --model "$smoke/final" --out "$work/eval"
  fi
else
  note cli SKIP "no $bin, or its test command has no --device flag"
fi

# ---------------------------------------------------------------------------- bench
if have device-cuda.test; then
  run_step bench-kernels 10 30 bench.log \
    bash -c "cd '$root/internal/device' && '$art/device-cuda.test' -test.run '^\$' -test.bench 'CUDA' -test.benchtime 200x -test.benchmem"
fi
if have policy-cuda.test; then
  run_step bench-policy 20 60 bench.log \
    bash -c "cd '$root/internal/policy' && '$art/policy-cuda.test' -test.run '^\$' -test.bench '^(BenchmarkUpdate|BenchmarkAct|BenchmarkCUDAUpdate|BenchmarkCUDAAct)\$/^(host-kernels|kernels-cuda)' -test.benchtime 20x -test.benchmem"
fi
if [ -f scripts/bench_torch.py ] && command -v python3 >/dev/null; then
  run_step bench-torch 10 40 bench.log \
    bash -c "python3 scripts/bench_torch.py --device cuda >'$work/torch.json' && cat '$work/torch.json'"
else
  note bench-torch SKIP "no scripts/bench_torch.py or python3"
fi

# ---------------------------------------------------------------------------- fps
fps_of() { # the last time/fps of a run directory's metrics.jsonl
  grep -o '"time/fps":[0-9.eE+-]*' "$1/metrics.jsonl" 2>/dev/null | tail -1 | cut -d: -f2
}
if [ $cli_ok = 1 ]; then
  for d in cuda cpu; do
    run_step "fps-$d" 20 45 train.log "$bin" train --market NQ --test --device $d --timesteps 8192 \
      --non-interactive --quiet --out "$work/fps-$d"
    eval "fps_$d=\$(fps_of '$work/fps-$d')"
  done
fi

# ---------------------------------------------------------------------------- sanitizer
if command -v compute-sanitizer >/dev/null && have device-cuda.test; then
  run_step sanitizer 30 60 sanitizer.log \
    bash -c "cd '$root/internal/device' && compute-sanitizer --tool memcheck --error-exitcode 3 '$art/device-cuda.test' -test.run 'CUDA(Gemm|Bias|Elementwise|SumSquares|MaskedLog|PPOLoss|Adam)' -test.count=1"
else
  note sanitizer SKIP "no compute-sanitizer"
fi

# ---------------------------------------------------------------------------- summary
ns() { # ns BENCH-REGEX LOG: ns/op of the first matching benchmark line
  grep -E "^$1(-[0-9]+)?[[:space:]]" "$out/$2" 2>/dev/null | head -1 | awk '{for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") {print $i; exit}}'
}
ms() { [ -n "$1" ] && awk -v x="$1" 'BEGIN {printf "%.3f", x / 1e6}' || echo "-"; }
torch_ms() { # torch_ms act_ms|update_ms SIZE: scripts/bench_torch.py's median on cuda
  python3 -c 'import json, sys; print("%.3f" % json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' \
    "$work/torch.json" "$1" "$2" 2>/dev/null || echo "-"
}
{
  echo "gpu-check on ${gpu_name}, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(($(date +%s) - t_start)) s of a ${budget} s budget"
  echo
  printf '%-16s %-8s %6s  %s\n' step status secs detail
  for r in "${summary[@]}"; do
    IFS='|' read -r n s t d <<<"$r"
    printf '%-16s %-8s %6s  %s\n' "$n" "$s" "$t" "$d"
  done
  if [ -f "$out/bench.log" ]; then
    echo
    echo "policy update per minibatch, ms (default network; cpu = the cuda build's CPU backend, the kernel backend on the host engine)"
    printf '%-10s %10s %10s %12s\n' minibatch cpu cuda torch-cuda
    for r in 64 256 2048; do
      printf '%-10s %10s %10s %12s\n' "$r" "$(ms "$(ns "BenchmarkUpdate/host-kernels/minibatch=$r" bench.log)")" \
        "$(ms "$(ns "BenchmarkCUDAUpdate/kernels-cuda:0/minibatch=$r" bench.log)")" "$(torch_ms update_ms "$r")"
    done
    echo "policy act (rollout pass), ms"
    printf '%-10s %10s %10s %12s\n' batch cpu cuda torch-cuda
    for r in 1 8 16; do
      printf '%-10s %10s %10s %12s\n' "$r" "$(ms "$(ns "BenchmarkAct/host-kernels/batch=$r" bench.log)")" \
        "$(ms "$(ns "BenchmarkCUDAAct/kernels-cuda:0/batch=$r" bench.log)")" "$(torch_ms act_ms "$r")"
    done
    grep -E '^BenchmarkCUDAGemm' "$out/bench.log" | awk '{for (i = 1; i <= NF; i++) if ($(i+1) == "GFLOP/s") g = $i; printf "%-44s %s GFLOP/s\n", $1, g}'
  fi
  if [ -n "${fps_cpu:-}${fps_cuda:-}" ]; then
    echo
    echo "end-to-end env steps/s (test mode, 8192 timesteps): cpu ${fps_cpu:--}  cuda ${fps_cuda:--}"
  fi
  echo
  echo "result: $([ $failed = 0 ] && echo 'every step that ran passed' || echo 'FAILURES (see the logs)')"
} | tee "$out/summary.txt"
rm -rf "$work"
exit $failed
