#!/usr/bin/env python3
"""PyTorch CPU anchor for ConvBenchmarks: the same convolution, the same three passes, 2 threads.

Run with Debian's interpreter, which has python3-torch (PyTorch 1.13, oneDNN):
    /usr/bin/python3 benchmarks/anchors/conv_cpu.py
Each pass calls the kernel PyTorch's autograd would call (aten.convolution_backward with an output mask),
so no autograd bookkeeping is timed. Prints the median of N runs after warm-up, in ms and GFLOP/s.
"""
import statistics
import time

import torch

N, CIN, H, W, COUT, K, STRIDE, PAD = 16, 128, 32, 32, 128, 3, 1, 1
WARMUP, RUNS = 5, 30


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    oh, ow = (H + 2 * PAD - K) // STRIDE + 1, (W + 2 * PAD - K) // STRIDE + 1
    flops = 2.0 * N * COUT * oh * ow * CIN * K * K  # the same count for each of the three passes

    x = torch.randn(N, CIN, H, W)
    w = torch.randn(COUT, CIN, K, K) * 0.03
    b = torch.randn(COUT)
    gy = torch.randn(N, COUT, oh, ow)

    def backward(mask):
        return torch.ops.aten.convolution_backward(
            gy, x, w, [COUT], [STRIDE, STRIDE], [PAD, PAD], [1, 1], False, [0, 0], 1, mask)

    passes = [
        ("Forward", lambda: torch.nn.functional.conv2d(x, w, b, STRIDE, PAD)),
        ("BackwardData", lambda: backward([True, False, False])),
        ("BackwardWeight", lambda: backward([False, True, True])),  # weight and bias, like ours
    ]
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, oneDNN "
          f"{'on' if torch.backends.mkldnn.is_available() else 'off'}; "
          f"conv {N}x{CIN}x{H}x{W} -> {COUT}, {K}x{K}, stride {STRIDE}, pad {PAD}; median of {RUNS}")
    print(f"| {'Method':<15} | {'Median':>10} | {'GFLOP/s':>7} |")
    with torch.no_grad():
        for name, fn in passes:
            for _ in range(WARMUP):
                fn()
            times = []
            for _ in range(RUNS):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            print(f"| {name:<15} | {med * 1e3:7.3f} ms | {flops / med / 1e9:7.1f} |")


if __name__ == "__main__":
    main()
