using AmbientNative.Tensors;
using BenchmarkDotNet.Attributes;

namespace AmbientNative.Benchmarks;

/// <summary>
/// A training step's noise at the GPU benchmark's batch (256 × 3×32×32 = 786,432 normals): the host generator's
/// single-threaded FillNormal (what every step paid before 2026-12-03) against the backend draw of the same values
/// (IBackend.FillNormal: parallel chunks on the fast CPU backend; the CUDA backend's default path uses this code on the
/// host, then uploads).
/// </summary>
[Config(typeof(BenchConfig))]
public class NoiseBenchmarks
{
    private const int N = 256 * 3 * 32 * 32;
    private readonly float[] _host = new float[N];
    private readonly Tensor _tensor = Tensor.Empty(new Shape(N), Device.Cpu);

    [Benchmark(Baseline = true)]
    public float HostFillNormal()
    {
        new Rng(1, 2).FillNormal(_host);
        return _host[0];
    }

    [Benchmark]
    public float BackendFillNormal()
    {
        Device.Cpu.Backend.FillNormal(_tensor, 1, 2);
        return _tensor.Span[0];
    }
}
