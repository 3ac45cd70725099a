using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using Kind = AmbientNative.Backends.Ilgpu.IlgpuElementwise.ScalarKind;

namespace AmbientNative.Backends.Ilgpu;

public sealed partial class IlgpuCpuBackend
{
    // Each family's kernels are compiled on first use, so a test of one family pays only for its own.
    private IlgpuElementwise? _elementwise;
    internal IlgpuElementwise ElementwiseKernels => _elementwise ??= new IlgpuElementwise(_runtime);

    public override void Unary(UnaryOp op, Tensor x, Tensor y)
    {
        using HostView<float> vx = V(x), vy = V(y);
        ElementwiseKernels.Unary(op, vx.View, vy.View);
        Sync();
    }

    public override void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx)
    {
        using HostView<float> vx = V(x), vy = V(y), vgy = V(gy), vgx = V(gx);
        ElementwiseKernels.UnaryBackward(op, vx.View, vy.View, vgy.View, vgx.View);
        Sync();
    }

    public override void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        var layout = BroadcastLayout.Of(a.Shape, b.Shape, y.Shape);
        using HostView<float> va = V(a), vb = V(b), vy = V(y);
        using var geo = V(layout.Geometry);
        ElementwiseKernels.Binary(op, va.View, vb.View, vy.View, geo.View, layout.Rank);
        Sync();
    }

    public override void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb)
    {
        var layout = BroadcastLayout.Of(a.Shape, b.Shape, gy.Shape);
        using HostView<float> va = V(a), vb = V(b), vgy = V(gy);
        using var geo = V(layout.Geometry);
        for (int wrt = 0; wrt < 2; wrt++)
        {
            var g = wrt == 0 ? ga : gb;
            if (g == null) continue;
            using var vg = V(g);
            ElementwiseKernels.BinaryGrad(op, va.View, vb.View, vgy.View, vg.View, geo.View, layout.Rank, wrt, gy.Numel / Math.Max(1, g.Numel));
            Sync();
        }
    }

    public override void Affine(Tensor x, float a, float b, Tensor y) => Scalar(Kind.Affine, x, null, y, a, b);
    public override void Clamp(Tensor x, float lo, float hi, Tensor y) => Scalar(Kind.Clamp, x, null, y, lo, hi);
    public override void ClampBackward(Tensor x, float lo, float hi, Tensor gy, Tensor gx) => Scalar(Kind.ClampBackward, x, gy, gx, lo, hi);
    public override void Pow(Tensor x, float p, Tensor y) => Scalar(Kind.Pow, x, null, y, p, 0);
    public override void PowBackward(Tensor x, float p, Tensor gy, Tensor gx) => Scalar(Kind.PowBackward, x, gy, gx, p, 0);

    private void Scalar(Kind kind, Tensor x, Tensor? gy, Tensor y, float p0, float p1)
    {
        // Forward kinds never read gy; x stands in for it so the kernel always gets a valid view.
        using HostView<float> vx = V(x), vgy = V(gy ?? x), vy = V(y);
        ElementwiseKernels.Scalar(kind, vx.View, vgy.View, vy.View, p0, p1);
        Sync();
    }
}
