using AmbientNative.Tensors;

namespace AmbientNative.Backends.Ilgpu;

public sealed partial class IlgpuCpuBackend
{
    private IlgpuSoftmax? _softmax;
    internal IlgpuSoftmax SoftmaxKernels => _softmax ??= new IlgpuSoftmax(_runtime);

    public override void Softmax(Tensor x, Tensor y)
    {
        using HostView<float> vx = V(x), vy = V(y);
        SoftmaxKernels.Forward(vx.View, vy.View, x.Shape[-1]);
        Sync();
    }

    public override void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx)
    {
        using HostView<float> vy = V(y), vgy = V(gy), vgx = V(gx);
        SoftmaxKernels.Backward(vy.View, vgy.View, vgx.View, y.Shape[-1]);
        Sync();
    }
}
