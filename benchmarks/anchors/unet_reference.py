"""PyTorch anchor for tests/AmbientNative.Tests/Nn/UNetTorchAnchorTests.cs.

Builds NVlabs/edm's own SongUNet (DDPM++: positional embedding, standard encoder and decoder) in the `tiny`
preset's shape and prints, as C# literals: its named_parameters() with shapes (the test compares them with ours,
name by name and in order), and its float64 output for parameters and input filled from a closed-form hash that
the C# test reproduces.

The one departure from EDM (see src/AmbientNative/Nn/UNetBlock.cs): a down-sampling block's conv0 is a 3x3
convolution with stride 2 and padding 1 instead of 2x2 averaging then a 3x3 convolution. Everything else, the
skip's averaging + 1x1 conv and the nearest-neighbour up-sampling included, is EDM's code unchanged.

Run: python3 unet_reference.py --edm PATH_TO_EDM_CHECKOUT   (only its training/networks.py is imported; CPU is enough)
"""
import argparse
import math
import sys
import types

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--edm", required=True, help="a checkout of github.com/NVlabs/edm")
args = ap.parse_args()

# networks.py needs only torch_utils.persistence's class decorator; stand in for it rather than import dnnlib.
persistence = types.ModuleType("torch_utils.persistence")
persistence.persistent_class = lambda cls: cls
sys.modules["torch_utils"] = types.ModuleType("torch_utils")
sys.modules["torch_utils.persistence"] = persistence
sys.path.insert(0, args.edm)
from training import networks  # noqa: E402


def hashed(n, k):
    """Uniform-looking values in [-1, 1): frac(sin(12.9898 i + 78.233 k) * 43758.5453) * 2 - 1, in double."""
    out = []
    for i in range(n):
        s = math.sin(12.9898 * i + 78.233 * k) * 43758.5453
        out.append((s - math.floor(s)) * 2 - 1)
    return torch.tensor(out, dtype=torch.float64).float()  # rounded to float32, as the C# parameters are


net = networks.SongUNet(img_resolution=16, in_channels=4, out_channels=3, model_channels=16, channel_mult=[1, 2],
                        num_blocks=1, attn_resolutions=[8], dropout=0)
with torch.no_grad():
    for k, (name, p) in enumerate(net.named_parameters()):
        v = hashed(p.numel(), k).reshape(p.shape)
        if p.dim() >= 2:
            p.copy_(v / math.sqrt(p.numel() // p.shape[0]))  # ~ unit gain: every path matters
        elif name.endswith(".weight"):
            p.copy_(1 + 0.3 * v)  # GroupNorm scales
        else:
            p.copy_(0.3 * v)  # biases

for block in net.modules():
    if isinstance(block, networks.UNetBlock) and block.conv0.down:
        conv = block.conv0
        conv.forward = lambda h, c=conv: F.conv2d(h, c.weight, c.bias, stride=2, padding=1)

x = hashed(2 * 4 * 16 * 16, 1000).reshape(2, 4, 16, 16).double()
labels = torch.tensor([-1.3, 0.8], dtype=torch.float32).double()
net = net.double().eval()
with torch.no_grad():
    y = net(x, labels, class_labels=None)


def cs(name, values, comment=""):
    print(f"    private static readonly double[] {name} = [{', '.join(repr(float(v)) for v in values)}];{comment}")


print(f"    // torch {torch.__version__}, float64, NVlabs/edm SongUNet, {sum(p.numel() for p in net.parameters())} parameters")
print('    private const string EdmNames = """')
for name, p in net.named_parameters():
    print(f"        {name} {list(p.shape)}")
print('        """;')
cs("TorchSamples", y.flatten()[::61], " // y.flatten()[::61]")
cs("TorchChannelMeans", y.mean(dim=(2, 3)).flatten())
cs("TorchChannelRms", y.square().mean(dim=(2, 3)).sqrt().flatten())
