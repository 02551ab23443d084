#!/usr/bin/env bash
# check-imports.sh: the import rule of DESIGN.md, checked with `go list` and grep.
#
#   env, gemm, vec, ppoloss, atomicfile, tfevents, pngplot: leaves (gemm and vec are the
#                               CPU's SIMD kernels and ppoloss the PPO loss's one definition,
#                               below device and policy; atomicfile writes files all at once;
#                               tfevents writes TensorBoard event files; pngplot draws the
#                               PNG pictures, below report, curves, sweep and walkforward)
#   device -> gemm, vec, ppoloss      adapter -> device
#   policy -> adapter, device, gemm, vec, ppoloss, atomicfile
#   ppo -> env, device, adapter, policy, atomicfile, tfevents
#   report -> env, policy, ppo, atomicfile, pngplot         curves -> ppo, pngplot
#   sweep -> env, policy, ppo, report, atomicfile, pngplot (and k8s.io's API types, never
#            client-go)
#   walkforward -> env, ppo, report, atomicfile, pngplot
#   sb3 -> env, device, policy (reads SB3 models; only cmd imports it, and only it gopickle)
#
# Also fails on: a CLI library (cobra, viper, pflag, progressbar) anywhere under internal/;
# os.Exit, log.Fatal or writes to stdout under internal/ (non-test files); gorgonia in
# internal/env; a third-party import in tfevents other than protowire, or in pngplot other
# than gonum.org/v1/plot; gorgonia.org/cu in the default (no-tag) build, or imported by a
# file without the cuda build tag.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
allowed() {
  case "$1" in
    env|gemm|vec|ppoloss|atomicfile|tfevents|pngplot) echo "" ;;
    device)     echo "gemm vec ppoloss" ;;
    adapter)    echo "device" ;;
    policy)     echo "adapter device gemm vec ppoloss atomicfile" ;;
    ppo)        echo "env device adapter policy atomicfile tfevents" ;;
    report)     echo "env policy ppo atomicfile pngplot" ;;
    curves)     echo "ppo pngplot" ;;
    sweep)      echo "env policy ppo report atomicfile pngplot" ;;
    walkforward) echo "env ppo report atomicfile pngplot" ;;
    sb3)        echo "env device policy" ;;
  esac
}
status=0
fail() { echo "check-imports: $*"; status=1; }

for pkg in env gemm vec ppoloss atomicfile tfevents pngplot device adapter policy ppo report curves sweep walkforward sb3; do
  [ -d "internal/$pkg" ] || continue
  # Imports of the package and its test files, sub-packages included.
  imps=$(go list -f '{{join .Imports "\n"}}{{"\n"}}{{join .TestImports "\n"}}{{"\n"}}{{join .XTestImports "\n"}}' "./internal/$pkg/..." | sort -u)
  for imp in $imps; do
    case "$imp" in "$mod/internal/"*) ;; *) continue ;; esac
    dep=${imp#"$mod/internal/"}; dep=${dep%%/*}
    [ "$dep" = "$pkg" ] && continue
    case " $(allowed "$pkg") " in *" $dep "*) ;; *)
      fail "internal/$pkg must not import internal/$dep" ;;
    esac
  done
  if go list -deps "./internal/$pkg/..." | grep -Eq '^github.com/(spf13|schollz)/'; then
    fail "internal/$pkg depends on a CLI library (cobra, viper, pflag or progressbar)"
  fi
done

# tfevents stands on the standard library and protowire alone.
for imp in $(go list -f '{{join .Imports " "}}' ./internal/tfevents); do
  case "${imp%%/*}" in *.*) [ "$imp" = google.golang.org/protobuf/encoding/protowire ] ||
    fail "internal/tfevents imports $imp (only the standard library and protowire)" ;;
  esac
done

# pngplot stands on the standard library and gonum/plot alone.
for imp in $(go list -f '{{join .Imports " "}}' ./internal/pngplot); do
  case "${imp%%/*}" in *.*) case "$imp" in gonum.org/v1/plot|gonum.org/v1/plot/*) ;; *)
    fail "internal/pngplot imports $imp (only the standard library and gonum.org/v1/plot)" ;;
  esac ;; esac
done

# The pickle reader is the SB3 importer's alone: nothing else reads files that can name code.
for p in $(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./... | grep ' github.com/nlpodyssey/gopickle' | cut -d' ' -f1); do
  [ "$p" = "$mod/internal/sb3" ] || fail "$p imports github.com/nlpodyssey/gopickle (only internal/sb3 may)"
done

if go list -deps ./internal/env/... | grep -q '^gorgonia.org/'; then
  fail "internal/env depends on gorgonia"
fi
if go list -deps ./... | grep -qx 'gorgonia.org/cu'; then
  fail "the default (no-tag) build pulls in gorgonia.org/cu"
fi

# gorgonia.org/cu only in files that carry //go:build cuda.
while IFS= read -r f; do
  grep -q '^//go:build.*\bcuda\b' "$f" && ! grep -q '^//go:build.*!cuda' "$f" || fail "$f imports gorgonia.org/cu without //go:build cuda"
done < <(grep -rl --include='*.go' '"gorgonia.org/cu' internal cmd 2>/dev/null || true)

# No process exits or stdout writes in library code (tests may print through t.Log).
hits=$(grep -rnE --include='*.go' '\bos\.Exit\(|\blog\.Fatal|\bos\.Stdout\b|\bfmt\.Print(f|ln)?\(' internal | grep -v '_test\.go:' || true)
if [ -n "$hits" ]; then
  fail "internal/ must not exit or write to stdout:"; echo "$hits"
fi

[ $status -eq 0 ] && echo "check-imports: ok"
exit $status
