using AmbientNative.Diffusion.Corruption;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Diffusion;

public class CorruptionMaskTests
{
    private const int C = 3, H = 13, W = 11; // odd, non-square: catches swapped H/W and off-by-ones

    private static IEnumerable<TestCaseData> AllSpecs()
    {
        yield return new TestCaseData(CorruptionSpec.Clean(seed: 5)).SetArgDisplayNames("Clean");
        yield return new TestCaseData(CorruptionSpec.PixelErase(0.6, seed: 7)).SetArgDisplayNames("PixelErase_0.6");
        yield return new TestCaseData(CorruptionSpec.PixelErase(0.35, delta: 0.25, perChannel: true, seed: 8)).SetArgDisplayNames("PixelErase_perChannel");
        yield return new TestCaseData(CorruptionSpec.PixelErase(0.2, delta: 0, seed: 9)).SetArgDisplayNames("PixelErase_delta0");
        yield return new TestCaseData(CorruptionSpec.Box(0.5, seed: 10)).SetArgDisplayNames("Box_0.5");
        yield return new TestCaseData(CorruptionSpec.Box(0.3, delta: 0, seed: 11)).SetArgDisplayNames("Box_delta0");
        yield return new TestCaseData(CorruptionSpec.FixedBox(0.4, seed: 12)).SetArgDisplayNames("FixedBox_0.4");
        yield return new TestCaseData(CorruptionSpec.FixedBox(0.7, delta: 0, seed: 13)).SetArgDisplayNames("FixedBox_delta0");
        yield return new TestCaseData(CorruptionSpec.GaussianNoise(0.2, seed: 14)).SetArgDisplayNames("Gaussian");
    }

    private static (float[] A, float[] ATilde) Masks(CorruptionSpec spec, Rng rng)
    {
        var a = Rand.Poison(C * H * W);
        var t = Rand.Poison(C * H * W);
        CorruptionMasks.Generate(spec, rng, C, H, W, a, t);
        return (a, t);
    }

    [TestCaseSource(nameof(AllSpecs))]
    public void Masks_are_zero_one_with_ATilde_inside_A(CorruptionSpec spec)
    {
        var root = new Rng(spec.Seed);
        for (int n = 0; n < 50; n++)
        {
            var (a, t) = Masks(spec, root.Fork((ulong)n));
            for (int i = 0; i < a.Length; i++)
            {
                Assert.That(a[i] is 0f or 1f, $"A[{i}] = {a[i]}");
                Assert.That(t[i] is 0f or 1f, $"Ã[{i}] = {t[i]}");
                Assert.That(t[i], Is.LessThanOrEqualTo(a[i]), $"Ã > A at element {i} of image {n}");
            }
        }
    }

    [TestCaseSource(nameof(AllSpecs))]
    public void Kept_fractions_match_expectation_within_3_sigma(CorruptionSpec spec)
    {
        const int images = 400;
        var keptA = new double[images];
        var keptT = new double[images];
        var root = new Rng(spec.Seed);
        for (int n = 0; n < images; n++)
        {
            var (a, t) = Masks(spec, root.Fork((ulong)n));
            keptA[n] = a.Average(v => (double)v);
            keptT[n] = t.Average(v => (double)v);
        }
        var (expA, expT) = CorruptionMasks.ExpectedKeptFraction(spec, H, W);
        if (spec.Kind == CorruptionKind.PixelErase)
        {
            Assert.That(expA, Is.EqualTo(1 - spec.P).Within(1e-15));
            Assert.That(expT, Is.EqualTo((1 - spec.P) * (1 - spec.Delta)).Within(1e-15));
        }
        AssertMeanWithin3Sigma(keptA, expA, "A");
        AssertMeanWithin3Sigma(keptT, expT, "Ã");
    }

    // The standard error comes from the per-image spread, so it covers pixel and box patterns alike.
    private static void AssertMeanWithin3Sigma(double[] x, double expected, string what)
    {
        double mean = x.Average();
        double se = Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / (x.Length - 1) / x.Length);
        Assert.That(Math.Abs(mean - expected), Is.LessThanOrEqualTo(3 * se + 1e-12),
            $"{what}: kept fraction {mean:F5} vs expected {expected:F5} (standard error {se:E2})");
    }

    [TestCaseSource(nameof(AllSpecs))]
    public void Shared_masks_are_identical_across_channels(CorruptionSpec spec)
    {
        var (a, t) = Masks(spec, new Rng(spec.Seed).Fork(3));
        int plane = H * W;
        bool anyDiffers = false;
        for (int c = 1; c < C; c++)
        for (int i = 0; i < plane; i++)
        {
            bool same = a[c * plane + i] == a[i] && t[c * plane + i] == t[i];
            if (!spec.PerChannel) Assert.That(same, $"channel {c} differs from channel 0 at pixel {i}");
            anyDiffers |= !same;
        }
        if (spec.PerChannel) Assert.That(anyDiffers, "per-channel masks came out identical across channels");
        Assert.That(spec.MaskChannels(C), Is.EqualTo(spec.PerChannel ? C : 1));
    }

    [TestCaseSource(nameof(AllSpecs))]
    public void Masks_are_a_function_of_seed_and_stream(CorruptionSpec spec)
    {
        var (a1, t1) = Masks(spec, new Rng(spec.Seed).Fork(4));
        var (a2, t2) = Masks(spec, new Rng(spec.Seed).Fork(4));
        Assert.That(a2, Is.EqualTo(a1));
        Assert.That(t2, Is.EqualTo(t1));
        if (!spec.ErasesPixels) return;
        // A box pattern has few distinct masks (25 for FixedBox 0.7 on 13×11), so two draws may coincide: ask that
        // ten other indices, or ten other seeds, do not all repeat image 4's masks.
        bool Same(Rng rng) { var (a, t) = Masks(spec, rng); return a.SequenceEqual(a1) && t.SequenceEqual(t1); }
        Assert.That(Enumerable.Range(5, 10).All(n => Same(new Rng(spec.Seed).Fork((ulong)n))), Is.False, "other image indices gave the same masks");
        Assert.That(Enumerable.Range(1, 10).All(k => Same(new Rng(spec.Seed + (ulong)k).Fork(4))), Is.False, "other seeds gave the same masks");
    }

    [TestCase(CorruptionKind.Box, 0.5, 7, 6)]      // ⌈6.5⌉, ⌈5.5⌉
    [TestCase(CorruptionKind.Box, 0.3, 4, 4)]      // ⌈3.9⌉, ⌈3.3⌉
    [TestCase(CorruptionKind.FixedBox, 0.4, 5, 4)] // ⌊5.2⌋, ⌊4.4⌋
    [TestCase(CorruptionKind.FixedBox, 0.7, 9, 7)] // ⌊9.1⌋, ⌊7.7⌋
    public void Box_has_the_specified_size_and_placement(CorruptionKind kind, double p, int rows, int cols)
    {
        var spec = new CorruptionSpec { Kind = kind, P = p, Delta = 0, Seed = 21 };
        Assert.That(CorruptionMasks.BoxSize(spec, H, W), Is.EqualTo((rows, cols)));
        var rowStarts = new HashSet<int>();
        var colStarts = new HashSet<int>();
        var root = new Rng(spec.Seed);
        for (int n = 0; n < 600; n++)
        {
            var (a, _) = Masks(spec, root.Fork((ulong)n));
            var (r0, c0, r1, c1) = ErasedBoundingBox(a);
            // The erased pixels form exactly one rectangle, of full size unless a Box is clipped by the border.
            for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++)
                Assert.That(a[r * W + c], Is.EqualTo(r >= r0 && r < r1 && c >= c0 && c < c1 ? 0f : 1f), $"image {n} pixel ({r},{c})");
            if (kind == CorruptionKind.FixedBox || r1 < H) Assert.That(r1 - r0, Is.EqualTo(rows), $"image {n} box height");
            if (kind == CorruptionKind.FixedBox || c1 < W) Assert.That(c1 - c0, Is.EqualTo(cols), $"image {n} box width");
            rowStarts.Add(r0); colStarts.Add(c0);
        }
        // Every admissible corner occurs: the whole image for Box, every fully-inside position for FixedBox.
        int rowPositions = kind == CorruptionKind.Box ? H : H - rows + 1;
        int colPositions = kind == CorruptionKind.Box ? W : W - cols + 1;
        Assert.That(rowStarts, Is.EquivalentTo(Enumerable.Range(0, rowPositions)), "box top rows");
        Assert.That(colStarts, Is.EquivalentTo(Enumerable.Range(0, colPositions)), "box left columns");
    }

    [Test]
    public void Box_side_is_not_inflated_by_rounding()
    {
        // 0.07·100 = 7.000000000000001 in double; the box is 7 pixels, not 8. And 0.29·100 = 28.999999999999996 floors to 29.
        Assert.That(CorruptionMasks.BoxSize(CorruptionSpec.Box(0.07), 100, 100), Is.EqualTo((7, 7)));
        Assert.That(CorruptionMasks.BoxSize(CorruptionSpec.FixedBox(0.29), 100, 100), Is.EqualTo((29, 29)));
    }

    [Test]
    public void Box_further_corruption_is_a_second_box()
    {
        var spec = CorruptionSpec.Box(0.4, delta: 0.1, seed: 3);
        int extraErased = 0;
        var root = new Rng(spec.Seed);
        for (int n = 0; n < 20; n++)
        {
            var (a, t) = Masks(spec, root.Fork((ulong)n));
            var b = new float[H * W];
            for (int i = 0; i < b.Length; i++) b[i] = a[i] == 1 && t[i] == 0 ? 0f : 1f;
            if (b.Contains(0f))
            {
                // What Ã erases beyond A is part of one rectangle of at most the box size.
                var (r0, c0, r1, c1) = ErasedBoundingBox(b);
                Assert.That(r1 - r0, Is.LessThanOrEqualTo(6));
                Assert.That(c1 - c0, Is.LessThanOrEqualTo(5));
                extraErased++;
            }
        }
        Assert.That(extraErased, Is.GreaterThan(10), "the second box rarely erased anything");
    }

    private static (int R0, int C0, int R1, int C1) ErasedBoundingBox(float[] plane)
    {
        int r0 = H, c0 = W, r1 = 0, c1 = 0;
        for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++)
            if (plane[r * W + c] == 0)
            {
                r0 = Math.Min(r0, r); c0 = Math.Min(c0, c);
                r1 = Math.Max(r1, r + 1); c1 = Math.Max(c1, c + 1);
            }
        return (r0, c0, r1, c1);
    }

    private static IEnumerable<TestCaseData> BadSpecs()
    {
        yield return new TestCaseData(CorruptionSpec.PixelErase(1.0), "P");
        yield return new TestCaseData(CorruptionSpec.PixelErase(-0.1), "P");
        yield return new TestCaseData(CorruptionSpec.Box(double.NaN), "P");
        yield return new TestCaseData(CorruptionSpec.Clean() with { P = 0.5 }, "P");
        yield return new TestCaseData(CorruptionSpec.PixelErase(0.5, delta: 1.0), "Delta");
        yield return new TestCaseData(CorruptionSpec.Box(0.5) with { PerChannel = true }, "PerChannel");
        yield return new TestCaseData(CorruptionSpec.GaussianNoise(0), "SigmaN");
        yield return new TestCaseData(CorruptionSpec.GaussianNoise(double.PositiveInfinity), "SigmaN");
        yield return new TestCaseData(CorruptionSpec.PixelErase(0.5) with { SigmaN = 0.1 }, "SigmaN");
        yield return new TestCaseData(new CorruptionSpec { Kind = (CorruptionKind)42 }, "Kind");
    }

    [TestCaseSource(nameof(BadSpecs))]
    public void Invalid_spec_names_the_field(CorruptionSpec spec, string field)
    {
        var ex = Assert.Throws<ArgumentException>(spec.Validate)!;
        Assert.That(ex.Message, Does.StartWith($"CorruptionSpec.{field}:"));
        Assert.Throws<ArgumentException>(() => Masks(spec, new Rng(1)));
    }

    [Test]
    public void Wrong_mask_buffer_size_is_an_error()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            CorruptionMasks.Generate(CorruptionSpec.PixelErase(0.5), new Rng(1), C, H, W, new float[C * H * W], new float[H * W]))!;
        Assert.That(ex.Message, Does.Contain("3×13×11").And.Contain($"Ã {H * W}"));
    }
}
