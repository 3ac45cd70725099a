using AmbientNative.Backends.Cpu.Fast;
using BenchmarkDotNet.Attributes;

namespace AmbientNative.Benchmarks;

/// <summary>The GEMM alone: a square product on all cores and on one.</summary>
[Config(typeof(BenchConfig))]
public class SgemmBenchmarks
{
    private const int M = 1024, N = 1024, K = 1024;
    public static double Flops => 2.0 * M * N * K;

    private readonly float[] _a = new float[M * K], _b = new float[K * N], _c = new float[M * N];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Tensors.Rng(7);
        rng.FillNormal(_a, 0f, 1f);
        rng.FillNormal(_b, 0f, 1f);
    }

    [Benchmark] public void Square1024() => Sgemm.Multiply(false, false, M, N, K, 1f, _a, K, _b, N, 0f, _c, N);
    [Benchmark] public void Square1024OneThread() => Sgemm.Multiply(false, false, M, N, K, 1f, _a, K, _b, N, 0f, _c, N, parallel: false);
}
