using AmbientNative.Data;
using AmbientNative.Imaging;
using AmbientNative.Tests.Data;
using static AmbientNative.Tests.Data.DataFiles;

namespace AmbientNative.Tests.Imaging;

public class DatasetLoaderTests
{
    [Test]
    public void Detects_each_format()
    {
        using var dir = new TempDir();
        var idx = dir.Write("idx/train-images-idx3-ubyte.gz", Gzip(Idx([1, 2, 2], [1, 2, 3, 4])));
        dir.Write("cifar/data_batch_1.bin", new byte[3073]);
        var npy = dir.Write("x.npy", Npy("|u1", [1, 2, 2], [1, 2, 3, 4]));
        var raw = dir.Write("raw", Idx([1, 2, 2], [1, 2, 3, 4]));
        ImageIO.Write(dir["images/a.png"], new float[3], 3, 1, 1);
        var other = dir.Write("notes.txt", "hello"u8.ToArray());

        Assert.That(DatasetLoader.Detect(dir["idx"]), Is.EqualTo(DatasetFormat.Idx));
        Assert.That(DatasetLoader.Detect(idx), Is.EqualTo(DatasetFormat.Idx));
        Assert.That(DatasetLoader.Detect(raw), Is.EqualTo(DatasetFormat.Idx));
        Assert.That(DatasetLoader.Detect(dir["cifar"]), Is.EqualTo(DatasetFormat.Cifar10));
        Assert.That(DatasetLoader.Detect(dir["cifar/data_batch_1.bin"]), Is.EqualTo(DatasetFormat.Cifar10));
        Assert.That(DatasetLoader.Detect(npy), Is.EqualTo(DatasetFormat.Npy));
        Assert.That(DatasetLoader.Detect(dir["images"]), Is.EqualTo(DatasetFormat.ImageFolder));
        Throws(() => DatasetLoader.Detect(other), other, "not a recognised dataset");
        Throws(() => DatasetLoader.Detect(dir["missing"]), dir["missing"], "does not exist");
    }

    [Test]
    public void Limit_channels_and_resolution_apply_to_any_format()
    {
        using var dir = new TempDir();
        var px = RandomBytes(10 * 6 * 6);
        dir.Write("train-images-idx3-ubyte", Idx([10, 6, 6], px));
        dir.Write("train-labels-idx1-ubyte", Idx([10], Enumerable.Range(0, 10).Select(i => (byte)i).ToArray()));

        var ds = DatasetLoader.Load(dir.Path, new DatasetOptions { Limit = 4, Seed = 3, Channels = 3, Resolution = 12 });
        Assert.That(ds.Shape.ToArray(), Is.EqualTo(new[] { 4, 3, 12, 12 }));
        var chosen = ds.Labels!.ToArray();
        Assert.That(chosen, Is.EqualTo(IdxFormat.LoadFolder(dir.Path).Limit(4, 3).Labels));

        // Same size: untouched values.
        var same = DatasetLoader.Load(dir.Path, new DatasetOptions { Resolution = 6 });
        Assert.That(same.Images.ToArray(), Is.EqualTo(px.Select(Pixels.FromByte).ToArray()));
    }
}
