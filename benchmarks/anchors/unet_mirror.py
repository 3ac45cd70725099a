"""A standalone PyTorch mirror of AmbientNative's U-Net, EDM preconditioning and Ambient loss.

Written from our C# code (src/AmbientNative/Nn/*.cs, Diffusion/EdmPreconditioner.cs, Diffusion/Losses/AmbientLoss.cs),
not imported from NVlabs/edm, so it needs only torch (1.13 on the CPU machine, 2.x on the GPU host). Parameter names,
shapes and registration order are ours ("enc.32x32_block0.conv0.weight", ...), so our safetensors checkpoints load
with `load_safetensors` + `load_state_dict`.

Parity mode (used by tests/AmbientNative.Tests/Nn/UNetTorchMirrorTests.cs):
    python3 unet_mirror.py parity IN.safetensors OUT.safetensors
IN holds every parameter by name plus "input.y" [N,C,H,W] (the observed batch), "input.sigma" [N], "input.noise"
[N,C,H,W], "input.mask_a" and "input.mask_atilde" [N,1,H,W]; its metadata holds the UNetConfig as JSON ("config").
OUT holds "out.d" (the denoiser output D(xt; sigma, A~)), "out.loss" [1], "out.loss_atilde" [1] and "grad.<name>" for
every parameter: float32 forward and backward of the Ambient loss, dropout off.
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SIGMA_DATA = 0.5
NORM_EPS = 1e-6  # UNetConfig.NormEps


# ---- safetensors by hand: 8-byte little-endian header length, JSON header, raw little-endian data --------------------
def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    dtypes = {"F32": np.float32, "F64": np.float64}
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        arr = np.frombuffer(raw, dtype=dtypes[info["dtype"]], count=(e - b) // np.dtype(dtypes[info["dtype"]]).itemsize,
                            offset=8 + n + b)
        out[name] = torch.from_numpy(arr.astype(np.float32).reshape(info["shape"]))
    return out, meta


def save_safetensors(path, tensors, meta=None):
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name in sorted(tensors):
        a = tensors[name].detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---- layers (Nn/*.cs) ------------------------------------------------------------------------------------------------
class Linear(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class Conv2d(nn.Module):
    """'same' padding k//2, optional stride; gated: conv(x, W) * sigmoid(conv(x, G)) + b (one sigmoid)."""

    def __init__(self, cin, cout, k, stride=1, gated=False, gain=1.0):
        super().__init__()
        self.stride, self.pad = stride, k // 2
        self.weight = nn.Parameter(torch.empty(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout))
        nn.init.xavier_uniform_(self.weight, gain)
        self.gate_weight = nn.Parameter(torch.empty(cout, cin, k, k)) if gated else None
        if gated:
            nn.init.xavier_uniform_(self.gate_weight, gain)

    def forward(self, x):
        if self.gate_weight is None:
            return F.conv2d(x, self.weight, self.bias, self.stride, self.pad)
        y = F.conv2d(x, self.weight, None, self.stride, self.pad)
        y = y * torch.sigmoid(F.conv2d(x, self.gate_weight, None, self.stride, self.pad))
        return y + self.bias.reshape(1, -1, 1, 1)


class GroupNorm(nn.Module):
    def __init__(self, c, max_groups=32, min_per_group=4):
        super().__init__()
        self.groups = min(max_groups, c // min_per_group)
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        return F.group_norm(x, self.groups, self.weight, self.bias, NORM_EPS)


def positional(labels, channels, max_positions=10000):
    """e = [sin(c f_j), cos(c f_j)], f_j = (1/max)^(j/(half-1)): computed in double, rounded once (as the C# host code)."""
    half = channels // 2
    f = (1.0 / max_positions) ** (torch.arange(half, dtype=torch.float64, device=labels.device) / (half - 1))
    a = labels.to(torch.float64)[:, None] * f[None, :]
    return torch.cat([a.sin(), a.cos()], dim=1).to(torch.float32)


def attention(qkv):
    """EDM's single head: qkv.reshape(N, C, 3, HW) interleaves q, k, v per channel; k is pre-scaled by 1/sqrt(C)."""
    n, c3, h, w = qkv.shape
    c = c3 // 3
    r = qkv.reshape(n, c, 3, h * w)
    q, k, v = r[:, :, 0], r[:, :, 1] * (1.0 / math.sqrt(c)), r[:, :, 2]
    p = torch.softmax(torch.bmm(q.transpose(1, 2), k), dim=2)  # [N, HW_query, HW_key]
    return torch.bmm(v, p.transpose(1, 2)).reshape(n, c, h, w)


SKIP_SCALE = math.sqrt(0.5)


class UNetBlock(nn.Module):
    def __init__(self, cfg, cin, cout, resample, attn):
        super().__init__()
        g, emb = cfg["GatedConvolutions"], cfg["BaseChannels"] * cfg["EmbeddingMultiplier"]
        norm = lambda c: GroupNorm(c, cfg["GroupNormMaxGroups"], cfg["GroupNormMinChannelsPerGroup"])
        self.resample, self.dropout, self.cout = resample, cfg["Dropout"], cout
        self.norm0 = norm(cin)
        self.conv0 = Conv2d(cin, cout, 3, stride=2 if resample == "down" else 1, gated=g)
        self.affine = Linear(emb, cout)
        self.norm1 = norm(cout)
        self.conv1 = Conv2d(cout, cout, 3, gated=g, gain=1e-5)
        self.skip = Conv2d(cin, cout, 1, gated=g) if cin != cout or resample != "none" else None
        self.norm2 = self.qkv = self.proj = None
        if attn:
            self.norm2 = norm(cout)
            self.qkv = Conv2d(cout, 3 * cout, 1, gated=g, gain=math.sqrt(0.2))
            self.proj = Conv2d(cout, cout, 1, gated=g, gain=1e-5)

    def forward(self, x, emb):
        h = F.silu(self.norm0(x))
        if self.resample == "up":
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv0(h)
        h = h + self.affine(emb).reshape(-1, self.cout, 1, 1)
        h = F.silu(self.norm1(h))
        h = F.dropout(h, self.dropout, self.training)
        h = self.conv1(h)
        s = x
        if self.resample == "down":
            s = F.avg_pool2d(x, 2)
        elif self.resample == "up":
            s = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.skip is not None:
            s = self.skip(s)
        x = (h + s) * SKIP_SCALE
        if self.qkv is None:
            return x
        a = attention(self.qkv(self.norm2(x)))
        return (self.proj(a) + x) * SKIP_SCALE


def layout(cfg):
    """UNet.Layout: (name, decoder, cin, cout, resample, attention, takes_skip) in order."""
    b, mults, nb, res0 = cfg["BaseChannels"], cfg["ChannelMultipliers"], cfg["BlocksPerLevel"], cfg["Resolution"]
    attn_res = cfg["AttentionResolutions"]
    blocks, skips, cout = [], [b], b
    for level in range(len(mults)):
        res = res0 >> level
        if level > 0:
            blocks.append((f"{res}x{res}_down", False, cout, cout, "down", False, False))
            skips.append(cout)
        for i in range(nb):
            cin, cout = cout, b * mults[level]
            blocks.append((f"{res}x{res}_block{i}", False, cin, cout, "none", res in attn_res, False))
            skips.append(cout)
    for level in reversed(range(len(mults))):
        res = res0 >> level
        if level == len(mults) - 1:
            blocks.append((f"{res}x{res}_in0", True, cout, cout, "none", True, False))
            blocks.append((f"{res}x{res}_in1", True, cout, cout, "none", False, False))
        else:
            blocks.append((f"{res}x{res}_up", True, cout, cout, "up", False, False))
        for i in range(nb + 1):
            cin, cout = cout + skips.pop(), b * mults[level]
            blocks.append((f"{res}x{res}_block{i}", True, cin, cout, "none", i == nb and res in attn_res, True))
    return blocks


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        b, emb, g = cfg["BaseChannels"], cfg["BaseChannels"] * cfg["EmbeddingMultiplier"], cfg["GatedConvolutions"]
        cin = cfg["ImageChannels"] + cfg["MaskChannels"]
        top = f'{cfg["Resolution"]}x{cfg["Resolution"]}'
        self.map_layer0 = Linear(b, emb)
        self.map_layer1 = Linear(emb, emb)
        self.enc, self.dec, self.takes_skip = nn.ModuleDict(), nn.ModuleDict(), {}
        self.enc[f"{top}_conv"] = Conv2d(cin, b, 3, gated=g)
        last = b
        for name, decoder, ci, co, resample, attn, takes in layout(cfg):
            (self.dec if decoder else self.enc)[name] = UNetBlock(cfg, ci, co, resample, attn)
            self.takes_skip[name] = takes
            last = co
        self.dec[f"{top}_aux_norm"] = GroupNorm(last, cfg["GroupNormMaxGroups"], cfg["GroupNormMinChannelsPerGroup"])
        self.dec[f"{top}_aux_conv"] = Conv2d(last, cfg["OutChannels"], 3, gated=g, gain=1e-5)

    def forward(self, x, noise_labels):
        emb = positional(noise_labels, self.cfg["BaseChannels"])
        emb = F.silu(self.map_layer0(emb))
        emb = F.silu(self.map_layer1(emb))
        skips, aux_norm, aux_conv = [], None, None
        for name, m in self.enc.items():
            x = m(x) if isinstance(m, Conv2d) else m(x, emb)
            skips.append(x)
        for name, m in self.dec.items():
            if name.endswith("_aux_norm"):
                aux_norm = m
            elif name.endswith("_aux_conv"):
                aux_conv = m
            else:
                if self.takes_skip[name]:
                    x = torch.cat([x, skips.pop()], dim=1)
                x = m(x, emb)
        return aux_conv(F.silu(aux_norm(x)))


# ---- EDM preconditioning (masked input, one shared mask channel) and the Ambient loss --------------------------------
def denoise(net, x, sigma, mask):
    """D = c_skip*(A~ x) + c_out*F(cat[c_in*(A~ x), A~], c_noise), coefficients in float32 tensor ops as in C#."""
    sd2 = SIGMA_DATA * SIGMA_DATA
    s = sigma.reshape(-1, 1, 1, 1)
    v = s.square() + sd2
    c_in, c_skip = v.pow(-0.5), v.pow(-1.0) * sd2
    c_out = s * c_in * SIGMA_DATA
    c_noise = sigma.log() * 0.25
    masked = x * mask
    f = net(torch.cat([masked * c_in, mask], dim=1), c_noise)
    return c_skip * masked + c_out * f


def loss_weight(sigma):
    """lambda = (s^2 + sd^2) / (s*sd)^2 in double, rounded to float (the C# host code)."""
    s = sigma.to(torch.float64)
    return ((s * s + SIGMA_DATA ** 2) / (s * SIGMA_DATA) ** 2).to(torch.float32).reshape(-1, 1, 1, 1)


def ambient_loss(net, y, sigma, noise, mask_a, mask_atilde):
    """Returns (loss, loss_atilde, D): mean over the batch of lambda*||A (D - y)||^2 (and the same on A~)."""
    xt = y + sigma.reshape(-1, 1, 1, 1) * noise
    d = denoise(net, xt, sigma, mask_atilde)
    w, err, n = loss_weight(sigma), d - y, y.shape[0]
    loss = (w * (mask_a * err).square()).sum() * (1.0 / n)
    loss_atilde = (w * (mask_atilde * err).square()).sum() * (1.0 / n)
    return loss, loss_atilde, d


def config_from(meta):
    cfg = json.loads(meta["config"])
    defaults = dict(Resolution=32, ImageChannels=3, MaskChannels=1, OutChannels=3, BaseChannels=64,
                    ChannelMultipliers=[1, 2, 2], BlocksPerLevel=2, AttentionResolutions=[16], Dropout=0.1,
                    EmbeddingMultiplier=4, GroupNormMaxGroups=32, GroupNormMinChannelsPerGroup=4,
                    GatedConvolutions=False)
    defaults.update(cfg)
    return defaults


REFERENCE = config_from({"config": "{}"})  # UNetConfig.Reference


def parity(inp, outp):
    tensors, meta = load_safetensors(inp)
    cfg = config_from(meta)
    net = UNet(cfg)
    net.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("input.")}, strict=True)
    net.eval()  # dropout off: the C# side runs with Dropout = 0 too
    loss, loss_atilde, d = ambient_loss(net, tensors["input.y"], tensors["input.sigma"], tensors["input.noise"],
                                        tensors["input.mask_a"], tensors["input.mask_atilde"])
    loss.backward()
    out = {"out.d": d, "out.loss": loss.reshape(1), "out.loss_atilde": loss_atilde.reshape(1)}
    for name, p in net.named_parameters():
        out["grad." + name] = p.grad
    save_safetensors(outp, out, {"torch": torch.__version__})
    print(f"torch {torch.__version__}: loss {loss.item():.6g}, {sum(p.numel() for p in net.parameters())} parameters")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "parity":
        parity(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
