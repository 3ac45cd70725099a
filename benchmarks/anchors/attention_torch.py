"""PyTorch anchor for tests/AmbientNative.Tests/Gpu/CudaAttentionBenchmark.cs: single-head attention at the reference
U-Net's 16x16 level (T = 256 tokens, C = 128 channels, batch 256), fp32 with TF32 off, forward and forward + backward.

Two PyTorch paths on the same qkv [N, 3C, 16, 16] (EDM's layout: q, k, v interleaved per channel):
  mirror - unet_mirror.attention, the formula our U-Net mirror uses (bmm + softmax + bmm), as PyTorch eager runs it;
  sdpa   - torch.nn.functional.scaled_dot_product_attention on [N, 1, T, C] views (PyTorch's fused kernels;
           in fp32 the memory-efficient one), layout changes included.
CUDA events, median of 20 after 5 warm-ups; TFLOP/s count the composition's useful work (4 N T^2 C forward,
12 N T^2 C forward + backward) as the C# benchmark does, so rates compare like times.

Run on the GPU host: python3 attention_torch.py [out.json]
"""
import json
import math
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conv2d_torch import time_ms  # noqa: E402  (CUDA-event timings: ms per repetition)
from unet_mirror import attention as mirror_attention  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def sdpa_attention(qkv):
    n, c3, h, w = qkv.shape
    c = c3 // 3
    r = qkv.reshape(n, c, 3, h * w)
    q, k, v = (r[:, :, i].transpose(1, 2).unsqueeze(1) for i in range(3))  # [N, 1, T, C]
    o = torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=1.0 / math.sqrt(c))
    return o.squeeze(1).transpose(1, 2).reshape(n, c, h, w)


def main():
    dev = torch.device("cuda")
    torch.manual_seed(0)
    n, c, h, w = 256, 128, 16, 16
    t = h * w
    qkv = torch.randn(n, 3 * c, h, w, device=dev, requires_grad=True)
    gy = torch.randn(n, c, h, w, device=dev)
    t2c = float(n) * t * t * c
    out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "n": n, "c": c, "tokens": t}
    with torch.no_grad():
        reference = mirror_attention(qkv)
    for name, fn in (("mirror", mirror_attention), ("sdpa", sdpa_attention)):
        def forward():
            with torch.no_grad():
                fn(qkv)

        def forward_backward():
            qkv.grad = None
            fn(qkv).backward(gy)

        with torch.no_grad():
            diff = ((fn(qkv) - reference).norm() / reference.norm()).item()
        f, fb = time_ms(forward), time_ms(forward_backward)
        row = {"fwd_median_ms": statistics.median(f), "fwd_tflops": 4 * t2c / statistics.median(f) / 1e9,
               "fwd_bwd_median_ms": statistics.median(fb), "fwd_bwd_tflops": 12 * t2c / statistics.median(fb) / 1e9,
               "rel_diff_vs_mirror": diff}
        out[name] = row
        print(f"torch attention {name:6s} forward {row['fwd_median_ms']:.3f} ms ({row['fwd_tflops']:.1f} TFLOP/s)  "
              f"forward + backward {row['fwd_bwd_median_ms']:.3f} ms ({row['fwd_bwd_tflops']:.1f} TFLOP/s)  vs mirror {diff:.2e}")
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
