using AmbientNative.Data;
using static AmbientNative.Tests.Data.DataFiles;

namespace AmbientNative.Tests.Data;

public class IdxFormatTests
{
    [TestCase(false)]
    [TestCase(true)]
    public void Loads_images_and_labels_plain_or_gzipped(bool gz)
    {
        using var dir = new TempDir();
        int n = 3, h = 5, w = 7;
        var px = RandomBytes(n * h * w);
        byte[] labels = [7, 0, 9];
        byte[] Wrap(byte[] b) => gz ? Gzip(b) : b;
        // A gzip file is recognised by its bytes, not its name.
        var images = dir.Write("imgs.idx", Wrap(Idx([n, h, w], px)));
        var lab = dir.Write("labels.idx", Wrap(Idx([n], labels)));

        var ds = IdxFormat.Load(images, lab);

        Assert.That((ds.Count, ds.Channels, ds.Height, ds.Width), Is.EqualTo((n, 1, h, w)));
        Assert.That(ds.Labels, Is.EqualTo(new[] { 7, 0, 9 }));
        for (int i = 0; i < px.Length; i++)
            Assert.That(ds.Images[i], Is.EqualTo(px[i] / 127.5f - 1f), $"pixel {i}");
        Assert.That(ds.HasMasks, Is.False);
    }

    [Test]
    public void Loads_the_standard_file_names_from_a_folder()
    {
        using var dir = new TempDir();
        dir.Write("train-images-idx3-ubyte.gz", Gzip(Idx([2, 3, 3], RandomBytes(18))));
        dir.Write("train-labels-idx1-ubyte", Idx([2], [4, 5]));
        dir.Write("t10k-images-idx3-ubyte", Idx([1, 3, 3], RandomBytes(9, 1)));
        Assert.That(IdxFormat.IsIdxFolder(dir.Path));
        Assert.That(IdxFormat.LoadFolder(dir.Path).Labels, Is.EqualTo(new[] { 4, 5 }));
        var test = IdxFormat.LoadFolder(dir.Path, train: false);
        Assert.That((test.Count, test.Labels), Is.EqualTo((1, (IReadOnlyList<int>?)null)));
    }

    [Test]
    public void Bad_files_give_errors_that_name_the_file()
    {
        using var dir = new TempDir();
        var good = Idx([2, 4, 4], RandomBytes(32));
        string P(string name, byte[] b) => dir.Write(name, b);

        var magic = P("magic", [0x12, 0x34, .. good[2..]]);
        Throws(() => IdxFormat.Load(magic), magic, "magic");
        var type = P("type", Idx([2, 4, 4], RandomBytes(32), type: 0x0D));
        Throws(() => IdxFormat.Load(type), type, "type 0x0D");
        var cut = P("cut", good[..^5]);
        Throws(() => IdxFormat.Load(cut), cut, "truncated");
        var header = P("header", good[..9]);
        Throws(() => IdxFormat.Load(header), header, "truncated inside its header");
        var tail = P("tail", [.. good, 1, 2, 3]);
        Throws(() => IdxFormat.Load(tail), tail, "3 bytes after the data");
        var rank = P("rank", Idx([32], RandomBytes(32)));
        Throws(() => IdxFormat.Load(rank), rank, "1 dimensions");
        var empty = P("empty", []);
        Throws(() => IdxFormat.Load(empty), empty, "too short");
        var missing = dir["missing"];
        Throws(() => IdxFormat.Load(missing), missing, "cannot be read");

        var images = P("images", good);
        var labels3 = P("labels3", Idx([3], [1, 2, 3]));
        Throws(() => IdxFormat.Load(images, labels3), labels3, "3 labels but");
        var labels2d = P("labels2d", Idx([2, 1], [1, 2]));
        Throws(() => IdxFormat.Load(images, labels2d), labels2d, "2 dimensions");

        var gz = Gzip(good);
        var cutGz = P("cut.gz", gz[..(gz.Length / 2)]);
        Throws(() => IdxFormat.Load(cutGz), cutGz, "");
        var junkGz = P("junk.gz", [0x1F, 0x8B, .. RandomBytes(40)]);
        Throws(() => IdxFormat.Load(junkGz), junkGz, "gzip");
        Throws(() => IdxFormat.LoadFolder(dir.Path), dir.Path, "train-images-idx3-ubyte");
    }
}
