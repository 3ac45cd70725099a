using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;

namespace AmbientNative.Benchmarks;

/// <summary>
/// The machine's attainable fp32 peak: a loop of independent 512-bit FMAs (24 chains, enough to cover the FMA
/// latency on two ports) on one core and on every core. It measures the clock the cores really run at under
/// AVX-512 load (turbo and licence included), which lscpu's nominal frequency does not tell. Docs/PERF.md uses
/// it as the ceiling for "% of peak".
/// </summary>
[Config(typeof(BenchConfig))]
public class FmaPeakAllCores
{
    internal const long Iterations = 4_000_000;
    public static double Flops => Environment.ProcessorCount * FmaLoop.FlopsPerCall;

    private readonly float[] _results = new float[Environment.ProcessorCount];

    // Each core's result is stored: a discarded one lets the JIT drop the FMAs as dead code.
    [Benchmark]
    public float Fma512()
    {
        Parallel.For(0, _results.Length, i => _results[i] = FmaLoop.Run(Iterations));
        return _results[0];
    }
}

[Config(typeof(BenchConfig))]
public class FmaPeakOneCore
{
    public static double Flops => FmaLoop.FlopsPerCall;

    [Benchmark] public float Fma512() => FmaLoop.Run(FmaPeakAllCores.Iterations);
}

internal static class FmaLoop
{
    public const double FlopsPerCall = FmaPeakAllCores.Iterations * 24 * 16 * 2.0;

    public static float Run(long iterations)
    {
        var m = Vector512.Create(0.9999999f);
        var c = Vector512.Create(1e-7f);
        Vector512<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
        Vector512<float> b0 = m, b1 = m, b2 = m, b3 = m, b4 = m, b5 = m, b6 = m, b7 = m, b8 = m, b9 = m, b10 = m, b11 = m;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
            b0 = Vector512.FusedMultiplyAdd(b0, m, c); b1 = Vector512.FusedMultiplyAdd(b1, m, c);
            b2 = Vector512.FusedMultiplyAdd(b2, m, c); b3 = Vector512.FusedMultiplyAdd(b3, m, c);
            b4 = Vector512.FusedMultiplyAdd(b4, m, c); b5 = Vector512.FusedMultiplyAdd(b5, m, c);
            b6 = Vector512.FusedMultiplyAdd(b6, m, c); b7 = Vector512.FusedMultiplyAdd(b7, m, c);
            b8 = Vector512.FusedMultiplyAdd(b8, m, c); b9 = Vector512.FusedMultiplyAdd(b9, m, c);
            b10 = Vector512.FusedMultiplyAdd(b10, m, c); b11 = Vector512.FusedMultiplyAdd(b11, m, c);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7 + b8 + b9 + b10 + b11;
        return s.GetElement(0);
    }
}
