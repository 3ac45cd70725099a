using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;
using AmbientNative.Training;
using static AmbientNative.Tests.Training.TrainingTestData;

namespace AmbientNative.Tests.Training;

public class EmaTests
{
    private static IEnumerable<Device> Devices => TrainingTestData.Devices;

    [Test]
    public void Beta_halves_the_weight_every_half_life()
    {
        Assert.That(Ema.Beta(batchSize: 1000, halfLifeImages: 1000, imagesSeen: 5, rampupRatio: null), Is.EqualTo(0.5));
        Assert.That(Ema.Beta(250, 1000, 5, null), Is.EqualTo(0.8408964152537145).Within(1e-15)); // 0.5^(1/4)
        // EDM CIFAR-10: batch 512, half-life 500 kimg; β^(steps per half-life) = 0.5.
        double beta = Ema.Beta(512, 500_000, 123_456_789, 0.05);
        Assert.That(beta, Is.EqualTo(0.9992904691232699).Within(1e-15));
        Assert.That(Math.Pow(beta, 500_000.0 / 512), Is.EqualTo(0.5).Within(1e-12));
    }

    [Test]
    public void Rampup_shortens_the_half_life_early_on()
    {
        // h = min(500k, imagesSeen · 0.05)
        Assert.That(Ema.Beta(512, 500_000, imagesSeen: 0, rampupRatio: 0.05), Is.EqualTo(0), "first step: h = 0, the average copies the weights");
        Assert.That(Ema.Beta(500, 500_000, imagesSeen: 10_000, rampupRatio: 0.05), Is.EqualTo(0.5).Within(1e-15), "h = 500");
        Assert.That(Ema.Beta(500, 500_000, imagesSeen: 40_000, rampupRatio: 0.05), Is.EqualTo(Math.Pow(0.5, 0.25)).Within(1e-15), "h = 2000");
        Assert.That(Ema.Beta(500, 500_000, imagesSeen: 10_000_000, rampupRatio: 0.05), Is.EqualTo(Ema.Beta(500, 500_000, 0, null)), "ramp-up over at 10 Mimg");
        Assert.That(Ema.Beta(500, 500_000, imagesSeen: 50_000_000, rampupRatio: 0.05), Is.EqualTo(Ema.Beta(500, 500_000, 0, null)));
    }

    [Test]
    public void Update_averages_like_the_formula([ValueSource(nameof(Devices))] Device device)
    {
        var rng = Rand.ForTest();
        var p0 = Rand.Normal(rng, 13); var p1 = Rand.Normal(rng, 13); var p2 = Rand.Normal(rng, 13);
        using var w = Param("w", p0, device);
        using var ema = new Ema([w], halfLifeImages: 1_000_000, rampupRatio: 0.05);
        var avg = ema.Parameters[0];
        Assert.That((avg.Name, avg.Shape, avg.RequiresGrad), Is.EqualTo(("w", w.Shape, false)));

        w.Storage.CopyFrom(Check.ToFloat(p1));
        Assert.That(avg.ToArray(), Is.EqualTo(Check.ToFloat(p0)), "a copy, not a view of the source");
        Assert.That(ema.Update(imagesSeen: 0, batchSize: 100), Is.EqualTo(0));
        Assert.That(avg.ToArray(), Is.EqualTo(Check.ToFloat(p1)), "β = 0: the average is the current weights");

        w.Storage.CopyFrom(Check.ToFloat(p2));
        double beta = ema.Update(imagesSeen: 1000, batchSize: 100); // h = 50 → β = 0.5² = 0.25
        Assert.That(beta, Is.EqualTo(0.25).Within(1e-15));
        var expected = new double[13];
        for (int i = 0; i < 13; i++) expected[i] = 0.25 * (float)p1[i] + 0.75 * (float)p2[i];
        Check.Close(avg.ToArray(), expected, 1e-6, $"average on {device}");
    }

    [Test]
    public void CopyTo_writes_the_averages_into_another_model_by_name()
    {
        using var a = Param("enc.weight", [1, 2, 3], Device.Cpu);
        using var b = Param("enc.bias", [4, 5], Device.Cpu);
        using var ema = new Ema([a, b]);
        using var a2 = Param("enc.weight", [0, 0, 0], Device.Cpu);
        using var b2 = Param("enc.bias", [0, 0], Device.Cpu);
        ema.CopyTo([b2, a2]);
        Assert.That((a2.ToArray(), b2.ToArray()), Is.EqualTo((new float[] { 1, 2, 3 }, new float[] { 4, 5 })));

        using var wrongShape = Param("enc.bias", [0, 0, 0], Device.Cpu);
        Assert.That(() => ema.CopyTo([wrongShape]), Throws.ArgumentException.With.Message.Contains("enc.bias").And.Message.Contains("[3]"));
        using var unknown = Param("dec.bias", [0], Device.Cpu);
        Assert.That(() => ema.CopyTo([unknown]), Throws.ArgumentException.With.Message.Contains("dec.bias"));
    }

    [Test]
    public void Bad_arguments_give_clear_errors()
    {
        using var a = Param("a", [1], Device.Cpu);
        using var a2 = Param("a", [2], Device.Cpu);
        Assert.That(() => new Ema([a, a2]), Throws.ArgumentException.With.Message.Contains("\"a\""));
        Assert.That(() => new Ema([a], halfLifeImages: -1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("half-life"));
        using var ema = new Ema([a]);
        Assert.That(() => ema.Update(imagesSeen: 0, batchSize: 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("batch size"));
        Assert.That(() => ema.Update(1.5), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("β"));
    }
}
