using System.Runtime.InteropServices;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument block of the softmax kernels in kernels/reduce.cu: must match its struct.
[StructLayout(LayoutKind.Sequential)]
internal struct SoftmaxArgs { public ulong X, Y, Gy, Out; public long Rows; public int N; }

public sealed partial class CudaBackend
{
    public void Softmax(Tensor x, Tensor y)
    {
        SameSize("Softmax", x, y);
        SoftmaxLaunch("softmax_forward", new SoftmaxArgs { X = P(x), Out = P(y) }, x);
    }

    public void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx)
    {
        SameSize("SoftmaxBackward", y, gx);
        SoftmaxLaunch("softmax_backward", new SoftmaxArgs { Y = P(y), Gy = P(gy), Out = P(gx) }, y);
    }

    // One warp per row, eight rows per block of 256.
    private void SoftmaxLaunch(string kernel, SoftmaxArgs a, Tensor like)
    {
        a.N = like.Shape[-1];
        a.Rows = a.N == 0 ? 0 : like.Numel / a.N;
        Launch("reduce.cu", kernel, (uint)Math.Clamp((a.Rows + 7) / 8, 1, Context.Info.SmCount * 16L), 256, a);
    }
}
