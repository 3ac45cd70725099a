#!/usr/bin/env bash
# H100 run gpu2-2 (commit 49b40aa; sent inline through the device tool): all Gpu tests; memcheck over the new-kernel
# fixtures, racecheck and synccheck over the shared-memory fixtures, side by side; then the ops benchmark alone.
O=$OUT; mkdir -p /tmp/t && tar xzf .gpu/t.tgz -C /tmp/t || exit 1
nv=/usr/local/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so; export AMBIENT_NVRTC=$nv LD_LIBRARY_PATH=$(dirname $nv)
T=/tmp/t/AmbientNative.Tests
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv,noheader; date -u
s(){ n=$1; l=$2; shift 2; b=$SECONDS; timeout $l "$@" >$O/$n.log 2>&1; echo "== $n exit $? $((SECONDS-b))s: $(grep -hE 'total:|failed:|succeeded:|ERROR SUMMARY|RACECHECK SUMMARY' $O/$n.log | tr -s ' ' | tr '\n' ' ')"; }
NEW='TestCategory=Gpu&(FullyQualifiedName~CudaPointwise|FullyQualifiedName~CudaReduceShape|FullyQualifiedName~CudaGemmGroupNorm|FullyQualifiedName~CudaOptim|FullyQualifiedName~CudaTrainingStep)'
SH='TestCategory=Gpu&(FullyQualifiedName~CudaGemmGroupNorm|FullyQualifiedName~Sum_and|FullyQualifiedName~SumRows|FullyQualifiedName~Binary_forward|FullyQualifiedName~Scale_ema)'
s tests 100 $T --filter "TestCategory=Gpu" --output detailed
s memcheck 150 compute-sanitizer --tool memcheck --error-exitcode 99 $T --filter "$NEW" &
s racecheck 150 compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 99 $T --filter "$SH" &
s synccheck 150 compute-sanitizer --tool synccheck --error-exitcode 99 $T --filter "$SH" &
wait
AMBIENT_GPU_BENCH=1 AMBIENT_OPS_BENCH_OUT=$O/ops-bench.txt timeout 60 $T --filter "FullyQualifiedName~CudaOpsBenchmark" >$O/bench.log 2>&1; echo "== bench exit $?"
cat $O/ops-bench.txt
grep -B1 -A8 -E "^\s*failed " $O/tests.log | cut -c1-300 | head -60
grep -E "loss cpu|worst" $O/tests.log | head -3
