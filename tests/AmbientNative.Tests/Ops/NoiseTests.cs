using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// Noise drawn by a backend (IBackend.FillNormal) is the host generator's stream: NormalRef equals Rng.FillNormal from
/// an empty buffer bit for bit, and every CPU backend equals NormalRef (exactly; the ILGPU kernel, in float32, to 1e-5), at
/// odd sizes, above the parallel threshold, and with the block counter crossing 2³².
/// </summary>
public class NoiseTests
{
    private static readonly int[] Sizes = [1, 2, 3, 4097, 70_001];
    private static readonly ulong[] Counters = [0, (1UL << 32) - 3];

    [Test]
    public void Reference_is_the_host_generators_stream_and_counts_its_blocks()
    {
        foreach (int n in Sizes)
            foreach (ulong counter in Counters)
            {
                var rng = new Rng(0xABCDEF, counter);
                var host = new float[n];
                rng.FillNormal(host);
                var y = new float[n];
                NormalRef.FillRange(y, 0, n, 0xABCDEF, counter);
                Assert.That(y, Is.EqualTo(host), $"n = {n}, counter {counter:x}");
                if (n % 2 == 0) Assert.That(rng.Counter, Is.EqualTo(counter + NormalRef.Blocks(n)), "an even draw uses whole blocks");
            }
    }

    [Test]
    public void Every_cpu_backend_draws_the_reference_values()
    {
        foreach (var dev in CpuDevices.All)
            foreach (int n in Sizes)
                foreach (ulong counter in Counters)
                {
                    var expected = new float[n];
                    NormalRef.FillRange(expected, 0, n, 77, counter);
                    using var y = Tensor.Full(new Shape(n), float.NaN, dev);
                    dev.Backend.FillNormal(y, 77, counter);
                    string what = $"{dev.Name}: n = {n}, counter {counter:x}";
                    // The ILGPU kernel's Box–Muller runs in float32 (what PTX offers); the CPU backends are exact.
                    if (dev == Device.CpuIlgpu) Check.Close(y.ToArray(), Check.ToDouble(expected), 1e-5, what);
                    else Assert.That(y.ToArray(), Is.EqualTo(expected), what);
                }
    }

    [Test]
    public void Noise_moments_are_standard_normal()
    {
        const int n = 200_000;
        using var y = Tensor.Empty(new Shape(n), Device.Cpu);
        Device.Cpu.Backend.FillNormal(y, 5, 9);
        var v = y.ToArray();
        double mean = v.Average(x => (double)x), var = v.Average(x => (x - mean) * (x - mean));
        // 5 standard errors: mean ± 5/√n, variance ± 5·√(2/n).
        Assert.That(mean, Is.EqualTo(0).Within(5 / Math.Sqrt(n)));
        Assert.That(var, Is.EqualTo(1).Within(5 * Math.Sqrt(2.0 / n)));
    }
}
