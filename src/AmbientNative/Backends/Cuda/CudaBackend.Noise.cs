using System.Runtime.InteropServices;
using AmbientNative.Backends.Ilgpu;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument block of kernels/noise.cu: must match its struct.
[StructLayout(LayoutKind.Sequential)]
internal struct NoiseArgs { public ulong Y; public long N; public ulong Seed, Counter; }

public sealed partial class CudaBackend
{
    private IlgpuNoise? _ilgpuNoise;

    /// <summary>
    /// Drawn on the device: by kernels/noise.cu (NormalRef's double-precision Box–Muller: the host's values, but for a
    /// rare last-bit difference where CUDA's log or cos rounds the other way), or, with the ILGPU kernels selected
    /// (<see cref="FusedKernels"/> = Ilgpu), by the ILGPU kernel (float32 Box–Muller: close to, not equal to, them).
    /// </summary>
    public void FillNormal(Tensor y, ulong seed, ulong counter)
    {
        if (UseIlgpuFused)
        {
            Context.MakeCurrent();
            (_ilgpuNoise ??= new IlgpuNoise(Ilgpu!)).Fill(IlgpuView(y), seed, counter);
            Launches++;
            return;
        }
        if (y.Numel == 0) return;
        Launch("noise.cu", "normal_fill", ElementwiseGrid((y.Numel + 1L) / 2), 256,
            new NoiseArgs { Y = P(y), N = y.Numel, Seed = seed, Counter = counter });
    }
}
