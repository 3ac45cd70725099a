using AmbientNative.Diffusion.Corruption;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Diffusion;

/// <summary>Bring-your-own corrupted data: the masks that came with the images become A; Ã is drawn per image from δ.</summary>
public class GivenMaskDatasetTests
{
    private const int N = 6, C = 3, H = 9, W = 7, Plane = H * W;

    private static (float[] X, float[] M) Data()
    {
        var rng = Rand.ForTest();
        var x = Rand.Uniform(rng, N * C * Plane, -1, 1).Select(v => (float)v).ToArray();
        var m = Enumerable.Range(0, N * Plane).Select(_ => rng.NextFloat() < 0.7f ? 1f : 0f).ToArray();
        return (x, m);
    }

    [Test]
    public void Given_masks_become_A_and_erased_pixels_are_dropped()
    {
        var (x, m) = Data();
        var ds = CorruptedDataset.FromGivenMasks(x, m, N, C, H, W, delta: 0.2, seed: 5);
        int[] idx = Enumerable.Range(0, N).ToArray();
        var y = new float[N * C * Plane]; var a = new float[y.Length]; var at = new float[y.Length];
        ds.CopyBatch(idx, y, a, at);
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                for (int i = 0; i < Plane; i++)
                {
                    int k = (n * C + c) * Plane + i;
                    Assert.That(a[k], Is.EqualTo(m[n * Plane + i]), $"A at image {n} pixel {i}");
                    Assert.That(y[k], Is.EqualTo(m[n * Plane + i] != 0 ? x[k] : 0f), $"y at image {n} element {k}");
                    Assert.That(at[k], Is.LessThanOrEqualTo(a[k]), "Ã ⊆ A");
                }
        Assert.That(ds.MaskChannels, Is.EqualTo(1));
        Assert.That(ds.Spec.P, Is.EqualTo(1 - m.Average(v => (double)v)).Within(1e-12), "Spec.P is the measured erased fraction");
    }

    [Test]
    public void Further_corruption_keeps_one_minus_delta_of_A_within_3_sigma_and_is_fixed_by_the_seed()
    {
        var rng = Rand.ForTest();
        const int n = 40;
        var x = Rand.Uniform(rng, n * C * Plane, -1, 1).Select(v => (float)v).ToArray();
        var m = Enumerable.Range(0, n * Plane).Select(_ => rng.NextFloat() < 0.6f ? 1f : 0f).ToArray();
        const double delta = 0.25;
        var ds = CorruptedDataset.FromGivenMasks(x, m, n, C, H, W, delta, seed: 9);
        var again = CorruptedDataset.FromGivenMasks(x, m, n, C, H, W, delta, seed: 9);
        int[] idx = Enumerable.Range(0, n).ToArray();
        float[] Buffers(CorruptedDataset d) { var y = new float[n * C * Plane]; var a = new float[y.Length]; var at = new float[y.Length]; d.CopyBatch(idx, y, a, at); return at; }
        var at1 = Buffers(ds);
        Assert.That(Buffers(again), Is.EqualTo(at1), "same seed, same Ã");
        double kept = 0, inA = m.Sum(v => (double)v) * C;
        for (int i = 0; i < at1.Length; i++) kept += at1[i];
        double frac = kept / inA, sd = Math.Sqrt(delta * (1 - delta) / (inA / C));
        Assert.That(frac, Is.EqualTo(1 - delta).Within(3 * sd), $"Ã keeps {frac:F3} of A");
    }

    [Test]
    public void Bad_masks_and_sizes_are_named()
    {
        var (x, m) = Data();
        m[5] = 0.5f;
        Assert.That(() => CorruptedDataset.FromGivenMasks(x, m, N, C, H, W, 0.1, 1), Throws.ArgumentException.With.Message.Contains("mask 0").And.Message.Contains("0.5"));
        Assert.That(() => CorruptedDataset.FromGivenMasks(x, m.AsSpan(1).ToArray(), N, C, H, W, 0.1, 1), Throws.ArgumentException.With.Message.Contains("mask values"));
        Assert.That(() => CorruptedDataset.FromGivenMasks(x, Data().M, N, C, H, W, 1.0, 1), Throws.ArgumentException.With.Message.Contains("delta"));
    }
}
