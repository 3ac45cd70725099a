using System.Globalization;
using AmbientNative.Evaluation;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Evaluation;

public class MemorizationSweepTests
{
    private const int C = 1, H = 6, W = 8, D = C * H * W, Basis = 10, Train = 30, Held = 30, Samples = 24;

    /// <summary>A low-dimensional image distribution: random mixtures of a few fixed patterns, plus a little noise.</summary>
    private sealed class Family(Rng rng)
    {
        private readonly double[] _basis = Rand.Normal(rng, Basis * D);

        public Tensor Draw(int n, Rng r)
        {
            var x = new float[n * D];
            for (int i = 0; i < n; i++)
            {
                var a = Rand.Normal(r, Basis);
                for (int e = 0; e < D; e++)
                {
                    double v = 0.05 * r.NextNormal();
                    for (int k = 0; k < Basis; k++) v += a[k] * _basis[k * D + e];
                    x[i * D + e] = (float)Math.Tanh(0.3 * v);
                }
            }
            return Tensor.FromArray(x, new Shape(n, C, H, W));
        }
    }

    [Test]
    public void Copies_count_as_memorized_and_the_quality_proxy_rewards_realism_not_copying()
    {
        var rng = Rand.ForTest();
        var family = new Family(rng);
        using var train = family.Draw(Train, rng);
        using var held = family.Draw(Held, rng);
        var trainData = train.ToArray();

        // A stand-in for "train at level p, then sample": p = 0 copies the training set, 0.5 generalizes (fresh draws
        // of the same distribution), 0.9 produces noise.
        Tensor TrainAndSample(double level, CancellationToken _)
        {
            if (level == 0) return Tensor.FromArray(trainData.AsSpan(0, Samples * D), new Shape(Samples, C, H, W));
            if (level == 0.5) return family.Draw(Samples, rng);
            return Tensor.FromArray(Check.ToFloat(Rand.Uniform(rng, Samples * D, -1, 1)), new Shape(Samples, C, H, W));
        }

        var seen = new List<SweepPoint>();
        var result = MemorizationSweep.Run([0, 0.5, 0.9], TrainAndSample, train, held,
            new SweepOptions { Search = new NeighbourSearchOptions { ReferenceChunk = 7 } }, new Progress<SweepPoint>(seen.Add));
        var p = result.Points;
        TestContext.Out.WriteLine(result.ToCsv());

        Assert.That(p.Select(x => x.Level), Is.EqualTo(new[] { 0, 0.5, 0.9 }));
        Assert.That(p.Select(x => x.Samples), Is.All.EqualTo(Samples));
        Assert.That(p.Select(x => x.FractionMemorized), Is.EqualTo(new[] { 1.0, 0, 0 }));
        Assert.That(p.Select(x => x.FractionAboveHeldOut), Is.All.EqualTo(0.0), "nothing is a copy of a held-out image");
        Assert.That(p[0].MeanMaxSimilarityTrain, Is.EqualTo(1).Within(1e-6));
        // The proxy: realistic samples score well above noise, and copying scores no better than generalizing.
        Assert.That(p[1].QualityProxy, Is.GreaterThan(p[2].QualityProxy + 0.2));
        Assert.That(Math.Abs(p[0].QualityProxy - p[1].QualityProxy), Is.LessThan(0.1));

        Assert.That(result.Reports, Has.Count.EqualTo(3));
        Assert.That(result.Reports[0].MaxSimilarity.FractionAbove(0.95), Is.EqualTo(1.0));
        Assert.That((result.Threshold, result.TrainingImages, result.HeldOutImages), Is.EqualTo((0.95, Train, Held)));

        var lines = result.ToCsv().TrimEnd('\n').Split('\n');
        Assert.That(lines[0], Is.EqualTo("level,samples,fraction_memorized,fraction_above_held_out,mean_max_similarity_train,quality_proxy"));
        Assert.That(lines, Has.Length.EqualTo(4));
        var row = lines[2].Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        Assert.That(row, Is.EqualTo(new[] { 0.5, Samples, p[1].FractionMemorized, p[1].FractionAboveHeldOut, p[1].MeanMaxSimilarityTrain, p[1].QualityProxy }));
    }

    [Test]
    public void Quality_proxy_is_the_mean_max_similarity_to_the_held_out_set()
    {
        var rng = Rand.ForTest();
        using var train = Tensor.FromArray(Check.ToFloat(Rand.Uniform(rng, 9 * D, -1, 1)), new Shape(9, C, H, W));
        using var held = Tensor.FromArray(Check.ToFloat(Rand.Uniform(rng, 11 * D, -1, 1)), new Shape(11, C, H, W));
        var samples = Check.ToFloat(Rand.Uniform(rng, 5 * D, -1, 1));
        var result = MemorizationSweep.Run([0.3], (_, _) => Tensor.FromArray(samples, new Shape(5, C, H, W)), train, held,
            new SweepOptions { Threshold = 0.2 });
        using var s = Tensor.FromArray(samples, new Shape(5, C, H, W));
        var toHeld = NearestNeighbours.Search(new PixelFeatures(), s, held).MaxSimilarities();
        var toTrain = NearestNeighbours.Search(new PixelFeatures(), s, train).MaxSimilarities();
        var pt = result.Points[0];
        Assert.That(pt.QualityProxy, Is.EqualTo(toHeld.Average(v => (double)v)).Within(1e-12));
        Assert.That(pt.MeanMaxSimilarityTrain, Is.EqualTo(toTrain.Average(v => (double)v)).Within(1e-12));
        Assert.That(pt.FractionMemorized, Is.EqualTo(toTrain.Count(v => v >= 0.2f) / 5.0));
        Assert.That(pt.FractionAboveHeldOut, Is.EqualTo(toHeld.Count(v => v >= 0.2f) / 5.0));

        var dir = Directory.CreateTempSubdirectory("ambient-sweep-").FullName;
        try
        {
            result.Save(Path.Combine(dir, "sweep.json"));
            var back = SweepResult.Load(Path.Combine(dir, "sweep.json"));
            Assert.That(back.Points, Is.EqualTo(result.Points));
            Assert.That(back.QualityProxyDefinition, Is.EqualTo(SweepResult.QualityProxyText));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void Bad_sweep_inputs_give_clear_errors()
    {
        using var a = Tensor.FromArray(new float[2 * D], new Shape(2, C, H, W));
        using var b = Tensor.FromArray(new float[2 * 2 * H * W], new Shape(2, 2, H, W));
        Assert.That(Assert.Throws<ArgumentException>(() => MemorizationSweep.Run([0.1], (_, _) => a, a, b))!.Message,
            Does.Contain("[2, 1, 6, 8]").And.Contain("[2, 2, 6, 8]"));
        Assert.Throws<ArgumentException>(() => MemorizationSweep.Run([], (_, _) => a, a, a));
        var r = Rand.ForTest();
        using var t = Tensor.FromArray(Check.ToFloat(Rand.Normal(r, 2 * D)), new Shape(2, C, H, W));
        var e = Assert.Throws<InvalidOperationException>(() => MemorizationSweep.Run([0.7], (_, _) => Tensor.FromArray(new float[2 * 2 * H * W], new Shape(2, 2, H, W)), t, t))!;
        Assert.That(e.Message, Does.Contain("level 0.7").And.Contain("[2, 2, 6, 8]"));
    }
}
