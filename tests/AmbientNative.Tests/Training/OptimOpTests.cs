using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Training;

/// <summary>The optimizer backend methods in float32 on every CPU backend against the float64 reference.</summary>
public class OptimOpTests
{
    // The ILGPU kernels too (the training tests themselves stay off the emulator: it is too slow for whole steps).
    private static IEnumerable<Device> Devices => [.. TrainingTestData.Devices, Device.CpuIlgpu];
    private static Tensor T(double[] a, Device d) => Tensor.FromArray(Check.ToFloat(a), new Shape(a.Length), d);

    [Test]
    public void AdamStep_float32_matches_float64_reference([ValueSource(nameof(Devices))] Device device, [Values(1, 37)] int n)
    {
        var rng = Rand.ForTest();
        var p = Rand.Normal(rng, n); var g = Rand.Normal(rng, n, 0.3);
        var m = Rand.Normal(rng, n, 0.1); var v = Rand.Uniform(rng, n, 1e-4, 0.2);
        // Step 7 with a decay and an eps that matter: every term of the formula shows in the result.
        var h = new AdamStepParams(Lr: 0.03, Beta1: 0.85, Beta2: 0.99, Eps: 1e-3, WeightDecay: 0.2, Step: 7);
        var (pt, gt, mt, vt) = (T(p, device), T(g, device), T(m, device), T(v, device));
        OptimRef.AdamStep<double>(p, g, m, v, h);
        device.Backend.AdamStep(pt, gt, mt, vt, h);
        Check.Close(pt.ToArray(), p, 1e-6, "p");
        Check.Close(mt.ToArray(), m, 1e-6, "m");
        Check.Close(vt.ToArray(), v, 1e-6, "v");
        foreach (var t in new[] { pt, gt, mt, vt }) t.Dispose();
    }

    [Test]
    public void SumOfSquares_scale_and_ema_match_float64_reference([ValueSource(nameof(Devices))] Device device, [Values(1, 37)] int n)
    {
        var rng = Rand.ForTest();
        // x is made float32-representable so the sum of squares can be checked to float64 precision: it must be
        // accumulated in double (a float accumulator is off by ~1e-7 already for a few dozen terms).
        var x = Check.ToDouble(Check.ToFloat(Rand.Normal(rng, n, 2.0))); var ema = Rand.Normal(rng, n);
        using var xt = T(x, device);
        using var emat = T(ema, device);

        double ss = device.Backend.SumOfSquares(xt);
        Assert.That(ss, Is.EqualTo(x.Sum(xi => xi * xi)).Within(1e-10).Percent);

        const double beta = 0.99931; // close to 1, as EMA betas are
        OptimRef.EmaUpdate<double>(ema, x, beta);
        device.Backend.EmaUpdate(emat, xt, beta);
        Check.Close(emat.ToArray(), ema, 1e-6, "ema");

        OptimRef.ScaleInPlace<double>(x, -0.37);
        device.Backend.ScaleInPlace(xt, -0.37f);
        Check.Close(xt.ToArray(), x, 1e-6, "scale");
    }

    [Test]
    public void Reference_formulas_hold_in_float64()
    {
        double[] x = [3, -4, 12];
        Assert.That(OptimRef.SumOfSquares<double>(x), Is.EqualTo(169));
        double[] ema = [1, -2, 10];
        OptimRef.EmaUpdate<double>(ema, x, 0.75); // 0.75·ema + 0.25·x
        Assert.That(ema, Is.EqualTo(new[] { 1.5, -2.5, 10.5 }));
    }

    [Test]
    public void AllFinite_finds_a_single_nan_or_inf_anywhere([ValueSource(nameof(Devices))] Device device,
        [Values(float.NaN, float.PositiveInfinity, float.NegativeInfinity)] float bad, [Values(0, 20, 36)] int at)
    {
        var x = Check.ToFloat(Rand.Normal(Rand.ForTest(), 37));
        using (var ok = Tensor.FromArray(x, new Shape(37), device))
            Assert.That(device.Backend.AllFinite(ok), Is.True);
        x[at] = bad;
        using var t = Tensor.FromArray(x, new Shape(37), device);
        Assert.That(device.Backend.AllFinite(t), Is.False);
    }

    [Test]
    public void AdamStepParams_rejects_bad_values()
    {
        var ok = new AdamStepParams(1e-3, 0.9, 0.999, 1e-8, 0, 1);
        Assert.DoesNotThrow(ok.Validate);
        foreach (var bad in new[] { ok with { Lr = -1 }, ok with { Beta1 = 1 }, ok with { Beta2 = -0.1 },
                     ok with { Eps = double.NaN }, ok with { WeightDecay = -1 }, ok with { Step = 0 } })
            Assert.That(bad.Validate, Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("Adam"), bad.ToString());
    }
}
