using System.Runtime.InteropServices;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument block of dropout in kernels/elementwise.cu: must match its struct.
[StructLayout(LayoutKind.Sequential)]
internal struct DropoutArgs { public ulong X, Y; public long N; public ulong Seed, Counter; public uint Threshold; public float Scale; }

public sealed partial class CudaBackend
{
    /// <summary>The mask of <see cref="DropoutRef"/> bit for bit: same Philox blocks, threshold and scale (rounded here).</summary>
    public void Dropout(Tensor x, Tensor y, float p, ulong seed, ulong counter)
    {
        SameSize("Dropout", x, y);
        var a = new DropoutArgs
        {
            X = P(x), Y = P(y), N = x.Numel, Seed = seed, Counter = counter,
            Threshold = DropoutRef.KeepThreshold(p), Scale = DropoutRef.KeepScale(p),
        };
        Launch("elementwise.cu", "dropout", ElementwiseGrid((x.Numel + 3) / 4), 256, a);
    }
}
