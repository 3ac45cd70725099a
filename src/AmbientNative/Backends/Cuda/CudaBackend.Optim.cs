using System.Runtime.InteropServices;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument blocks of kernels/optim.cu: field order and types must match its structs.
[StructLayout(LayoutKind.Sequential)]
internal struct AdamArgs
{
    public ulong P, G, M, V;
    public long N;
    public float Decay, StepSize, Bc2Sqrt, Eps, B1, A1, B2, A2;
}

[StructLayout(LayoutKind.Sequential)]
internal struct OptimArgs { public ulong X, P, Out; public long N; public float S0, S1; }

public sealed partial class CudaBackend
{
    public void AdamStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamStepParams h)
    {
        SameSize("AdamStep", p, g); SameSize("AdamStep", p, m); SameSize("AdamStep", p, v);
        // Rounded to float once, as OptimRef<float> rounds them.
        var a = new AdamArgs
        {
            P = P(p), G = P(g), M = P(m), V = P(v), N = p.Numel,
            Decay = (float)h.Decay, StepSize = (float)h.StepSize, Bc2Sqrt = (float)h.BiasCorrection2Sqrt, Eps = (float)h.Eps,
            B1 = (float)h.Beta1, A1 = (float)(1 - h.Beta1), B2 = (float)h.Beta2, A2 = (float)(1 - h.Beta2),
        };
        Launch("optim.cu", "adam_step", ElementwiseGrid(p.Numel), 256, a);
    }

    /// <summary>Per-block partial sums in double on the device, added in block order on the host (one small download).</summary>
    public double SumOfSquares(Tensor x)
    {
        int blocks = (int)Math.Clamp((x.Numel + 255L) / 256, 1, Context.Info.SmCount * 4L);
        using var ws = new Scratch(Allocator, 8L * blocks);
        Launch("optim.cu", "sum_of_squares", (uint)blocks, 256, new OptimArgs { X = P(x), Out = ws.Pointer, N = x.Numel });
        var partial = new double[blocks];
        Download<double>(ws.Pointer, partial);
        double s = 0;
        foreach (var d in partial) s += d;
        return s;
    }

    public void ScaleInPlace(Tensor x, float s) =>
        Launch("optim.cu", "scale_in_place", ElementwiseGrid(x.Numel), 256, new OptimArgs { X = P(x), N = x.Numel, S0 = s });

    public void EmaUpdate(Tensor ema, Tensor p, double beta)
    {
        SameSize("EmaUpdate", ema, p);
        var a = new OptimArgs { X = P(ema), P = P(p), N = ema.Numel, S0 = (float)beta, S1 = (float)(1 - beta) };
        Launch("optim.cu", "ema_update", ElementwiseGrid(ema.Numel), 256, a);
    }

    public bool AllFinite(Tensor x)
    {
        using var flag = new Scratch(Allocator, 4);
        Context.MakeCurrent();
        Native.CudaDriver.MemsetD32Async(flag.Pointer, 0, 1, Context.Stream);
        Launch("optim.cu", "any_non_finite", ElementwiseGrid(x.Numel), 256, new OptimArgs { X = P(x), Out = flag.Pointer, N = x.Numel });
        Span<int> bad = stackalloc int[1];
        Download(flag.Pointer, bad);
        return bad[0] == 0;
    }
}
