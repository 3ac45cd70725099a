#!/usr/bin/env bash
# H100 run 4 (one-off, kept for the record): conv2d.cu with a cp.async 3-stage pipeline (embedded in t.tgz)
# against the register-staged double buffer (base/conv2d.cu, loaded through AMBIENT_KERNEL_DIR) with the same
# DLL, alternating; Gpu tests, memcheck, racecheck and synccheck of the cp.async kernels.
set -uo pipefail
out=$1; cd "$(dirname "$0")"
mkdir -p /tmp/t && tar xzf t.tgz -C /tmp/t || exit 1
nv=/usr/local/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so
export AMBIENT_NVRTC=$nv LD_LIBRARY_PATH=$(dirname $nv)
T=/tmp/t/AmbientNative.Tests
timeout 100 $T --filter "TestCategory=Gpu" --output detailed >$out/tests.log 2>&1; echo "tests exit $?"
for v in base cpasync base cpasync; do
  echo "== $v" >>$out/bench.log
  if [ $v = base ]; then kd=$PWD/base; else kd=; fi
  AMBIENT_KERNEL_DIR=$kd AMBIENT_GPU_BENCH=1 AMBIENT_BENCH_OUT=$out/bench.json timeout 100 $T --filter "TestCategory=GpuBench" --output detailed >>$out/bench.log 2>&1
  echo "bench $v exit $?"
done
C="TestCategory=Gpu&FullyQualifiedName~CudaConvTests"
timeout 120 compute-sanitizer --tool memcheck --error-exitcode 99 $T --filter "$C" >$out/memcheck.log 2>&1; echo "memcheck exit $?"
timeout 150 compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 99 $T --filter "$C" >$out/racecheck.log 2>&1; echo "racecheck exit $?"
timeout 60 compute-sanitizer --tool synccheck --error-exitcode 99 $T --filter "$C" >$out/synccheck.log 2>&1; echo "synccheck exit $?"
grep -E "^== |median|spot check|regs" $out/bench.log | grep -v "^    "
grep -E "total:|failed:" $out/tests.log | tr -s ' ' | tr '\n' ' '; echo
grep -hE "ERROR SUMMARY|RACECHECK SUMMARY|total:|failed:" $out/memcheck.log $out/racecheck.log $out/synccheck.log | tr -s ' '
