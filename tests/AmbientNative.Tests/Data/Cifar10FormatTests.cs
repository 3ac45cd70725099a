using AmbientNative.Data;
using static AmbientNative.Tests.Data.DataFiles;

namespace AmbientNative.Tests.Data;

public class Cifar10FormatTests
{
    private static byte[] Records(byte[] labels, byte[] pixels)
    {
        var b = new List<byte>();
        for (int r = 0; r < labels.Length; r++)
        {
            b.Add(labels[r]);
            b.AddRange(pixels.AsSpan(r * 3072, 3072).ToArray());
        }
        return b.ToArray();
    }

    [Test]
    public void Loads_batches_in_ordinal_order_as_chw_with_labels()
    {
        using var dir = new TempDir();
        var px1 = RandomBytes(2 * 3072, 1);
        var px2 = RandomBytes(1 * 3072, 2);
        // Written out of order: the loader sorts names ordinally.
        dir.Write("data_batch_2.bin", Records([3], px2));
        dir.Write("data_batch_1.bin", Records([9, 0], px1));
        dir.Write("test_batch.bin", Records([5], px2));

        var ds = Cifar10Format.LoadFolder(dir.Path);
        Assert.That((ds.Count, ds.Channels, ds.Height, ds.Width), Is.EqualTo((3, 3, 32, 32)));
        Assert.That(ds.Labels, Is.EqualTo(new[] { 9, 0, 3 }));
        var all = px1.Concat(px2).ToArray();
        // Record bytes are the R, G, B planes in turn: exactly our CHW order. Spot-check a pixel in each plane.
        foreach (int i in new[] { 0, 1024 + 33, 2048 + 1023, 3072 + 500, 2 * 3072 + 3071 })
            Assert.That(ds.Images[i], Is.EqualTo(all[i] / 127.5f - 1f), $"value {i}");
        Assert.That(Cifar10Format.LoadFolder(dir.Path, train: false).Labels, Is.EqualTo(new[] { 5 }));
    }

    [Test]
    public void Bad_batches_give_errors_that_name_the_file()
    {
        using var dir = new TempDir();
        var good = Records([1, 2], RandomBytes(2 * 3072));
        var cut = dir.Write("cut.bin", good[..^100]);
        Throws(() => Cifar10Format.Load([cut]), cut, "not a whole number of 3073-byte");
        var label = dir.Write("label.bin", Records([1, 42], RandomBytes(2 * 3072)));
        Throws(() => Cifar10Format.Load([label]), label, "record 1 has label 42");
        var empty = dir.Write("empty.bin", []);
        Throws(() => Cifar10Format.Load([empty]), empty, "empty");
        Throws(() => Cifar10Format.LoadFolder(dir.Path), dir.Path, "no data_batch_");
    }
}
