using AmbientNative.Tensors;

namespace AmbientNative.Backends.Ilgpu;

public sealed partial class IlgpuCpuBackend
{
    private IlgpuTweedieFused? _tweedieFused;
    internal IlgpuTweedieFused TweedieFusedKernels => _tweedieFused ??= new IlgpuTweedieFused(_runtime);

    public override void TweedieLoss(Tensor d, Tensor xt, Tensor xtn, Tensor coefficients, Tensor loss, TweedieGeometry g)
    {
        using HostView<float> vd = V(d), vxt = V(xt), vxtn = V(xtn), vc = V(coefficients), vl = V(loss);
        using var perImage = V(new float[g.N]);
        TweedieFusedKernels.Loss(new(vd.View, vxt.View, vxtn.View, vc.View, default), perImage.View, vl.View, g);
        Sync();
    }

    public override void TweedieLossBackward(Tensor d, Tensor xt, Tensor xtn, Tensor coefficients, Tensor gLoss, Tensor gd, TweedieGeometry g)
    {
        using HostView<float> vd = V(d), vxt = V(xt), vxtn = V(xtn), vc = V(coefficients), vg = V(gLoss), vgd = V(gd);
        TweedieFusedKernels.LossBackward(new(vd.View, vxt.View, vxtn.View, vc.View, vgd.View), vg.View, g);
        Sync();
    }
}
