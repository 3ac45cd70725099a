using AmbientNative.Tensors;

namespace AmbientNative.Backends.Ilgpu;

public sealed partial class IlgpuCpuBackend
{
    private IlgpuOptim? _optim;
    internal IlgpuOptim OptimKernels => _optim ??= new IlgpuOptim(_runtime);

    public override void AdamStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamStepParams h)
    {
        using HostView<float> vp = V(p), vg = V(g), vm = V(m), vv = V(v);
        OptimKernels.AdamStep(new(vp.View, vg.View, vm.View, vv.View), h);
        Sync();
    }

    public override void EmaUpdate(Tensor ema, Tensor p, double beta)
    {
        using HostView<float> ve = V(ema), vp = V(p);
        OptimKernels.EmaUpdate(ve.View, vp.View, beta);
        Sync();
    }

    public override void ScaleInPlace(Tensor x, float s)
    {
        using var vx = V(x);
        OptimKernels.Scale(vx.View, s);
        Sync();
    }
}
