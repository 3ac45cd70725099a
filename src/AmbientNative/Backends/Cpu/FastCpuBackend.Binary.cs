using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class FastCpuBackend
{
    // Operands of the output's shape (residual adds, skip scaling: the common case) need no broadcast index math,
    // which dominates the reference's cost. The per-element math is the reference's own F/DA/DB.

    public override void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        if (a.Shape != y.Shape || b.Shape != y.Shape) { base.Binary(op, a, b, y); return; }
        ReadOnlySpan<float> av = R(a), bv = R(b);
        var yv = S(y);
        for (int i = 0; i < yv.Length; i++) yv[i] = BinaryRef.F(op, av[i], bv[i]);
    }

    public override void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb)
    {
        if (a.Shape != gy.Shape || b.Shape != gy.Shape) { base.BinaryBackward(op, a, b, gy, ga, gb); return; }
        ReadOnlySpan<float> av = R(a), bv = R(b), g = R(gy);
        if (ga != null)
        {
            var d = S(ga);
            for (int i = 0; i < d.Length; i++) d[i] = g[i] * BinaryRef.DA(op, av[i], bv[i]);
        }
        if (gb != null)
        {
            var d = S(gb);
            for (int i = 0; i < d.Length; i++) d[i] = g[i] * BinaryRef.DB(op, av[i], bv[i]);
        }
    }
}
