#!/usr/bin/env bash
# H100 run gpu2-1 (commit 9366a6a; sent inline through the device tool from
# the repository root with .gpu/t.tgz): all Gpu tests, then memcheck over the new-kernel fixtures and racecheck over the
# fixtures whose kernels use shared memory, the two sanitizers side by side.
O=$OUT; mkdir -p /tmp/t && tar xzf .gpu/t.tgz -C /tmp/t || exit 1
nv=/usr/local/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so; export AMBIENT_NVRTC=$nv LD_LIBRARY_PATH=$(dirname $nv)
T=/tmp/t/AmbientNative.Tests
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
s(){ n=$1; l=$2; shift 2; b=$SECONDS; timeout $l "$@" >$O/$n.log 2>&1; echo "== $n exit $? $((SECONDS-b))s: $(grep -hE 'total:|failed:|succeeded:|ERROR SUMMARY|RACECHECK SUMMARY' $O/$n.log | tr -s ' ' | tr '\n' ' ')"; }
NEW='TestCategory=Gpu&(FullyQualifiedName~CudaPointwise|FullyQualifiedName~CudaReduceShape|FullyQualifiedName~CudaGemmGroupNorm|FullyQualifiedName~CudaOptim|FullyQualifiedName~CudaTrainingStep)'
SH='TestCategory=Gpu&(FullyQualifiedName~CudaGemmGroupNorm|FullyQualifiedName~Sum_and|FullyQualifiedName~SumRows|FullyQualifiedName~Binary_forward|FullyQualifiedName~Scale_ema)'
s tests 100 $T --filter "TestCategory=Gpu" --output detailed
s memcheck 130 compute-sanitizer --tool memcheck --error-exitcode 99 $T --filter "$NEW" &
s racecheck 130 compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 99 $T --filter "$SH" &
wait
grep -B1 -A8 -E "^\s*failed " $O/tests.log | cut -c1-300 | head -120
