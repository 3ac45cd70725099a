#!/usr/bin/env bash
# H100 run 2 (one-off, kept for the record): Gpu tests, benchmark after the split-K wave fix, memcheck of the
# conv tests, the cuDNN anchor with kernel names, and two deliberately broken conv kernels (loaded through
# AMBIENT_KERNEL_DIR) that the tests must catch. Run from a folder holding t.tgz, conv2d.cu, conv2d_torch.py.
set -uo pipefail
out=$1; cd "$(dirname "$0")"
mkdir -p /tmp/t && tar xzf t.tgz -C /tmp/t || exit 1
nv=/usr/local/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so
export AMBIENT_NVRTC=$nv LD_LIBRARY_PATH=$(dirname $nv)
T=/tmp/t/AmbientNative.Tests
timeout 100 $T --filter "TestCategory=Gpu" >$out/tests.log 2>&1; echo "tests exit $?"
AMBIENT_GPU_BENCH=1 AMBIENT_BENCH_OUT=$out/bench.json timeout 100 $T --filter "TestCategory=GpuBench" --output detailed >$out/bench.log 2>&1; echo "bench exit $?"
PYTHONUNBUFFERED=1 timeout 100 python3 conv2d_torch.py $out/torch.json >$out/torch.log 2>&1; echo "torch exit $?"
timeout 120 compute-sanitizer --tool memcheck --error-exitcode 99 $T --filter "TestCategory=Gpu&FullyQualifiedName~CudaConvTests" >$out/memcheck.log 2>&1; echo "memcheck exit $?"
# Broken on purpose: (1) the forward drops the bias; (2) the weight-grad loader reads pixel row r&6 instead of r.
for v in 1 2; do
  mkdir -p /tmp/kb$v
  case $v in
    1) sed 's/a.out\[base\[j\] + m \* HoWo\] = acc\[i\]\[j\] + b;/a.out[base[j] + m * HoWo] = acc[i][j];/' conv2d.cu >/tmp/kb$v/conv2d.cu ;;
    2) sed 's/const int q = (step - img \* qsteps) \* BK + r;/const int q = (step - img * qsteps) * BK + (r \& 6);/' conv2d.cu >/tmp/kb$v/conv2d.cu ;;
  esac
  echo "== broken variant $v: $(diff conv2d.cu /tmp/kb$v/conv2d.cu | grep -c '^>') line(s) changed" >>$out/break.log
  AMBIENT_KERNEL_DIR=/tmp/kb$v AMBIENT_KERNEL_CACHE=/tmp/kbc$v timeout 60 $T --filter "FullyQualifiedName~CudaConvTests" >>$out/break.log 2>&1
  echo "broken variant $v: runner exit $? (nonzero expected)"
done
grep -E "^torch|cudnn kernel" $out/torch.log
grep -E "median|spot check|regs" $out/bench.log | sort -u
grep -E "total:|failed:|succeeded:" $out/tests.log | tr -s ' ' | tr '\n' ' '; echo
grep -E "ERROR SUMMARY|total:" $out/memcheck.log | tr -s ' ' | tr '\n' ' '; echo
grep -E "^== broken|total:|failed:|relative error" $out/break.log | sort | uniq -c | sort -rn | head -20
