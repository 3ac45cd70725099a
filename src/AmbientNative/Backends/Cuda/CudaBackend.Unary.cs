using System.Runtime.InteropServices;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument blocks passed by value to kernels/elementwise.cu: field order and types must match its structs.
[StructLayout(LayoutKind.Sequential)]
internal struct UnaryArgs { public ulong X, Y, Gy, Out; public long N; public int Op; }

[StructLayout(LayoutKind.Sequential)]
internal struct AxpyArgs { public ulong Y, X; public long N; public float Alpha; }

public sealed partial class CudaBackend
{
    public void Unary(UnaryOp op, Tensor x, Tensor y)
    {
        var a = new UnaryArgs { X = P(x), Out = P(y), N = x.Numel, Op = (int)op };
        Launch("elementwise.cu", "unary_forward", ElementwiseGrid(x.Numel), 256, a);
    }

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx)
    {
        var a = new UnaryArgs { X = P(x), Y = P(y), Gy = P(gy), Out = P(gx), N = x.Numel, Op = (int)op };
        Launch("elementwise.cu", "unary_backward", ElementwiseGrid(x.Numel), 256, a);
    }
}
