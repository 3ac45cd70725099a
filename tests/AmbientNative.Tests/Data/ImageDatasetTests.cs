using AmbientNative.Data;

namespace AmbientNative.Tests.Data;

public class ImageDatasetTests
{
    /// <summary>N grey 2×2 images where image i holds the value i/N everywhere, so an image's identity is readable.</summary>
    private static ImageDataset Numbered(int n) =>
        new(Enumerable.Range(0, n).SelectMany(i => Enumerable.Repeat((float)i / n, 4)).ToArray(), n, 1, 2, 2,
            labels: Enumerable.Range(0, n).ToArray());

    [Test]
    public void Limit_is_a_seeded_subset_not_the_first_images()
    {
        var ds = Numbered(100);
        var a = ds.Limit(10, seed: 7);
        Assert.That(a.Count, Is.EqualTo(10));
        Assert.That(a.Labels, Is.EqualTo(ds.Limit(10, seed: 7).Labels), "same seed, same subset");
        Assert.That(a.Labels, Is.Not.EqualTo(ds.Limit(10, seed: 8).Labels), "another seed, another subset");
        Assert.That(a.Labels, Is.Not.EqualTo(Enumerable.Range(0, 10)), "not the first 10");
        Assert.That(a.Labels, Is.Ordered.And.Unique, "kept in dataset order, no repeats");
        Assert.That(ds.Limit(20, seed: 7).Labels, Is.SupersetOf(a.Labels!), "nested for one seed");
        for (int k = 0; k < a.Count; k++)
            Assert.That(a.Image(k)[3], Is.EqualTo(a.Labels![k] / 100f), "images travel with their labels");
        Assert.That(ds.Limit(100, 7), Is.SameAs(ds));
        Assert.That(ds.Limit(1000, 7), Is.SameAs(ds));
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.Limit(0, 7));
    }

    [Test]
    public void Channel_conversion_repeats_grey_and_takes_luma_of_rgb()
    {
        var grey = Numbered(3);
        var rgb = grey.WithChannels(3);
        Assert.That(rgb.Shape.ToArray(), Is.EqualTo(new[] { 3, 3, 2, 2 }));
        Assert.That(rgb.Image(2).ToArray(), Is.EqualTo(Enumerable.Repeat(2f / 3, 12)));
        var back = rgb.WithChannels(1);
        Testing.Check.Close(back.Images, grey.Images.ToArray(), 1e-6, "grey → RGB → grey");

        // Pure red, green, blue pixels: luma weights 0.299, 0.587, 0.114 on [0, 1] values.
        float[] px = [1, -1, -1, /**/ -1, 1, -1, /**/ -1, -1, 1];
        var planes = new float[9];
        for (int c = 0; c < 3; c++) for (int p = 0; p < 3; p++) planes[c * 3 + p] = px[p * 3 + c];
        var luma = new ImageDataset(planes, 1, 3, 1, 3).WithChannels(1);
        Testing.Check.Close(luma.Images, new[] { 2 * 0.299 - 1, 2 * 0.587 - 1, 2 * 0.114 - 1 }, 1e-6, "luma");
    }

    [Test]
    public void Subset_copies_batches_and_masks()
    {
        var masks = new float[3 * 4];
        masks[5] = 1;
        var ds = new ImageDataset(new float[3 * 4], 3, 1, 2, 2, masks: masks, names: ["a", "b", "c"]);
        var sub = ds.Subset([1, 1, 0]);
        Assert.That(sub.Names, Is.EqualTo(new[] { "b", "b", "a" }));
        Assert.That(sub.Masks.ToArray(), Is.EqualTo(new float[] { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 }));
        var batch = new float[8];
        Numbered(4).CopyBatch([3, 0], batch);
        Assert.That(batch, Is.EqualTo(new[] { .75f, .75f, .75f, .75f, 0, 0, 0, 0 }));
        using var t = Numbered(4).ToTensor();
        Assert.That(t.Shape.ToArray(), Is.EqualTo(new[] { 4, 1, 2, 2 }));
    }

    [Test]
    public void Construction_rejects_inconsistent_data()
    {
        Assert.Throws<ArgumentException>(() => new ImageDataset(new float[8], 2, 2, 2, 1), "2 channels");
        Assert.Throws<ArgumentException>(() => new ImageDataset(new float[7], 2, 1, 2, 2), "length");
        Assert.Throws<ArgumentException>(() => new ImageDataset([0, 0, 1.5f, 0], 1, 1, 2, 2), "out of range");
        Assert.Throws<ArgumentException>(() => new ImageDataset([0, 0, float.NaN, 0], 1, 1, 2, 2), "NaN");
        Assert.Throws<ArgumentException>(() => new ImageDataset(new float[4], 1, 1, 2, 2, labels: [1, 2]), "labels");
        Assert.Throws<ArgumentException>(() => new ImageDataset(new float[4], 1, 1, 2, 2, masks: [0, 1, 0.5f, 1]), "mask not 0/1");
        Assert.Throws<ArgumentException>(() => new ImageDataset([], 0, 1, 2, 2), "empty");
    }

    [Test]
    public void Pixel_bytes_round_trip_exactly()
    {
        for (int v = 0; v < 256; v++)
            Assert.That(Pixels.ToByte(Pixels.FromByte((byte)v)), Is.EqualTo(v));
        Assert.That((Pixels.FromByte(0), Pixels.FromByte(255)), Is.EqualTo((-1f, 1f)));
    }
}
