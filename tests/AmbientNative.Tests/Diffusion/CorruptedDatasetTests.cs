using System.Reflection;
using System.Runtime.InteropServices;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Diffusion;

public class CorruptedDatasetTests
{
    private const int C = 3, H = 7, W = 9;
    private const int Size = C * H * W;

    private static float[] CleanImages(Rng rng, int count)
    {
        var x = new float[count * Size];
        rng.FillUniform(x, -1f, 1f);
        return x;
    }

    private static CorruptedDataset Build(float[] clean, CorruptionSpec spec) => new(clean, clean.Length / Size, C, H, W, spec);

    private static (float[] Y, float[] A, float[] ATilde) All(CorruptedDataset ds)
    {
        var idx = Enumerable.Range(0, ds.Count).ToArray();
        var (y, a, t) = (Rand.Poison(idx.Length * Size), Rand.Poison(idx.Length * Size), Rand.Poison(idx.Length * Size));
        ds.CopyBatch(idx, y, a, t);
        return (y, a, t);
    }

    private static IEnumerable<TestCaseData> Specs() =>
    [
        new TestCaseData(CorruptionSpec.PixelErase(0.5, seed: 3)).SetArgDisplayNames("PixelErase"),
        new TestCaseData(CorruptionSpec.PixelErase(0.4, delta: 0.3, perChannel: true, seed: 4)).SetArgDisplayNames("PixelErase_perChannel"),
        new TestCaseData(CorruptionSpec.Box(0.5, seed: 5)).SetArgDisplayNames("Box"),
        new TestCaseData(CorruptionSpec.FixedBox(0.5, seed: 6)).SetArgDisplayNames("FixedBox"),
        new TestCaseData(CorruptionSpec.GaussianNoise(0.3, seed: 7)).SetArgDisplayNames("GaussianNoise"),
    ];

    [TestCaseSource(nameof(Specs))]
    public void Observation_is_A_times_x0_and_masks_match_the_generator(CorruptionSpec spec)
    {
        var clean = CleanImages(Rand.ForTest(), 6);
        var (y, a, t) = All(Build(clean, spec));
        var root = new Rng(spec.Seed);
        var (ea, et) = (new float[Size], new float[Size]);
        for (int n = 0; n < 6; n++)
        {
            CorruptionMasks.Generate(spec, root.Fork((ulong)n), C, H, W, ea, et);
            Assert.That(a.AsSpan(n * Size, Size).SequenceEqual(ea), $"A of image {n}");
            Assert.That(t.AsSpan(n * Size, Size).SequenceEqual(et), $"Ã of image {n}");
            if (spec.Kind == CorruptionKind.GaussianNoise) continue;
            for (int i = 0; i < Size; i++)
                Assert.That(y[n * Size + i], Is.EqualTo(ea[i] == 1 ? clean[n * Size + i] : 0f), $"y of image {n}, element {i}");
        }
    }

    [TestCaseSource(nameof(Specs))]
    public void Growing_the_dataset_keeps_existing_corruptions(CorruptionSpec spec)
    {
        var clean = CleanImages(Rand.ForTest(), 20);
        var (y10, a10, t10) = All(Build(clean[..(10 * Size)], spec));
        var (y20, a20, t20) = All(Build(clean, spec));
        Assert.That(y20[..(10 * Size)], Is.EqualTo(y10));
        Assert.That(a20[..(10 * Size)], Is.EqualTo(a10));
        Assert.That(t20[..(10 * Size)], Is.EqualTo(t10));
        // …and the images differ from one another (not one mask or noise draw repeated).
        Assert.That(y20.AsSpan(10 * Size, Size).SequenceEqual(y20.AsSpan(11 * Size, Size)), Is.False);
        if (spec.ErasesPixels)
            Assert.That(a20.AsSpan(10 * Size, Size).SequenceEqual(a20.AsSpan(11 * Size, Size)), Is.False);
    }

    [TestCase(CorruptionKind.PixelErase)]
    [TestCase(CorruptionKind.Box)]
    [TestCase(CorruptionKind.FixedBox)]
    public void Erased_clean_pixels_are_nowhere_in_the_dataset(CorruptionKind kind)
    {
        var spec = new CorruptionSpec { Kind = kind, P = 0.5, Seed = 11 };
        const int count = 8;
        // Masks do not depend on pixel values: learn them from a first build, then hide a sentinel under every erased pixel.
        var (_, a, _) = All(Build(CleanImages(Rand.ForTest(), count), spec));
        const float sentinel = 0.7123456f;
        var clean = CleanImages(Rand.ForTest(1), count);
        int hidden = 0;
        for (int i = 0; i < clean.Length; i++)
        {
            if (a[i] == 0) { clean[i] = sentinel; hidden++; }
            else if (clean[i] == sentinel) clean[i] = 0.5f;
        }
        Assert.That(hidden, Is.GreaterThan(0));
        var ds = Build(clean, spec);
        int buffers = 0;
        foreach (var (name, bytes) in HeldBuffers(ds))
        {
            Assert.That(ContainsFloat(bytes, sentinel), Is.False, $"the dataset's field {name} holds an erased clean pixel");
            buffers++;
        }
        Assert.That(buffers, Is.GreaterThanOrEqualTo(3), "expected to inspect y, A and Ã");
        // The search can succeed: the observed pixels, written as the same kind of sentinel, are found.
        var (y, _, _) = All(ds);
        int observed = Array.IndexOf(a, 1f);
        Assert.That(HeldBuffers(ds).Any(b => ContainsFloat(b.Bytes, y[observed])), "the search does not find an observed pixel");
    }

    [Test]
    public void Gaussian_kind_adds_noise_of_std_sigma_n_and_hides_the_clean_image()
    {
        const double sigmaN = 0.2;
        const int count = 40;
        var clean = CleanImages(Rand.ForTest(), count);
        const float sentinel = 0.3217654f;
        Array.Fill(clean, sentinel, 0, Size); // image 0 is all sentinel
        var ds = Build(clean, CorruptionSpec.GaussianNoise(sigmaN, seed: 2));
        var (y, a, t) = All(ds);
        int n = y.Length;
        double mean = 0, sq = 0;
        for (int i = 0; i < n; i++) { double d = y[i] - clean[i]; mean += d; sq += d * d; }
        mean /= n;
        double std = Math.Sqrt(sq / n - mean * mean);
        Assert.That(Math.Abs(mean), Is.LessThan(3 * sigmaN / Math.Sqrt(n)), "noise mean");
        Assert.That(Math.Abs(std - sigmaN), Is.LessThan(3 * sigmaN / Math.Sqrt(2.0 * n)), $"noise std {std:F5}");
        Assert.That(a.All(v => v == 1f) && t.All(v => v == 1f), "Gaussian kind erases nothing");
        foreach (var (name, bytes) in HeldBuffers(ds))
            Assert.That(ContainsFloat(bytes, sentinel), Is.False, $"field {name} holds a clean pixel");
    }

    [Test]
    public void CopyBatch_follows_the_indices_and_expands_shared_masks()
    {
        var spec = CorruptionSpec.PixelErase(0.5, seed: 1);
        var ds = Build(CleanImages(Rand.ForTest(), 5), spec);
        Assert.That(ds.MaskChannels, Is.EqualTo(1));
        Assert.That(Build(CleanImages(Rand.ForTest(), 1), spec with { PerChannel = true }).MaskChannels, Is.EqualTo(C));
        var (y, a, t) = All(ds);
        int[] idx = [3, 0, 3];
        var (by, ba, bt) = (Rand.Poison(3 * Size), Rand.Poison(3 * Size), Rand.Poison(3 * Size));
        ds.CopyBatch(idx, by, ba, bt);
        for (int b = 0; b < idx.Length; b++)
        {
            Assert.That(by.AsSpan(b * Size, Size).SequenceEqual(y.AsSpan(idx[b] * Size, Size)), $"y at batch position {b}");
            Assert.That(ba.AsSpan(b * Size, Size).SequenceEqual(a.AsSpan(idx[b] * Size, Size)), $"A at batch position {b}");
            Assert.That(bt.AsSpan(b * Size, Size).SequenceEqual(t.AsSpan(idx[b] * Size, Size)), $"Ã at batch position {b}");
            for (int c = 1; c < C; c++)
                Assert.That(ba.AsSpan(b * Size + c * H * W, H * W).SequenceEqual(ba.AsSpan(b * Size, H * W)), $"shared A, channel {c}");
        }
    }

    [Test]
    public void FlipBatch_mirrors_image_and_masks_together()
    {
        var ds = Build(CleanImages(Rand.ForTest(), 4), CorruptionSpec.Box(0.4, seed: 9));
        var (y, a, t) = All(ds);
        var (fy, fa, ft) = ((float[])y.Clone(), (float[])a.Clone(), (float[])t.Clone());
        bool[] flip = [true, false, false, true];
        ds.FlipBatch(flip, fy, fa, ft);
        for (int b = 0; b < 4; b++)
        for (int c = 0; c < C; c++)
        for (int r = 0; r < H; r++)
        for (int x = 0; x < W; x++)
        {
            int dst = ((b * C + c) * H + r) * W + x, src = ((b * C + c) * H + r) * W + (flip[b] ? W - 1 - x : x);
            Assert.That((fy[dst], fa[dst], ft[dst]), Is.EqualTo((y[src], a[src], t[src])), $"image {b} ({c},{r},{x})");
        }
        Assert.That(fa.AsSpan(0, Size).SequenceEqual(a.AsSpan(0, Size)), Is.False, "a box mask should change under a flip");
        ds.FlipBatch(flip, fy, fa, ft);
        Assert.That((fy, fa, ft), Is.EqualTo((y, a, t)), "flipping twice is the identity");
    }

    [Test]
    public void Bad_inputs_give_clear_errors()
    {
        var spec = CorruptionSpec.PixelErase(0.5);
        var clean = CleanImages(Rand.ForTest(), 3);
        Assert.That(Assert.Throws<ArgumentException>(() => new CorruptedDataset(clean, 4, C, H, W, spec))!.Message,
            Does.Contain("[4,3,7,9]").And.Contain($"got {3 * Size}"));
        clean[Size + 5] = 255f;
        Assert.That(Assert.Throws<ArgumentException>(() => Build(clean, spec))!.Message,
            Does.Contain("clean image 1 has value 255 at element 5"));
        Assert.Throws<ArgumentException>(() => Build(CleanImages(Rand.ForTest(), 1), spec with { P = 2 }));

        var ds = Build(CleanImages(Rand.ForTest(), 3), spec);
        var buf = new float[2 * Size];
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ds.CopyBatch([0, 3], buf, buf, buf))!.Message,
            Does.Contain("index 3 at batch position 1"));
        Assert.That(Assert.Throws<ArgumentException>(() => ds.CopyBatch([0], buf, buf, buf))!.Message,
            Does.Contain($"needs {Size} values per buffer"));
        Assert.Throws<ArgumentException>(() => ds.FlipBatch([true], buf, buf, buf));
    }

    // Every array the dataset keeps, found by reflection so that a field added later is searched too.
    private static IEnumerable<(string Name, byte[] Bytes)> HeldBuffers(CorruptedDataset ds)
    {
        foreach (var f in typeof(CorruptedDataset).GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            var value = f.GetValue(ds);
            if (value is Array arr && arr.GetType().GetElementType()!.IsPrimitive)
            {
                var bytes = new byte[Buffer.ByteLength(arr)];
                Buffer.BlockCopy(arr, 0, bytes, 0, bytes.Length);
                yield return (f.Name, bytes);
            }
            else if (value is not (null or CorruptionSpec or string or ValueType))
                Assert.Fail($"CorruptedDataset field {f.Name} of type {f.FieldType} is not inspected by this test; teach it.");
        }
    }

    // At any byte offset, not only at aligned ones.
    private static bool ContainsFloat(byte[] haystack, float value)
    {
        Span<byte> needle = stackalloc byte[4];
        MemoryMarshal.Write(needle, in value);
        return haystack.AsSpan().IndexOf(needle) >= 0;
    }
}
