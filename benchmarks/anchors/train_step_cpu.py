"""PyTorch anchor for benchmarks/AmbientNative.Benchmarks/TrainingStepBenchmarks.cs: one Ambient Diffusion training
step of the `reference` U-Net (unet_mirror.py, our architecture and parameter names) at batch 16, 32x32, on the CPU:
sigma and noise draws, forward through the EDM preconditioning, the ambient loss, backward, Adam (lr 1e-4), with
dropout 0.1 in training mode. Same fixed batch recipe as the C# benchmark (y = A x0, A keeps 60 %, A~ keeps 90 % of A).

Run: flock /tmp/dotnet.lock /usr/bin/python3 benchmarks/anchors/train_step_cpu.py [--steps 10] [--warmup 3] [--threads 2]
Prints the median and every step's time.
"""
import argparse
import math
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
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batch", type=int, default=16)
args = ap.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
cfg, n = REFERENCE, args.batch
r, c = cfg["Resolution"], cfg["ImageChannels"]
net = UNet(cfg).train()
opt = torch.optim.Adam(net.parameters(), lr=1e-4)

a = (torch.rand(n, 1, r, r) < 0.6).float()
at = a * (torch.rand(n, 1, r, r) < 0.9).float()
y = (torch.rand(n, c, r, r) * 2 - 1) * a


def step():
    opt.zero_grad(set_to_none=True)
    sigma = (torch.randn(n) * 1.2 - 1.2).exp()
    noise = torch.randn(n, c, r, r)
    loss, _, _ = ambient_loss(net, y, sigma, noise, a, at)
    loss.backward()
    opt.step()
    return loss.item()


for _ in range(args.warmup):
    step()
times = []
for _ in range(args.steps):
    t = time.perf_counter()
    step()
    times.append(time.perf_counter() - t)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {n}, "
      f"{sum(p.numel() for p in net.parameters())} parameters: median {statistics.median(times) * 1e3:.0f} ms "
      f"over {len(times)} steps (min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}); all: "
      + " ".join(f"{t * 1e3:.0f}" for t in times))
