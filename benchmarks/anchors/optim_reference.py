"""PyTorch anchor for tests/AmbientNative.Tests/Training/AdamTests.cs and GradientClippingTests.cs.

Runs torch.optim.AdamW and torch.nn.utils.clip_grad_norm_ in float64 on fixed small inputs and prints the
results as C# array literals, which the tests embed. Run: python3 optim_reference.py (CPU is enough).
"""
import torch

torch.set_default_dtype(torch.float64)


def cs(name, t):
    vals = ", ".join(repr(float(x)) for x in t.flatten())
    print(f"    private static readonly double[] {name} = [{vals}];")


print(f"    // torch {torch.__version__}, float64")

# AdamW: three steps, weight decay on, one gradient exactly zero on the first step (exercises eps).
p0 = [0.5, -1.25, 2.0, 0.0, 3.75, -0.3]
grads = [
    [0.1, -2.0, 0.0, 1e-3, 0.7, -0.05],
    [-0.3, 1.5, 0.2, 1e-3, 0.7, 4.0],
    [0.25, -0.01, -0.6, -2e-3, 0.7, 3.0],
]
p = torch.nn.Parameter(torch.tensor(p0))
opt = torch.optim.AdamW([p], lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
for k, g in enumerate(grads, 1):
    p.grad = torch.tensor(g)
    opt.step()
    st = opt.state[p]
    cs(f"TorchP{k}", p.detach())
    cs(f"TorchM{k}", st["exp_avg"])
    cs(f"TorchV{k}", st["exp_avg_sq"])

# Global-norm clipping over two tensors.
a = torch.nn.Parameter(torch.zeros(3))
b = torch.nn.Parameter(torch.zeros(2, 2))
a.grad = torch.tensor([3.0, -4.0, 12.0])
b.grad = torch.tensor([[84.0, 0.5], [-0.5, 0.0]])
norm = torch.nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
print(f"    private const double TorchClipNorm = {float(norm)!r};")
cs("TorchClippedA", a.grad)
cs("TorchClippedB", b.grad)
