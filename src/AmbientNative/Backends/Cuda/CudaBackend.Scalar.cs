using System.Runtime.InteropServices;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument block of scalar_forward / scalar_backward in kernels/elementwise.cu: must match its struct.
[StructLayout(LayoutKind.Sequential)]
internal struct ScalarArgs { public ulong X, Gy, Out; public long N; public int Op; public float P0, P1; }

public sealed partial class CudaBackend
{
    private const int ScAffine = 0, ScClamp = 1, ScPow = 2; // SC_* in elementwise.cu

    public void Affine(Tensor x, float a, float b, Tensor y) => Scalar("scalar_forward", ScAffine, x, null, y, a, b);

    public void Clamp(Tensor x, float lo, float hi, Tensor y) => Scalar("scalar_forward", ScClamp, x, null, y, lo, hi);

    public void ClampBackward(Tensor x, float lo, float hi, Tensor gy, Tensor gx) => Scalar("scalar_backward", ScClamp, x, gy, gx, lo, hi);

    public void Pow(Tensor x, float p, Tensor y) => Scalar("scalar_forward", ScPow, x, null, y, p, 0f);

    public void PowBackward(Tensor x, float p, Tensor gy, Tensor gx) => Scalar("scalar_backward", ScPow, x, gy, gx, p, 0f);

    private void Scalar(string kernel, int op, Tensor x, Tensor? gy, Tensor output, float p0, float p1)
    {
        SameSize(kernel, x, output);
        var a = new ScalarArgs { X = P(x), Gy = POpt(gy), Out = P(output), N = x.Numel, Op = op, P0 = p0, P1 = p1 };
        Launch("elementwise.cu", kernel, ElementwiseGrid(x.Numel), 256, a);
    }
}
