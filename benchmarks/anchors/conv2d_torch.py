"""PyTorch/cuDNN anchor for the conv2d benchmark (tests/AmbientNative.Tests/Gpu/CudaConvBenchmark.cs).

Same problem: 3x3, 128->128 channels, batch 256, 32x32, padding 1, fp32 with TF32 off. Times forward, data
grad and weight grad (+ bias grad) separately with CUDA events, median of 20 after warm-up, for cuDNN's
default algorithm choice and for cudnn.benchmark=True (its autotuned best); then the same with TF32 on
(cudnn_tf32, autotuned), the anchor for our conv2d_*_tf32 kernels.
"""
import json
import statistics
import sys

import torch

torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False


def time_ms(fn, warmup=5, reps=20):
    for _ in range(warmup):
        fn()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    for s, e in zip(starts, ends):
        s.record()
        fn()
        e.record()
    torch.cuda.synchronize()
    return [s.elapsed_time(e) for s, e in zip(starts, ends)]


def main():
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    n, c, h, w, k = 256, 128, 32, 32, 3
    x = torch.randn(n, c, h, w, device=dev, generator=g)
    wt = torch.randn(c, c, k, k, device=dev, generator=g) * 0.05
    b = torch.randn(c, device=dev, generator=g)
    gy = torch.randn(n, c, h, w, device=dev, generator=g)
    conv_bwd = torch.ops.aten.convolution_backward
    args = ([c], [1, 1], [1, 1], [1, 1], False, [0, 0], 1)
    flop = 2.0 * n * c * h * w * c * k * k
    props = torch.cuda.get_device_properties(dev)
    out = {"device": props.name, "sms": props.multi_processor_count, "torch": torch.__version__,
           "cudnn": torch.backends.cudnn.version(), "gflop": flop / 1e9}
    for bench in (False, True):
        torch.backends.cudnn.benchmark = bench
        r = {
            "fwd": time_ms(lambda: torch.nn.functional.conv2d(x, wt, b, padding=1)),
            "dgrad": time_ms(lambda: conv_bwd(gy, x, wt, *args, [True, False, False])),
            "wgrad": time_ms(lambda: conv_bwd(gy, x, wt, *args, [False, True, True])),
        }
        out["cudnn_benchmark" if bench else "cudnn_default"] = {
            key: {"median_ms": statistics.median(v), "tflops": flop / statistics.median(v) / 1e9, "ms": v} for key, v in r.items()}
    # Reference values for a cross-check of our kernels' numbers would need the same inputs; the C# test checks
    # against float64 itself, so only timings are compared here.
    # Which kernels cuDNN chose (benchmark mode): the names say implicit GEMM, Winograd, FFT, ...
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for name, fn in (("fwd", lambda: torch.nn.functional.conv2d(x, wt, b, padding=1)),
                         ("dgrad", lambda: conv_bwd(gy, x, wt, *args, [True, False, False])),
                         ("wgrad", lambda: conv_bwd(gy, x, wt, *args, [False, True, True]))):
            with torch.profiler.record_function(name):
                fn()
        torch.cuda.synchronize()
    kernels = [(e.key, e.device_time_total / 1e3) for e in prof.key_averages() if e.device_time_total > 0 and e.key not in ("fwd", "dgrad", "wgrad")]
    out["kernels"] = kernels
    for k, ms in kernels:
        print(f"cudnn kernel {ms:8.3f} ms  {k[:150]}")
    # TF32 tensor cores (cudnn.allow_tf32), autotuned: the anchor for CudaConvBenchmark's TF32 rows.
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    r = {
        "fwd": time_ms(lambda: torch.nn.functional.conv2d(x, wt, b, padding=1)),
        "dgrad": time_ms(lambda: conv_bwd(gy, x, wt, *args, [True, False, False])),
        "wgrad": time_ms(lambda: conv_bwd(gy, x, wt, *args, [False, True, True])),
    }
    out["cudnn_tf32"] = {key: {"median_ms": statistics.median(v), "tflops": flop / statistics.median(v) / 1e9, "ms": v} for key, v in r.items()}
    torch.backends.cudnn.allow_tf32 = False
    for mode in ("cudnn_default", "cudnn_benchmark", "cudnn_tf32"):
        row = out[mode]
        print(f"torch {mode:16s} " + "  ".join(f"{key} {v['median_ms']:.3f} ms ({v['tflops']:.1f} TFLOP/s)" for key, v in row.items()))
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
