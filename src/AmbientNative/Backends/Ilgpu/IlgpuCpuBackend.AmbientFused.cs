using AmbientNative.Tensors;

namespace AmbientNative.Backends.Ilgpu;

public sealed partial class IlgpuCpuBackend
{
    private IlgpuAmbientFused? _ambientFused;
    internal IlgpuAmbientFused AmbientFusedKernels => _ambientFused ??= new IlgpuAmbientFused(_runtime);

    public override void AmbientInput(Tensor y, Tensor noise, Tensor sigma, Tensor mask, Tensor masked, Tensor input, AmbientGeometry g, float sigmaData)
    {
        using HostView<float> vy = V(y), vn = V(noise), vs = V(sigma), vm = V(mask), vmasked = V(masked), vin = V(input);
        AmbientFusedKernels.Input(new(vy.View, vn.View, vs.View, vm.View, vmasked.View, vin.View), g, sigmaData);
        Sync();
    }

    public override void AmbientLoss(Tensor d, Tensor y, Tensor mask, Tensor weight, Tensor loss, AmbientGeometry g)
    {
        using HostView<float> vd = V(d), vy = V(y), vm = V(mask), vw = V(weight), vl = V(loss);
        using var perImage = V(new float[g.N]);
        AmbientFusedKernels.Loss(vd.View, vy.View, vm.View, vw.View, perImage.View, vl.View, g);
        Sync();
    }

    public override void AmbientLossBackward(Tensor d, Tensor y, Tensor mask, Tensor weight, Tensor gLoss, Tensor gd, AmbientGeometry g)
    {
        using HostView<float> vd = V(d), vy = V(y), vm = V(mask), vw = V(weight), vg = V(gLoss), vgd = V(gd);
        AmbientFusedKernels.LossBackward(vd.View, vy.View, vm.View, vw.View, vg.View, vgd.View, g);
        Sync();
    }
}
