using AmbientNative.Data;
using static AmbientNative.Tests.Data.DataFiles;

namespace AmbientNative.Tests.Data;

public class NpyFormatTests
{
    [Test]
    public void Uint8_nhwc_is_transposed_to_nchw()
    {
        using var dir = new TempDir();
        int n = 2, h = 4, w = 5, c = 3;
        var px = RandomBytes(n * h * w * c);
        var path = dir.Write("x.npy", Npy("|u1", [n, h, w, c], px));
        var ds = NpyFormat.Load(path);
        Assert.That((ds.Count, ds.Channels, ds.Height, ds.Width), Is.EqualTo((n, c, h, w)));
        for (int i = 0; i < n; i++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int ch = 0; ch < c; ch++)
                        Assert.That(ds.Images[((i * c + ch) * h + y) * w + x], Is.EqualTo(px[((i * h + y) * w + x) * c + ch] / 127.5f - 1f));
    }

    [Test]
    public void Float32_nchw_in_each_value_range()
    {
        using var dir = new TempDir();
        var rng = Testing.Rand.ForTest();
        var unit = new float[2 * 1 * 3 * 6];
        rng.FillUniform(unit, 0.01f, 0.99f);
        unit[0] = 0; unit[1] = 1;
        var expected = unit.Select(v => 2 * v - 1).ToArray();
        var scaled = new Dictionary<NpyValueRange, float[]>
        {
            [NpyValueRange.ZeroToOne] = unit,
            [NpyValueRange.ZeroTo255] = unit.Select(v => v * 255).ToArray(),
            [NpyValueRange.MinusOneToOne] = expected,
        };
        foreach (var (range, values) in scaled)
        {
            var path = dir.Write($"{range}.npy", Npy("<f4", [2, 1, 3, 6], Floats(values)));
            foreach (var asked in new[] { range, NpyValueRange.Auto })
            {
                var ds = NpyFormat.Load(path, range: asked);
                Assert.That((ds.Count, ds.Channels, ds.Height, ds.Width), Is.EqualTo((2, 1, 3, 6)));
                Testing.Check.Close(ds.Images, expected, 1e-6, $"{range} read as {asked}");
            }
        }
    }

    [Test]
    public void Grey_rank3_version2_header_explicit_layout_and_labels()
    {
        using var dir = new TempDir();
        var px = RandomBytes(3 * 3 * 3);
        var grey = dir.Write("grey.npy", Npy("|u1", [3, 3, 3], px, version: 2));
        var labels = dir.Write("y.npy", Npy("<i8", [3], [.. BitConverter.GetBytes(2L), .. BitConverter.GetBytes(0L), .. BitConverter.GetBytes(11L)]));
        var ds = NpyFormat.Load(grey, labelsPath: labels);
        Assert.That((ds.Count, ds.Channels, ds.Height, ds.Width), Is.EqualTo((3, 1, 3, 3)));
        Assert.That(ds.Labels, Is.EqualTo(new[] { 2, 0, 11 }));

        // (2, 3, 4, 3) could be NCHW or NHWC: the caller says which.
        var amb = dir.Write("amb.npy", Npy("|u1", [2, 3, 4, 3], RandomBytes(72, 1)));
        Throws(() => NpyFormat.Load(amb), amb, "could be NCHW or NHWC");
        Assert.That(NpyFormat.Load(amb, NpyLayout.Nchw).Shape.ToArray(), Is.EqualTo(new[] { 2, 3, 4, 3 }));
        Assert.That(NpyFormat.Load(amb, NpyLayout.Nhwc).Shape.ToArray(), Is.EqualTo(new[] { 2, 3, 3, 4 }));
    }

    [Test]
    public void Bad_files_give_errors_that_name_the_file()
    {
        using var dir = new TempDir();
        string P(string name, byte[] b) => dir.Write(name, b);
        var good = Npy("|u1", [2, 4, 4, 1], RandomBytes(32));

        var f8 = P("f8.npy", Npy("<f8", [2, 1, 2, 2], new byte[64]));
        Throws(() => NpyFormat.Load(f8), f8, "dtype '<f8'");
        var be = P("be.npy", Npy(">f4", [2, 1, 2, 2], new byte[32]));
        Throws(() => NpyFormat.Load(be), be, "big-endian");
        var fortran = P("fortran.npy", Npy("|u1", [2, 4, 4, 1], RandomBytes(32), fortran: true));
        Throws(() => NpyFormat.Load(fortran), fortran, "Fortran order");
        var magic = P("magic.npy", [.. "PK\x03\x04"u8, .. good[4..]]);
        Throws(() => NpyFormat.Load(magic), magic, "NPY magic");
        var cut = P("cut.npy", good[..^3]);
        Throws(() => NpyFormat.Load(cut), cut, "truncated");
        var cutHeader = P("cuthead.npy", good[..40]);
        Throws(() => NpyFormat.Load(cutHeader), cutHeader, "truncated inside its header");
        var tail = P("tail.npy", [.. good, 0]);
        Throws(() => NpyFormat.Load(tail), tail, "1 bytes after the data");
        var channels = P("ch.npy", Npy("|u1", [2, 5, 4, 4], RandomBytes(160)));
        Throws(() => NpyFormat.Load(channels), channels, "neither 1 nor 3");
        var rank = P("rank.npy", Npy("|u1", [32], RandomBytes(32)));
        Throws(() => NpyFormat.Load(rank), rank, "has shape (32)");
        var nan = P("nan.npy", Npy("<f4", [1, 1, 1, 2], Floats([0.5f, float.NaN])));
        Throws(() => NpyFormat.Load(nan), nan, "NaN");
        var range = P("range.npy", Npy("<f4", [1, 1, 1, 2], Floats([0.5f, 3f])));
        Throws(() => NpyFormat.Load(range, range: NpyValueRange.ZeroToOne), range, "outside the range [0, 1]");

        var images = P("good.npy", good);
        var labels = P("labels.npy", Npy("|u1", [3], [1, 2, 3]));
        Throws(() => NpyFormat.Load(images, labelsPath: labels), labels, "3 labels but");
        var floatLabels = P("flabels.npy", Npy("<f4", [2], new byte[8]));
        Throws(() => NpyFormat.Load(images, labelsPath: floatLabels), floatLabels, "labels must be");
    }
}
