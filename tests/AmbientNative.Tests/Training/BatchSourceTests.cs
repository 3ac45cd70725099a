using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;
using AmbientNative.Training;

namespace AmbientNative.Tests.Training;

public class BatchSourceTests
{
    private const int Count = 6, C = 3, H = 5, W = 7, Size = C * H * W, Plane = H * W;
    private static readonly int[] Indices = [4, 0, 4, 2];
    private static readonly bool[] NoFlip = [false, false, false, false];
    private static readonly bool[] SomeFlips = [true, false, false, true];

    private static float[] Clean()
    {
        var x = new float[Count * Size];
        Rand.ForTest().FillUniform(x, -1f, 1f);
        return x;
    }

    private static float[] Mirror(float[] batch, int channels, bool[] flip)
    {
        var m = (float[])batch.Clone();
        CorruptedDataset.FlipHorizontal(m, flip, channels, H, W);
        return m;
    }

    private static void Dispose(TrainingBatch b)
    {
        b.Observed.Dispose(); b.MaskA?.Dispose(); b.MaskATilde?.Dispose(); b.Clean?.Dispose();
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Corrupted_source_gives_y_and_one_mask_plane_per_mask_channel(bool perChannel)
    {
        var dataset = new CorruptedDataset(Clean(), Count, C, H, W, CorruptionSpec.PixelErase(0.4, perChannel: perChannel, seed: 9));
        var (y, a, t) = (new float[Indices.Length * Size], new float[Indices.Length * Size], new float[Indices.Length * Size]);
        dataset.CopyBatch(Indices, y, a, t);
        int mc = perChannel ? C : 1;

        var batch = new CorruptedBatchSource(dataset).Load(Indices, NoFlip, Device.Cpu);
        Assert.That(batch.Observed.Shape, Is.EqualTo(new Shape(4, C, H, W)));
        Assert.That(batch.MaskA!.Shape, Is.EqualTo(new Shape(4, mc, H, W)));
        Assert.That(batch.MaskATilde!.Shape, Is.EqualTo(new Shape(4, mc, H, W)));
        Assert.That(batch.Clean, Is.Null, "a corrupted dataset has no clean images");
        Assert.That(batch.Observed.ToArray(), Is.EqualTo(y));
        var (ma, mt) = (batch.MaskA.ToArray(), batch.MaskATilde.ToArray());
        for (int n = 0; n < 4; n++)
            for (int c = 0; c < C; c++)
            {
                // Expanded channel c of CopyBatch is mask channel c mod MaskChannels.
                var src = (n * mc + c % mc) * Plane;
                Assert.That(ma.AsSpan(src, Plane).SequenceEqual(a.AsSpan((n * C + c) * Plane, Plane)), $"A, image {n}, channel {c}");
                Assert.That(mt.AsSpan(src, Plane).SequenceEqual(t.AsSpan((n * C + c) * Plane, Plane)), $"Ã, image {n}, channel {c}");
            }
        Assert.That(ma.Distinct(), Is.EquivalentTo(new[] { 0f, 1f }), "some pixels erased, some kept");
        Dispose(batch);
    }

    [Test]
    public void Flips_mirror_image_and_masks_together_and_only_where_asked()
    {
        var source = new CorruptedBatchSource(new CorruptedDataset(Clean(), Count, C, H, W, CorruptionSpec.Box(0.4, seed: 3)));
        var plain = source.Load(Indices, NoFlip, Device.Cpu);
        var flipped = source.Load(Indices, SomeFlips, Device.Cpu);
        Assert.That(flipped.Observed.ToArray(), Is.EqualTo(Mirror(plain.Observed.ToArray(), C, SomeFlips)), "y");
        Assert.That(flipped.MaskA!.ToArray(), Is.EqualTo(Mirror(plain.MaskA!.ToArray(), 1, SomeFlips)), "A");
        Assert.That(flipped.MaskATilde!.ToArray(), Is.EqualTo(Mirror(plain.MaskATilde!.ToArray(), 1, SomeFlips)), "Ã");
        // A box is not mirror-symmetric in general, so the flip really moved the masks.
        Assert.That(flipped.MaskA.ToArray(), Is.Not.EqualTo(plain.MaskA.ToArray()));
        Dispose(plain); Dispose(flipped);
    }

    [Test]
    public void Noisy_and_clean_corrupted_sets_carry_no_masks_and_only_clean_data_as_clean()
    {
        var noisy = new CorruptedBatchSource(new CorruptedDataset(Clean(), Count, C, H, W, CorruptionSpec.GaussianNoise(0.2, seed: 1)))
            .Load(Indices, NoFlip, Device.Cpu);
        Assert.That((noisy.MaskA, noisy.MaskATilde, noisy.Clean), Is.EqualTo(((Tensor?)null, (Tensor?)null, (Tensor?)null)));
        var clean = new CorruptedBatchSource(new CorruptedDataset(Clean(), Count, C, H, W, CorruptionSpec.Clean(1)))
            .Load(Indices, NoFlip, Device.Cpu);
        Assert.That(clean.Clean, Is.SameAs(clean.Observed));
        Assert.That(clean.MaskA, Is.Null);
        Dispose(noisy); Dispose(clean);
    }

    [Test]
    public void Clean_source_copies_the_indexed_images_and_flips_them()
    {
        var images = Clean();
        var source = new CleanBatchSource(images, Count, C, H, W);
        var batch = source.Load(Indices, SomeFlips, Device.Cpu);
        var expected = Indices.SelectMany(i => images.AsSpan(i * Size, Size).ToArray()).ToArray();
        Assert.That(batch.Observed.ToArray(), Is.EqualTo(Mirror(expected, C, SomeFlips)));
        Assert.That(batch.Clean, Is.SameAs(batch.Observed));
        Assert.That(batch.MaskA, Is.Null);
        Dispose(batch);
    }

    [Test]
    public void Bad_requests_are_refused_clearly()
    {
        var source = new CleanBatchSource(Clean(), Count, C, H, W);
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => source.Load([1, Count], [false, false], Device.Cpu))!.Message,
            Does.Contain($"index {Count} at batch position 1"));
        Assert.That(Assert.Throws<ArgumentException>(() => source.Load([1, 2], [false], Device.Cpu))!.Message,
            Does.Contain("2 indices but 1 flip flags"));
        Assert.That(Assert.Throws<ArgumentException>(() => source.Load([], [], Device.Cpu))!.Message, Does.Contain("empty"));
        Assert.That(Assert.Throws<ArgumentException>(() => new CleanBatchSource(new float[10], 2, C, H, W))!.Message,
            Does.Contain($"need {2 * Size} values, got 10"));
    }
}
