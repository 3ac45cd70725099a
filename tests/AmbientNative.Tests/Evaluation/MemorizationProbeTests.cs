using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Sampling;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Evaluation;
using AmbientNative.Tensors;
using AmbientNative.Tests.Diffusion;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Evaluation;

public class MemorizationProbeTests
{
    private const int N = 12, C = 2, H = 5, W = 3, Size = C * H * W;

    /// <summary>
    /// The exact denoiser of the empirical training distribution, seen through a mask: E[x0 | m ⊙ x, m] with
    /// x0 uniform over the training images, x = x0 + σ·n on the observed pixels, i.e. Σᵢ wᵢ·xᵢ with
    /// wᵢ ∝ exp(−‖m ⊙ (x − xᵢ)‖² / 2σ²). It is what a network that perfectly fits its training set computes:
    /// the ideal memorizer.
    /// </summary>
    private sealed class EmpiricalDenoiser(float[] train, float[] mask) : IDenoiser
    {
        public Tensor Denoise(Tensor x, Tensor sigma)
        {
            int b = x.Shape[0];
            var xs = x.ToArray(); var s = sigma.ToArray();
            var y = new float[xs.Length];
            for (int j = 0; j < b; j++)
            {
                var logw = new double[N];
                for (int i = 0; i < N; i++)
                {
                    double d2 = 0;
                    for (int e = 0; e < Size; e++)
                    {
                        double diff = mask[j * Size + e] * (xs[j * Size + e] - train[i * Size + e]);
                        d2 += diff * diff;
                    }
                    logw[i] = -d2 / (2.0 * s[j] * s[j]);
                }
                double max = logw.Max();
                var wts = logw.Select(l => Math.Exp(l - max)).ToArray();
                double z = wts.Sum();
                for (int e = 0; e < Size; e++)
                {
                    double acc = 0;
                    for (int i = 0; i < N; i++) acc += wts[i] / z * train[i * Size + e];
                    y[j * Size + e] = (float)acc;
                }
            }
            return Tape.Own(Tensor.FromArray(y, x.Shape, x.Device)); // owned by the caller's tape, like an op output
        }
    }

    /// <summary>The posterior mean under a Gaussian prior N(0, σd²): D = x·σd²/(σ²+σd²). Knows nothing of the training set.</summary>
    private sealed class ShrinkDenoiser : IDenoiser
    {
        public Tensor Denoise(Tensor x, Tensor sigma)
        {
            var xs = x.ToArray(); var s = sigma.ToArray();
            int per = xs.Length / s.Length;
            for (int i = 0; i < xs.Length; i++) xs[i] *= (float)Edm.CSkip(s[i / per]);
            return Tape.Own(Tensor.FromArray(xs, x.Shape, x.Device));
        }
    }

    private static float[] Training() => Check.ToFloat(Rand.Uniform(Rand.ForTest(), N * Size, -1, 1));

    private static IImageRestorer Memorizer(float[] train) =>
        new DenoiserRestorer(mask => new EmpiricalDenoiser(train, mask.ToArray()), name: "empirical");

    [Test]
    public void A_memorizing_denoiser_restores_erased_training_images_exactly()
    {
        var train = Training();
        using var t = Tensor.FromArray(train, new Shape(N, C, H, W));
        int[] probe = MemorizationProbe.PickImages(N, 5, seed: 4);
        Assert.That(probe, Is.Ordered.And.Unique);
        var spec = CorruptionSpec.PixelErase(0.6, seed: 3);
        using var r = MemorizationProbe.Run(Memorizer(train), t, probe, spec, new ProbeOptions { BatchSize = 2 });

        var rep = r.Report;
        Assert.That((rep.Images, rep.TrainingImages, rep.K, rep.Restorer), Is.EqualTo((5, N, 3, "empirical")));
        Assert.That(rep.PerImage.Select(p => p.Image), Is.EqualTo(probe));
        Assert.That(rep.NearestIsSource, Is.EqualTo(1.0));
        Assert.That(rep.RestorationSimilarity.FractionAbove(0.99), Is.EqualTo(1.0));
        Assert.That(rep.RestorationSimilarity.Min, Is.GreaterThan(0.99999));
        Check.Close(r.Restored.Span, r.Originals.Span, 1e-6, "restorations");
        // Erased pixels were really erased: about 60 % are zero in the observation and the mask.
        int erased = 0;
        for (int e = 0; e < r.Masks.Numel; e++)
        {
            Assert.That(r.Masks.Span[e] is 0f or 1f);
            if (r.Masks.Span[e] == 0) { erased++; Assert.That(r.Observed.Span[e], Is.EqualTo(0f)); }
            else Assert.That(r.Observed.Span[e], Is.EqualTo(r.Originals.Span[e]));
        }
        Assert.That((double)erased / r.Masks.Numel, Is.InRange(0.4, 0.8));
    }

    [Test]
    public void With_the_training_spec_the_probe_observes_what_the_dataset_holds()
    {
        var train = Training();
        using var t = Tensor.FromArray(train, new Shape(N, C, H, W));
        int[] probe = [1, 7, 11];
        foreach (var spec in new[] { CorruptionSpec.Box(0.5, seed: 9), CorruptionSpec.GaussianNoise(0.3, seed: 2) })
        {
            var ds = new CorruptedDataset(train, N, C, H, W, spec);
            var (y, a, at) = (new float[3 * Size], new float[3 * Size], new float[3 * Size]);
            ds.CopyBatch(probe, y, a, at);
            using var r = MemorizationProbe.Run(new DenoiserRestorer(new ShrinkDenoiser()), t, probe, spec);
            Assert.That(r.Observed.ToArray(), Is.EqualTo(y), spec.Kind.ToString());
            Assert.That(r.Masks.ToArray(), Is.EqualTo(a), spec.Kind.ToString());
        }
    }

    [Test]
    public void A_memorizing_denoiser_removes_probe_noise()
    {
        var train = Training();
        using var t = Tensor.FromArray(train, new Shape(N, C, H, W));
        using var r = MemorizationProbe.Run(Memorizer(train), t, [0, 3, 4, 10], CorruptionSpec.GaussianNoise(0.25, seed: 8));
        Assert.That(r.Report.Corruption, Is.EqualTo(new ProbeCorruption("GaussianNoise", 0, 0.25, 8)));
        Assert.That(r.Report.NearestIsSource, Is.EqualTo(1.0));
        Assert.That(r.Report.RestorationSimilarity.Min, Is.GreaterThan(0.999));
        // The noisy observation itself is clearly not a copy: the restorer did the work.
        for (int j = 0; j < 4; j++)
            Assert.That(MemorizationProbe.Cosine(r.Observed.Span.Slice(j * Size, Size), r.Originals.Span.Slice(j * Size, Size)), Is.LessThan(0.97));
    }

    [Test]
    public void A_denoiser_that_knows_no_training_set_scores_the_similarity_of_what_it_was_shown()
    {
        var train = Training();
        using var t = Tensor.FromArray(train, new Shape(N, C, H, W));
        int[] probe = [2, 5, 6, 9];
        using var r = MemorizationProbe.Run(new DenoiserRestorer(new ShrinkDenoiser(), sigmaFloor: 0.1), t, probe,
            CorruptionSpec.PixelErase(0.5, seed: 1), new ProbeOptions { Search = new NeighbourSearchOptions { K = 2 } });
        double c = Edm.CSkip(0.1);
        for (int j = 0; j < probe.Length; j++)
        {
            // Closed form: restored = c·observed; its similarity to the original, in float64 on centred pixels.
            var obs = Check.ToDouble(r.Observed.Span.Slice(j * Size, Size));
            Check.Close(r.Restored.Span.Slice(j * Size, Size), obs.Select(v => c * v).ToArray(), 1e-6, $"restoration {j}");
            var orig = Check.ToDouble(r.Originals.Span.Slice(j * Size, Size));
            double expected = CentredCosine(obs, orig);
            Assert.That(r.Report.PerImage[j].Similarity, Is.EqualTo(expected).Within(1e-5), $"image {probe[j]}");
            Assert.That(r.Report.PerImage[j].Indices, Has.Length.EqualTo(2));
        }
        Assert.That(r.Report.RestorationSimilarity.FractionAbove(0.90), Is.EqualTo(0.0));
    }

    private static double CentredCosine(double[] a, double[] b)
    {
        double ma = a.Average(), mb = b.Average(), ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) { ab += (a[i] - ma) * (b[i] - mb); aa += (a[i] - ma) * (a[i] - ma); bb += (b[i] - mb) * (b[i] - mb); }
        return ab / Math.Sqrt(aa * bb);
    }

    [Test]
    public void Probe_report_round_trips()
    {
        var train = Training();
        using var t = Tensor.FromArray(train, new Shape(N, C, H, W));
        using var r = MemorizationProbe.Run(Memorizer(train), t, [0, 1, 2], CorruptionSpec.FixedBox(0.4, seed: 5));
        var dir = Directory.CreateTempSubdirectory("ambient-probe-").FullName;
        try
        {
            var path = Path.Combine(dir, ProbeReport.FileName);
            r.Report.Save(path);
            var back = ProbeReport.Load(path);
            Assert.That(back.Corruption, Is.EqualTo(r.Report.Corruption));
            Assert.That((back.Images, back.NearestIsSource, back.Restorer), Is.EqualTo((3, r.Report.NearestIsSource, "empirical")));
            Assert.That(back.PerImage.Select(p => (p.Image, p.Similarity)), Is.EqualTo(r.Report.PerImage.Select(p => (p.Image, p.Similarity))));
            Assert.That(back.RestorationSimilarity.Histogram.Counts, Is.EqualTo(r.Report.RestorationSimilarity.Histogram.Counts));
            Assert.Throws<InvalidDataException>(() => MemorizationReport.Load(path), "a probe report is not a memorization report");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void The_sampler_restorer_of_a_memorizing_model_recovers_erased_and_noised_training_images()
    {
        var train = Training();
        using var t = Tensor.FromArray(train, new Shape(N, C, H, W));
        var restorer = new SamplerRestorer(mask => new EmpiricalDenoiser(train, mask.ToArray()), new EdmSamplerOptions { Steps = 12 }, seed: 3);
        using (var r = MemorizationProbe.Run(restorer, t, [1, 4, 9], CorruptionSpec.PixelErase(0.7, seed: 6)))
        {
            Assert.That(r.Report.NearestIsSource, Is.EqualTo(1.0));
            Assert.That(r.Report.RestorationSimilarity.Min, Is.GreaterThan(0.999));
            Assert.That(r.Report.Restorer, Is.EqualTo("Heun sampler"));
        }
        using (var r = MemorizationProbe.Run(restorer, t, [0, 7], CorruptionSpec.GaussianNoise(0.3, seed: 2)))
        {
            Assert.That(r.Report.NearestIsSource, Is.EqualTo(1.0));
            Assert.That(r.Report.RestorationSimilarity.Min, Is.GreaterThan(0.999));
        }
    }

    [Test]
    public void An_ambient_model_plugs_in_through_the_fixed_mask_denoiser()
    {
        // The probe's mask comes expanded over C channels; the masked preconditioner reads channel 0.
        var rng = Rand.ForTest();
        using var t = Tensor.FromArray(Training(), new Shape(N, C, H, W));
        int[] probe = [0, 5, 6];
        using var net = new StandInNet(C + 1, C, new Shape(probe.Length, C, H, W), rng, Device.Cpu);
        var model = new EdmPreconditioner(net);
        foreach (IImageRestorer restorer in new IImageRestorer[]
        {
            new DenoiserRestorer(mask => new FixedMaskDenoiser(model, mask)),
            new SamplerRestorer(mask => new FixedMaskDenoiser(model, mask), new EdmSamplerOptions { Steps = 4 }),
        })
        {
            using var r = MemorizationProbe.Run(restorer, t, probe, CorruptionSpec.PixelErase(0.5, seed: 1));
            Assert.That(r.Restored.Shape, Is.EqualTo(new Shape(probe.Length, C, H, W)), restorer.Name);
            Assert.That(r.Restored.ToArray(), Is.All.InRange(-1f, 1f), $"{restorer.Name}: clipped");
            Assert.That(r.Report.RestorationSimilarity.Count, Is.EqualTo(probe.Length));
        }
    }

    [Test]
    public void The_sampler_restorer_refuses_noise_outside_its_schedule()
    {
        using var t = Tensor.FromArray(Training(), new Shape(N, C, H, W));
        var restorer = new SamplerRestorer(new ShrinkDenoiser());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => MemorizationProbe.Run(restorer, t, [0], CorruptionSpec.GaussianNoise(100)))!;
        Assert.That(e.Message, Does.Contain("σ = 100").And.Contain("80"));
    }

    [Test]
    public void Bad_probe_arguments_give_clear_errors()
    {
        using var t = Tensor.FromArray(Training(), new Shape(N, C, H, W));
        var restorer = new DenoiserRestorer(new ShrinkDenoiser());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => MemorizationProbe.Run(restorer, t, [3, 12], CorruptionSpec.PixelErase(0.5)))!;
        Assert.That(e.Message, Does.Contain("12").And.Contain("training set of 12"));
        Assert.That(Assert.Throws<ArgumentException>(() => MemorizationProbe.Run(restorer, t, [1], CorruptionSpec.Clean()))!.Message, Does.Contain("None"));
        Assert.Throws<ArgumentOutOfRangeException>(() => MemorizationProbe.PickImages(5, 6, 1));
        using var flat = Tensor.FromArray(new float[6], 2, 3);
        Assert.That(Assert.Throws<ArgumentException>(() => MemorizationProbe.Run(restorer, flat, [0], CorruptionSpec.PixelErase(0.5)))!.Message,
            Does.Contain("[2, 3]"));
    }
}
