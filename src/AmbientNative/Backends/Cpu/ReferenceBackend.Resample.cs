using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    // Every method takes the dimensions of the full-resolution side: the input of pooling, the output of upsampling.
    public virtual void Upsample2x(Tensor x, Tensor y)
    {
        var (n, c, h, w) = x.Shape.Nchw("upsample2x input");
        ResampleRef.Upsample2x<float>(R(x), S(y), n * c, h, w);
    }

    public virtual void Upsample2xBackward(Tensor gy, Tensor gx)
    {
        var (n, c, h, w) = gx.Shape.Nchw("upsample2x input gradient");
        ResampleRef.Upsample2xBackward<float>(R(gy), S(gx), n * c, h, w);
    }

    public virtual void AvgPool2x(Tensor x, Tensor y)
    {
        var (n, c, h, w) = x.Shape.Nchw("avgpool2x input");
        ResampleRef.AvgPool2x<float>(R(x), S(y), n * c, h, w);
    }

    public virtual void AvgPool2xBackward(Tensor gy, Tensor gx)
    {
        var (n, c, h, w) = gx.Shape.Nchw("avgpool2x input gradient");
        ResampleRef.AvgPool2xBackward<float>(R(gy), S(gx), n * c, h, w);
    }
}
