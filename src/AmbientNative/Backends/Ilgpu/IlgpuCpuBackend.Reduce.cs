using AmbientNative.Tensors;
using Kind = AmbientNative.Backends.Ilgpu.IlgpuReduce.PartialKind;

namespace AmbientNative.Backends.Ilgpu;

public sealed partial class IlgpuCpuBackend
{
    private IlgpuReduce? _reduce;
    internal IlgpuReduce ReduceKernels => _reduce ??= new IlgpuReduce(_runtime);

    public override void Sum(Tensor x, Tensor y, AxisGeometry g, float scale)
    {
        using HostView<float> vx = V(x), vy = V(y);
        ReduceKernels.Sum(vx.View, vy.View, g, scale);
        Sync();
    }

    public override void SumBackward(Tensor gy, Tensor gx, AxisGeometry g, float scale)
    {
        using HostView<float> vgy = V(gy), vgx = V(gx);
        ReduceKernels.SumBackward(vgy.View, vgx.View, g, scale);
        Sync();
    }

    public override double SumOfSquares(Tensor x) => Finish(Kind.SumOfSquares, x);

    public override bool AllFinite(Tensor x) => Finish(Kind.NonFinite, x) == 0;

    /// <summary>The kernel's per-group partials (double), added here in order: one fixed summation order.</summary>
    private double Finish(Kind kind, Tensor x)
    {
        if (x.Numel == 0) return 0;
        var partials = new double[ReduceKernels.PartialCount(x.Numel)];
        using (HostView<float> vx = V(x))
        using (HostView<double> vp = V(partials))
        {
            ReduceKernels.Partials(kind, vx.View, vp.View);
            Sync();
        }
        double s = 0;
        foreach (double p in partials) s += p;
        return s;
    }
}
