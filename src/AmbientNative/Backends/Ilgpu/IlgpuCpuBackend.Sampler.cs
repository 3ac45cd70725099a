using AmbientNative.Tensors;

namespace AmbientNative.Backends.Ilgpu;

public sealed partial class IlgpuCpuBackend
{
    private IlgpuSampler? _sampler;
    internal IlgpuSampler SamplerKernels => _sampler ??= new IlgpuSampler(_runtime);

    public override void SamplerStep(Tensor xHat, Tensor d1, Tensor? xEuler, Tensor? d2, Tensor y, double sigmaHat, double sigmaNext)
    {
        // Euler reads neither x_E nor D₂; x̂ stands in so the kernel always gets valid views.
        using HostView<float> vx = V(xHat), vd1 = V(d1), vxe = V(xEuler ?? xHat), vd2 = V(d2 ?? xHat), vy = V(y);
        SamplerKernels.Step(new(vx.View, vd1.View, vxe.View, vd2.View, vy.View), xEuler != null, sigmaHat, sigmaNext);
        Sync();
    }
}
