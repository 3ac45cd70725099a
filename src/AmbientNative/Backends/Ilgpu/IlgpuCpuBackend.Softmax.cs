using AmbientNative.Tensors;

namespace AmbientNative.Backends.Ilgpu;

public sealed partial class IlgpuCpuBackend
{
    private IlgpuSoftmax? _softmax;
    internal IlgpuSoftmax SoftmaxK => _softmax ??= new IlgpuSoftmax(_runtime);

    public override void Softmax(Tensor x, Tensor y)
    {
        using HostView<float> vx = V(x), vy = V(y);
        SoftmaxK.Forward(vx.View, vy.View, x.Shape[-1]);
        Sync();
    }

    public override void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx)
    {
        using HostView<float> vy = V(y), vgy = V(gy), vgx = V(gx);
        SoftmaxK.Backward(vy.View, vgy.View, vgx.View, y.Shape[-1]);
        Sync();
    }
}
