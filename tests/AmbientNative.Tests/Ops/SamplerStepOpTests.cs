using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>The fused Heun-sampler update: the reference against EDM's slope form, every CPU backend against it.</summary>
public class SamplerStepOpTests
{
    private const double SigmaHat = 2.7, SigmaNext = 1.9;

    private static double[] F32(double[] x) => Check.ToDouble(Check.ToFloat(x));

    [Test]
    public void Reference_is_edm_slope_form_in_float64()
    {
        var rng = Rand.ForTest();
        var xHat = Rand.Normal(rng, 50); var d1 = Rand.Normal(rng, 50); var d2 = Rand.Normal(rng, 50);
        double h = SigmaNext - SigmaHat;
        var euler = new double[50];
        SamplerRef.Step<double>(xHat, d1, [], [], euler, SigmaHat, SigmaNext);
        var heun = new double[50];
        SamplerRef.Step<double>(xHat, d1, euler, d2, heun, SigmaHat, SigmaNext);
        for (int i = 0; i < 50; i++)
        {
            double slope = (xHat[i] - d1[i]) / SigmaHat, xE = xHat[i] + h * slope;
            double slope2 = (xE - d2[i]) / SigmaNext;
            Assert.That(euler[i], Is.EqualTo(xE).Within(1e-12));
            Assert.That(heun[i], Is.EqualTo(xHat[i] + h * (slope + slope2) / 2).Within(1e-12));
        }
    }

    [TestCase(1)]
    [TestCase(1003)]
    public void Every_cpu_backend_writes_every_element_and_matches_float64(int n)
    {
        var rng = Rand.ForTest(n);
        var xHat = F32(Rand.Normal(rng, n)); var d1 = F32(Rand.Normal(rng, n));
        var xE = F32(Rand.Normal(rng, n)); var d2 = F32(Rand.Normal(rng, n));
        var euler64 = new double[n]; var heun64 = new double[n];
        SamplerRef.Step<double>(xHat, d1, [], [], euler64, SigmaHat, SigmaNext);
        SamplerRef.Step<double>(xHat, d1, xE, d2, heun64, SigmaHat, SigmaNext);
        var s = new Shape(1, 1, 1, n);
        foreach (var dev in CpuDevices.All)
        {
            Tensor T(double[] a) => Tensor.FromArray(Check.ToFloat(a), s, dev);
            using Tensor tx = T(xHat), td1 = T(d1), txe = T(xE), td2 = T(d2);
            using Tensor euler = Tensor.FromArray(Rand.Poison(n), s, dev), heun = Tensor.FromArray(Rand.Poison(n), s, dev);
            dev.Backend.SamplerStep(tx, td1, null, null, euler, SigmaHat, SigmaNext);
            dev.Backend.SamplerStep(tx, td1, txe, td2, heun, SigmaHat, SigmaNext);
            Check.Close(euler.ToArray(), euler64, 1e-6, $"Euler on {dev}");
            Check.Close(heun.ToArray(), heun64, 1e-6, $"Heun on {dev}");
        }
    }

    [Test]
    public void Bad_operands_are_named()
    {
        var rng = Rand.ForTest();
        using var a = Tensor.Randn(new Shape(2, 1, 3, 3), rng);
        using var b = Tensor.Randn(new Shape(2, 1, 3, 4), rng);
        using var tape = new Tape();
        var e = Assert.Throws<ArgumentException>(() => Ops_.SamplerStep(a, b, null, null, SigmaHat, SigmaNext))!;
        Assert.That(e.Message, Does.Contain("SamplerStep").And.Contain("[2, 1, 3, 4]").And.Contain("[2, 1, 3, 3]"));
        Assert.Throws<ArgumentException>(() => Ops_.SamplerStep(a, a, a, null, SigmaHat, SigmaNext));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops_.SamplerStep(a, a, a, a, SigmaHat, 0));
    }
}
