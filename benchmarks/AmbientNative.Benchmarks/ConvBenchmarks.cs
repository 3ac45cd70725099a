using AmbientNative.Backends;
using AmbientNative.Tensors;
using BenchmarkDotNet.Attributes;

namespace AmbientNative.Benchmarks;

/// <summary>
/// A U-Net block's convolution: 128 → 128 channels, 3×3, padding 1, 32×32, batch 16 (4.8 GFLOP per pass), on
/// the fast CPU backend. benchmarks/anchors/conv_cpu.py times the same passes in PyTorch.
/// </summary>
[Config(typeof(BenchConfig))]
public class ConvBenchmarks
{
    public static readonly Conv2dGeometry G = new(16, 128, 32, 32, 128, 3, 1, 1);
    public static double Flops => G.Flops;

    private IBackend _backend = null!;
    private Tensor _x = null!, _w = null!, _b = null!, _y = null!, _gy = null!, _gx = null!, _gw = null!, _gb = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(42);
        var dev = Device.Cpu;
        _backend = dev.Backend;
        _x = Tensor.Randn(new Shape(G.N, G.Cin, G.H, G.W), rng, dev);
        _w = Tensor.Randn(new Shape(G.Cout, G.Cin, G.K, G.K), rng, dev, 0.03f);
        _b = Tensor.Randn(new Shape(G.Cout), rng, dev);
        _gy = Tensor.Randn(new Shape(G.N, G.Cout, G.OutH, G.OutW), rng, dev);
        _y = Tensor.Empty(_gy.Shape, dev);
        _gx = Tensor.Empty(_x.Shape, dev);
        _gw = Tensor.Empty(_w.Shape, dev);
        _gb = Tensor.Empty(_b.Shape, dev);
    }

    [Benchmark] public void Forward() => _backend.Conv2dForward(_x, _w, _b, _y, G);
    [Benchmark] public void BackwardData() => _backend.Conv2dBackwardData(_gy, _w, _gx, G);
    /// <summary>Weight and bias gradients, as PyTorch computes them for a conv with bias.</summary>
    [Benchmark] public void BackwardWeight() => _backend.Conv2dBackwardWeight(_x, _gy, _gw, _gb, G);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _x, _w, _b, _y, _gy, _gx, _gw, _gb }) t.Dispose();
    }
}

/// <summary>The reference loops against the fast path on a small convolution (the reference is far too slow for
/// the big one): how much the fast path buys.</summary>
[Config(typeof(BenchConfig))]
public class ConvSmallBenchmarks
{
    public static readonly Conv2dGeometry G = new(2, 32, 16, 16, 32, 3, 1, 1);
    public static double Flops => G.Flops;

    [Params("cpu-reference", "cpu-fast")] public string Backend { get; set; } = "";

    private IBackend _backend = null!;
    private Tensor _x = null!, _w = null!, _b = null!, _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        var dev = Backend == "cpu-fast" ? Device.Cpu : Device.CpuReference;
        _backend = dev.Backend;
        var rng = new Rng(42);
        _x = Tensor.Randn(new Shape(G.N, G.Cin, G.H, G.W), rng, dev);
        _w = Tensor.Randn(new Shape(G.Cout, G.Cin, G.K, G.K), rng, dev, 0.03f);
        _b = Tensor.Randn(new Shape(G.Cout), rng, dev);
        _y = Tensor.Empty(new Shape(G.N, G.Cout, G.OutH, G.OutW), dev);
    }

    [Benchmark] public void Forward() => _backend.Conv2dForward(_x, _w, _b, _y, G);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _x, _w, _b, _y }) t.Dispose();
    }
}
