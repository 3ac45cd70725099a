using AmbientNative.Data;
using AmbientNative.Imaging;
using AmbientNative.Tests.Data;
using static AmbientNative.Tests.Data.DataFiles;

namespace AmbientNative.Tests.Imaging;

public class ImageFolderDatasetTests
{
    private static float[] RandomImage(int size, int salt) => RandomBytes(size, salt).Select(Pixels.FromByte).ToArray();

    private static float[] WriteImage(TempDir dir, string name, int h, int w, int salt, int channels = 3)
    {
        var x = RandomImage(channels * h * w, salt);
        var path = dir[name];
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        ImageIO.Write(path, x, channels, h, w);
        return x;
    }

    private static void WriteMask(TempDir dir, string name, float[] mask, int h, int w) =>
        ImageIO.Write(dir[name], mask.Select(m => m == 1 ? 1f : -1f).ToArray(), 1, h, w);

    [Test]
    public void Reads_recursively_in_ordinal_order_exactly()
    {
        using var dir = new TempDir();
        var b1 = WriteImage(dir, "b/1.png", 4, 6, 1);
        var a = WriteImage(dir, "a.png", 4, 6, 2);
        var big = WriteImage(dir, "B.PNG", 4, 6, 3);
        WriteImage(dir, "c.jpg", 4, 6, 4);
        File.WriteAllText(dir["notes.txt"], "not an image");

        var ds = ImageFolderDataset.Load(dir.Path);
        Assert.That(ds.Names, Is.EqualTo(new[] { "B.PNG", "a.png", "b/1.png", "c.jpg" }), "ordinal order of relative paths");
        Assert.That((ds.Count, ds.Channels, ds.Height, ds.Width), Is.EqualTo((4, 3, 4, 6)));
        Assert.That(ds.Image(0).ToArray(), Is.EqualTo(big));
        Assert.That(ds.Image(1).ToArray(), Is.EqualTo(a));
        Assert.That(ds.Image(2).ToArray(), Is.EqualTo(b1));
        Assert.That(ds.HasMasks || ds.Skipped.Count > 0, Is.False);
        Assert.That(ImageFolderDataset.Load(dir.Path, new ImageFolderOptions { Recursive = false }).Count, Is.EqualTo(3));
    }

    [Test]
    public void Resizes_and_converts_to_grey_on_load()
    {
        using var dir = new TempDir();
        WriteImage(dir, "wide.png", 10, 30, 1);
        WriteImage(dir, "tall.png", 25, 8, 2, channels: 1);
        var ds = ImageFolderDataset.Load(dir.Path, ImageFolderOptions.Square(8, channels: 1));
        Assert.That((ds.Count, ds.Channels, ds.Height, ds.Width), Is.EqualTo((2, 1, 8, 8)));
        Throws(() => ImageFolderDataset.Load(dir.Path), dir["wide.png"], "is 30×10 but earlier images are 8×25");
    }

    [Test]
    public void Masks_become_the_observation_masks_and_hide_what_is_under_them()
    {
        using var dir = new TempDir();
        int h = 4, w = 4;
        var x = WriteImage(dir, "x.png", h, w, 1);
        var y = WriteImage(dir, "sub/y.jpg", h, w, 2);
        var mx = RandomBytes(h * w, 3).Select(v => v < 128 ? 0f : 1f).ToArray();
        var my = RandomBytes(h * w, 4).Select(v => v < 100 ? 0f : 1f).ToArray();
        WriteMask(dir, "x.mask.png", mx, h, w);
        WriteMask(dir, "sub/y.mask.png", my, h, w);

        var ds = ImageFolderDataset.Load(dir.Path);
        Assert.That(ds.HasMasks);
        Assert.That(ds.Names, Is.EqualTo(new[] { "sub/y.jpg", "x.png" }));
        Assert.That(ds.Mask(1).ToArray(), Is.EqualTo(mx));
        Assert.That(ds.Mask(0).ToArray(), Is.EqualTo(my));
        var img = ds.Image(1);
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < h * w; p++)
                Assert.That(img[c * h * w + p], Is.EqualTo(mx[p] == 1 ? x[c * h * w + p] : 0f), $"channel {c} pixel {p}");
    }

    [Test]
    public void Erased_content_does_not_bleed_into_resized_pixels()
    {
        // Observed pixels are black; erased ones hold white. Image and mask go through the same linear filter,
        // and an output pixel is observed when at most half of its filter weight fell on erased pixels. Those
        // erased pixels are grey (byte 128) before filtering, so an observed output is at most byte 64; had the
        // white reached the filter it could be up to 127.
        using var dir = new TempDir();
        int s = 16;
        var mask = new float[s * s];
        var x = new float[s * s];
        for (int p = 0; p < mask.Length; p++)
        {
            mask[p] = (p / s / 2 + p % s / 2) % 2 == 0 ? 1 : 0;   // 2×2 checkerboard blocks
            x[p] = mask[p] == 1 ? -1f : 1f;
        }
        ImageIO.Write(dir["x.png"], x, 1, s, s);
        WriteMask(dir, "x.mask.png", mask, s, s);
        var ds = ImageFolderDataset.Load(dir.Path, ImageFolderOptions.Square(6, channels: 1));
        var m = ds.Mask(0);
        float brightest = -1;
        for (int p = 0; p < m.Length; p++)
            if (m[p] == 1) brightest = Math.Max(brightest, ds.Images[p]);
            else Assert.That(ds.Images[p], Is.EqualTo(0f), "erased output pixels are 0");
        Assert.That(Pixels.ToByte(brightest), Is.InRange(1, 66), "observed pixels mix in grey, never white");
    }

    [Test]
    public void Mask_problems_are_errors_naming_the_file()
    {
        using var dir = new TempDir();
        WriteImage(dir, "a.png", 4, 4, 1);
        WriteImage(dir, "b.png", 4, 4, 2);
        WriteMask(dir, "a.mask.png", Enumerable.Repeat(1f, 16).ToArray(), 4, 4);
        Throws(() => ImageFolderDataset.Load(dir.Path), dir["b.png"], "has no mask b.mask.png");

        WriteMask(dir, "b.mask.png", Enumerable.Repeat(1f, 12).ToArray(), 3, 4);
        Throws(() => ImageFolderDataset.Load(dir.Path), dir["b.mask.png"], "is 4×3 but its image is 4×4");

        WriteMask(dir, "b.mask.png", Enumerable.Repeat(1f, 16).ToArray(), 4, 4);
        WriteMask(dir, "c.mask.png", Enumerable.Repeat(1f, 16).ToArray(), 4, 4);
        Throws(() => ImageFolderDataset.Load(dir.Path), dir["c.mask.png"], "mask with no image");
        File.Delete(dir["c.mask.png"]);
        Assert.That(ImageFolderDataset.Load(dir.Path).Count, Is.EqualTo(2));
    }

    [Test]
    public void Bad_images_fail_or_are_skipped_and_reported()
    {
        using var dir = new TempDir();
        WriteImage(dir, "good1.png", 5, 5, 1);
        WriteImage(dir, "good2.png", 5, 5, 2);
        var png = File.ReadAllBytes(dir["good2.png"]);
        dir.Write("cut.png", png[..(png.Length / 2)]);
        dir.Write("bad.jpg", RandomBytes(300));

        Throws(() => ImageFolderDataset.Load(dir.Path), dir["bad.jpg"], "not a readable image");
        var ds = ImageFolderDataset.Load(dir.Path, new ImageFolderOptions { SkipBad = true });
        Assert.That(ds.Count, Is.EqualTo(2));
        Assert.That(ds.Names, Is.EqualTo(new[] { "good1.png", "good2.png" }));
        Assert.That(ds.Skipped.Select(f => Path.GetFileName(f.Path)), Is.EqualTo(new[] { "bad.jpg", "cut.png" }));
        Assert.That(ds.Skipped[1].Reason, Does.Contain("truncated"));
        Assert.That(ds.ToString(), Does.Contain("2 bad file(s) skipped"));

        File.Delete(dir["good1.png"]); File.Delete(dir["good2.png"]);
        Throws(() => ImageFolderDataset.Load(dir.Path, new ImageFolderOptions { SkipBad = true }), dir.Path, "no usable images");
    }

    [Test]
    public void Empty_or_missing_folders_are_errors()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["sub"]);
        File.WriteAllText(dir["sub/readme.txt"], "x");
        Throws(() => ImageFolderDataset.Load(dir.Path), dir.Path, "holds no PNG or JPEG images");
        Throws(() => ImageFolderDataset.Load(dir["nope"]), dir["nope"], "is not a folder");
    }
}
