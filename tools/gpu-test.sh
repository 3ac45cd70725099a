#!/usr/bin/env bash
# Run the GPU tests on a machine with an NVIDIA GPU but no .NET SDK (see docs/ARCHITECTURE-gpu.md).
#
#   tools/gpu-test.sh bundle          here (with the SDK): publish the tests self-contained into .gpu/t.tgz
#   tools/gpu-test.sh command         print the command to run on the GPU host
#   tools/gpu-test.sh run [args...]   on the GPU host, from the folder holding .gpu/t.tgz: unpack and run the
#                                     Gpu tests (extra args go to the test runner)
#   tools/gpu-test.sh session OUTDIR  on the GPU host: device facts, Gpu tests, the benchmarks (ours, then inside
#                                     ILGPU's context with the ILGPU kernels), the PyTorch anchors, then
#                                     compute-sanitizer memcheck, racecheck and synccheck; logs into OUTDIR, a
#                                     summary table last. STEPS picks steps (default: all but mirror, which fits
#                                     the 10-minute command limit); SANITIZE narrows the sanitizer filters.
#   tools/gpu-test.sh emulate [FILTER] here, no GPU: build the CUDA emulator (tools/cuda-emulator, clang-14) and the
#                                     tests, then run the GPU tests (or FILTER) on it; AMBIENT_KERNEL_DIR works
#                                     as on a GPU host, so an edited kernel runs without a rebuild
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bundle="${BUNDLE:-.gpu/t.tgz}"
dest="${DEST:-/tmp/t}"
host_cmd="mkdir -p $dest && tar xzf $bundle -C $dest && $dest/AmbientNative.Tests --filter \"TestCategory=Gpu\""

# NVRTC is often outside the loader's path (e.g. /usr/local/cuda/lib64); point the library at it if so.
find_nvrtc() {
  [ -n "${AMBIENT_NVRTC:-}" ] && return
  ldconfig -p 2>/dev/null | grep -q 'libnvrtc\.so' && return
  local f
  f=$(ls /usr/local/cuda/lib64/libnvrtc.so* /usr/local/cuda*/targets/x86_64-linux/lib/libnvrtc.so* 2>/dev/null | head -1)
  [ -z "$f" ] && f=$(find / -xdev -name 'libnvrtc.so*' -not -name '*builtins*' 2>/dev/null | sort | head -1)
  if [ -n "$f" ]; then
    export AMBIENT_NVRTC="$f" LD_LIBRARY_PATH="$(dirname "$f")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "NVRTC: $f"
  fi
}

case "${1:-}" in
  bundle)
    cd "$here/.."
    rm -rf .gpu/t && mkdir -p .gpu
    dotnet publish tests/AmbientNative.Tests -c Release -r linux-x64 --self-contained -o .gpu/t -v q -nologo || exit 1
    tar czf .gpu/t.tgz -C .gpu/t . && rm -rf .gpu/t
    echo "bundle: $(du -h .gpu/t.tgz | cut -f1) .gpu/t.tgz"
    echo "on the GPU host: $host_cmd"
    ;;
  command)
    echo "$host_cmd"
    ;;
  emulate)
    cd "$here/.."
    emu=.gpu/emulator && rm -rf "$emu/kernel-cache" && mkdir -p "$emu/kernel-cache" || exit 1  # every kernel compiled afresh
    clang++-14 -std=c++17 -O2 -fPIC -shared -Wall -Wextra -Werror -DAN_EMU_INCLUDE_DIR="\"$PWD/tools/cuda-emulator\"" \
      tools/cuda-emulator/*.cpp -o "$emu/libcuda_emulator.so" -ldl || exit 1
    dotnet build tests/AmbientNative.Tests -c Release -v q -nologo || exit 1
    AMBIENT_LIBCUDA="$PWD/$emu/libcuda_emulator.so" AMBIENT_NVRTC="$PWD/$emu/libcuda_emulator.so" \
      AMBIENT_KERNEL_CACHE="$PWD/$emu/kernel-cache" AMBIENT_CUDA_ALLOCATOR=exact \
      dotnet tests/AmbientNative.Tests/bin/Release/net10.0/AmbientNative.Tests.dll \
      --filter "${2:-Category=Gpu&Category!=GpuLarge}"
    ;;
  run)
    shift
    find_nvrtc
    mkdir -p "$dest" && tar xzf "$bundle" -C "$dest" && "$dest/AmbientNative.Tests" --filter "TestCategory=Gpu" "$@"
    ;;
  session)
    out="${2:?session needs an output folder}"
    mkdir -p "$out" "$dest" && tar xzf "$bundle" -C "$dest" || exit 1
    find_nvrtc
    t="$dest/AmbientNative.Tests"
    declare -A rc
    steps="${STEPS:-tests ilgpu bench torch memcheck racecheck synccheck}"
    step() { # name timeout command...
      local name=$1 limit=$2; shift 2
      [[ " $steps " == *" $name "* ]] || return 0
      echo "=== $name: $*" | tee "$out/$name.log"
      local s=$SECONDS
      timeout "$limit" "$@" >>"$out/$name.log" 2>&1
      rc[$name]=$?
      echo "=== $name: exit ${rc[$name]} after $((SECONDS - s)) s" | tee -a "$out/$name.log"
    }
    # Device facts go to stdout only: the device tool brings back at most 8 files.
    date -u; uname -r
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,power.limit,temperature.gpu --format=csv
    nvcc --version | tail -2
    # The default steps' limits add up to 560 s, under the device tool's 10 minutes for one command (mirror adds 90);
    # the 2026-11-25 H100 run took 10-15 s for the tests, 7 s memcheck, 32 s racecheck, 5 s synccheck. SANITIZE
    # narrows the sanitizer passes to a filter (e.g. the kernels changed since the last clean run); the sanitizers
    # skip the GpuLarge cases (batch-256 sizes, float64 host references), which racecheck would make minutes long.
    anchors="$here/../benchmarks/anchors"; [ -d "$anchors" ] || anchors="$here"
    step tests 70 "$t" --filter "TestCategory=Gpu" --output detailed
    AMBIENT_PYTHON="$(command -v python3)" AMBIENT_ANCHORS="$anchors" step mirror 90 "$t" --filter "TestCategory=GpuMirror" --output detailed
    # Our backend inside ILGPU's context first (the first GPU run of the ILGPU kernels): the ILGPU-vs-CUDA C parity
    # tests, then the fused-loss and attention benchmarks with both implementations.
    AMBIENT_CUDA_CONTEXT=ilgpu AMBIENT_GPU_BENCH=1 step ilgpu 70 "$t" --filter "FullyQualifiedName~IlgpuCuda|FullyQualifiedName~CudaAmbientFusedBenchmark|FullyQualifiedName~CudaAttentionBenchmark" --output detailed
    AMBIENT_GPU_BENCH=1 AMBIENT_BENCH_OUT="$out/bench.json" step bench 110 "$t" --filter "TestCategory=GpuBench&FullyQualifiedName!~CudaAttentionBenchmark" --output detailed
    { PYTHONUNBUFFERED=1 step torch 50 python3 "$anchors/conv2d_torch.py" "$out/torch.json"; [[ " $steps " == *" torch "* ]] && { PYTHONUNBUFFERED=1 timeout 50 python3 "$anchors/train_step_gpu.py" >>"$out/torch.log" 2>&1; PYTHONUNBUFFERED=1 timeout 30 python3 "$anchors/attention_torch.py" >>"$out/torch.log" 2>&1; }; }
    # The two tests that provoke driver errors on purpose are left out, so any API error reported is real.
    quiet="TestCategory=Gpu&TestCategory!=GpuLarge&FullyQualifiedName!~A_bad_launch&FullyQualifiedName!~A_missing_kernel${SANITIZE:+&($SANITIZE)}"
    step memcheck 50 compute-sanitizer --tool memcheck --error-exitcode 99 "$t" --filter "$quiet"
    # racecheck and synccheck: the fixtures whose kernels use shared memory and barriers (conv, GEMM, group norm,
    # block reductions: sums, the per-channel binary backward, sum of squares, the fused ambient and Tweedie losses,
    # the fused attention, the TF32 convs (in CudaConvTests), and the ILGPU kernels run inside ILGPU's context, whose group reductions and attention rows use shared memory).
    shared="TestCategory=Gpu&(FullyQualifiedName~CudaConvTests|FullyQualifiedName~CudaGemmGroupNormTests|FullyQualifiedName~Sum_and|FullyQualifiedName~SumRows|FullyQualifiedName~Binary_forward|FullyQualifiedName~Scale_ema|FullyQualifiedName~AmbientFused|FullyQualifiedName~TweedieFused|FullyQualifiedName~CudaAttentionTests|FullyQualifiedName~IlgpuCuda)&TestCategory!=GpuLarge${SANITIZE:+&($SANITIZE)}"
    step racecheck 90 compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 99 "$t" --filter "$shared"
    step synccheck 40 compute-sanitizer --tool synccheck --error-exitcode 99 "$t" --filter "$shared"
    echo
    echo "== summary"
    for n in $steps; do
      printf '%-10s exit %-4s %s\n' "$n" "${rc[$n]:-?}" "$(grep -E 'total:|succeeded:|failed:|ERROR SUMMARY|RACECHECK SUMMARY' "$out/$n.log" | tr -s ' ' | tr '\n' ' ' | cut -c1-150)"
    done
    grep -hE 'median|spot check|regs|peak|^torch|^ours|N = |fused|composition|TFLOP' "$out"/{bench,ilgpu,torch,mirror}.log 2>/dev/null | grep -vE 'skipped|no CUDA device' | sed 's/^ *//'
    ;;
  *)
    sed -n '2,12p' "$0"; exit 2
    ;;
esac
