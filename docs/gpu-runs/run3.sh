#!/usr/bin/env bash
# H100 run 3 (one-off, kept for the record): the weight-reorder change (coalesced A loads in forward and data
# grad) against the previous AmbientNative.dll in the same call, alternating old/new; ncu on the forward and
# weight-grad kernels; Gpu tests, memcheck and racecheck of the new build.
# Run from a folder holding t.tgz (new build) and AmbientNative.old.dll (commit c34cb62).
set -uo pipefail
out=$1; cd "$(dirname "$0")"
mkdir -p /tmp/t && tar xzf t.tgz -C /tmp/t || exit 1
cp -a /tmp/t /tmp/t_old && cp AmbientNative.old.dll /tmp/t_old/AmbientNative.dll
nv=/usr/local/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so
export AMBIENT_NVRTC=$nv LD_LIBRARY_PATH=$(dirname $nv)
T=/tmp/t/AmbientNative.Tests
timeout 100 $T --filter "TestCategory=Gpu" >$out/tests.log 2>&1; echo "tests exit $?"
for v in old new old new; do
  d=/tmp/t; [ $v = old ] && d=/tmp/t_old
  echo "== $v" >>$out/bench.log
  AMBIENT_GPU_BENCH=1 AMBIENT_BENCH_OUT=$out/bench.json timeout 100 $d/AmbientNative.Tests --filter "TestCategory=GpuBench" --output detailed >>$out/bench.log 2>&1
  echo "bench $v exit $?"
done
for v in new old; do
  d=/tmp/t; [ $v = old ] && d=/tmp/t_old
  for k in conv2d_fwd conv2d_wgrad; do
    echo "== ncu $v $k" >>$out/ncu.log
    AMBIENT_GPU_BENCH=1 timeout 100 ncu --clock-control none --kernel-name $k --launch-skip 3 --launch-count 1 \
      --section SpeedOfLight --section ComputeWorkloadAnalysis --section SchedulerStats --section WarpStateStats --section Occupancy \
      $d/AmbientNative.Tests --filter "TestCategory=GpuBench" >>$out/ncu.log 2>&1
    echo "ncu $v $k exit $?"
  done
done
timeout 120 compute-sanitizer --tool memcheck --error-exitcode 99 $T --filter "TestCategory=Gpu&FullyQualifiedName~CudaConvTests" >$out/memcheck.log 2>&1; echo "memcheck exit $?"
timeout 120 compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 99 $T --filter "TestCategory=Gpu&FullyQualifiedName~CudaConvTests" >$out/racecheck.log 2>&1; echo "racecheck exit $?"
grep -E "^== |median|spot check" $out/bench.log | grep -v "^    "
grep -E "^== ncu|Duration|Compute \(SM\) Throughput|Memory Throughput|Issue Slots Busy|Executed Ipc Active|No Eligible|Achieved Occupancy|Registers Per|Stall|Warp Cycles Per Issued" $out/ncu.log | head -60
grep -E "total:|failed:" $out/tests.log | tr -s ' ' | tr '\n' ' '; echo
grep -hE "ERROR SUMMARY|RACECHECK SUMMARY" $out/memcheck.log $out/racecheck.log
