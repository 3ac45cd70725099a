"""PyTorch anchor for tests/AmbientNative.Tests/Gpu/CudaTrainingStepBenchmark.cs: one Ambient Diffusion training step
of the `reference` U-Net (unet_mirror.py: our architecture and parameter names) on the GPU, eager mode, fp32 with
TF32 off, then with TF32 on. Same batch recipe (A keeps 60 %, A~ keeps 90 % of A), Adam lr 1e-4, dropout on.
Host clock around whole steps after torch.cuda.synchronize(), loss read back each step (as our trainer does).

Run on the GPU host: python3 train_step_gpu.py [--batch 256] [--steps 10] [--warmup 3]
"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet_mirror import REFERENCE, UNet, ambient_loss  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=10)
ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("--batch", type=int, nargs="+", default=[256, 64])
args = ap.parse_args()
dev = torch.device("cuda")
print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")

for tf32 in (False, True):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    for n in args.batch:
        torch.manual_seed(0)
        cfg = REFERENCE
        r, c = cfg["Resolution"], cfg["ImageChannels"]
        net = UNet(cfg).to(dev).train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        a = (torch.rand(n, 1, r, r, device=dev) < 0.6).float()
        at = a * (torch.rand(n, 1, r, r, device=dev) < 0.9).float()
        y = (torch.rand(n, c, r, r, device=dev) * 2 - 1) * a

        def step():
            opt.zero_grad(set_to_none=True)
            sigma = (torch.randn(n, device=dev) * 1.2 - 1.2).exp()
            noise = torch.randn(n, c, r, r, device=dev)
            loss, _, _ = ambient_loss(net, y, sigma, noise, a, at)
            loss.backward()
            opt.step()
            return loss.item()

        for _ in range(args.warmup):
            step()
        torch.cuda.synchronize()
        times = []
        for _ in range(args.steps):
            t = time.perf_counter()
            step()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
        med = statistics.median(times) * 1e3
        print(f"torch: reference U-Net ambient step, batch {n}, {'tf32' if tf32 else 'fp32'}: median {med:.2f} ms = "
              f"{n / med * 1000:.0f} img/s (min {min(times) * 1e3:.2f}, max {max(times) * 1e3:.2f})")
