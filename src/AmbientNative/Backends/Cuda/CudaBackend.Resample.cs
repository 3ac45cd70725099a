using System.Runtime.InteropServices;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument block of kernels/resample.cu: must match its struct.
[StructLayout(LayoutKind.Sequential)]
internal struct ResampleArgs { public ulong X, Y; public long N; public int H, W; }

public sealed partial class CudaBackend
{
    // As in the reference backend, h and w are those of the full-resolution side.
    public void Upsample2x(Tensor x, Tensor y) => Resample("upsample2x", x, y, x.Shape.Nchw("upsample2x input"));

    public void Upsample2xBackward(Tensor gy, Tensor gx) => Resample("upsample2x_backward", gy, gx, gx.Shape.Nchw("upsample2x input gradient"));

    public void AvgPool2x(Tensor x, Tensor y) => Resample("avgpool2x", x, y, x.Shape.Nchw("avgpool2x input"));

    public void AvgPool2xBackward(Tensor gy, Tensor gx) => Resample("avgpool2x_backward", gy, gx, gx.Shape.Nchw("avgpool2x input gradient"));

    private void Resample(string kernel, Tensor x, Tensor y, (int N, int C, int H, int W) full)
    {
        var a = new ResampleArgs { X = P(x), Y = P(y), N = y.Numel, H = full.H, W = full.W };
        Launch("resample.cu", kernel, ElementwiseGrid(y.Numel), 256, a);
    }
}
