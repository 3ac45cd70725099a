using AmbientNative.Data;
using AmbientNative.Imaging;
using AmbientNative.Tensors;
using AmbientNative.Tests.Data;
using SkiaSharp;

namespace AmbientNative.Tests.Imaging;

public class ImageGridTests
{
    [Test]
    public void Cells_are_placed_row_by_row_with_white_gaps()
    {
        int n = 5, c = 3, h = 2, w = 3, cols = 2, gap = 1, scale = 2;
        var x = DataFiles.RandomBytes(n * c * h * w).Select(Pixels.FromByte).ToArray();
        using var grid = ImageGrid.Render(x, n, c, h, w, cols, gap, scale);
        // 2 columns of 6 px + 1 gap; 3 rows of 4 px + 2 gaps.
        Assert.That((grid.Width, grid.Height), Is.EqualTo((13, 14)));
        for (int k = 0; k < n; k++)
        {
            int x0 = k % cols * (w * scale + gap), y0 = k / cols * (h * scale + gap);
            for (int y = 0; y < h * scale; y++)
                for (int i = 0; i < w * scale; i++)
                {
                    int p = y / scale * w + i / scale, o = k * c * h * w;
                    var expected = new SKColor(Pixels.ToByte(x[o + p]), Pixels.ToByte(x[o + h * w + p]), Pixels.ToByte(x[o + 2 * h * w + p]));
                    Assert.That(grid.GetPixel(x0 + i, y0 + y), Is.EqualTo(expected), $"image {k} at ({i}, {y})");
                }
        }
        Assert.That(grid.GetPixel(6, 0), Is.EqualTo(SKColors.White), "gap column");
        Assert.That(grid.GetPixel(0, 4), Is.EqualTo(SKColors.White), "gap row");
        Assert.That(grid.GetPixel(12, 13), Is.EqualTo(SKColors.White), "empty sixth cell");
    }

    [Test]
    public void Grey_tensors_save_as_png_and_captions_add_a_strip()
    {
        using var dir = new TempDir();
        using var t = Tensor.Rand(new Shape(3, 1, 8, 8), Testing.Rand.ForTest(), lo: -1f, hi: 1f);
        ImageGrid.Save(dir["g.png"], t, columns: 4);
        using (var g = ImageIO.Decode(dir["g.png"]))
            Assert.That((g.Width, g.Height), Is.EqualTo((3 * 8 + 2 * 2, 8)), "columns capped at the image count");

        var white = Enumerable.Repeat(1f, 3 * 64).ToArray();
        using var captioned = ImageGrid.Render(white, 3, 1, 8, 8, 3, gap: 2, scale: 4, captions: ["0.97", "0.50", "0.12"]);
        Assert.That(captioned.Height, Is.EqualTo(32 + ImageGrid.CaptionHeight));
        if (SKTypeface.Default.GlyphCount == 0) Assert.Ignore("No font on this machine: caption strips stay blank.");
        int dark = 0;
        for (int y = 32; y < captioned.Height; y++)
            for (int x = 0; x < 32; x++) dark += captioned.GetPixel(x, y).Red < 128 ? 1 : 0;
        Assert.That(dark, Is.GreaterThan(5), "the caption is drawn under its cell");
    }

    [Test]
    public void ShowErased_greys_erased_pixels_with_shared_or_per_channel_masks()
    {
        float[] x = [0.5f, -0.5f, 0.9f, -0.9f, /* channel 2 */ 0.1f, 0.2f, 0.3f, 0.4f];
        float[] shared = [1, 0, 1, 0];
        Assert.That(ImageGrid.ShowErased(x, shared, 1, 2, 2, 2), Is.EqualTo(new[] { 0.5f, 0, 0.9f, 0, 0.1f, 0, 0.3f, 0 }));
        float[] perChannel = [1, 1, 0, 0, 0, 1, 1, 1];
        Assert.That(ImageGrid.ShowErased(x, perChannel, 1, 2, 2, 2, erased: -1f), Is.EqualTo(new[] { 0.5f, -0.5f, -1, -1, -1, 0.2f, 0.3f, 0.4f }));
        Assert.Throws<ArgumentException>(() => ImageGrid.ShowErased(x, [1, 0, 1], 1, 2, 2, 2));
    }

    [Test]
    public void Bad_arguments_are_clear_errors()
    {
        Assert.Throws<ArgumentException>(() => ImageGrid.Render(new float[8], 2, 2, 2, 1, 2), "2 channels");
        Assert.Throws<ArgumentException>(() => ImageGrid.Render(new float[7], 2, 1, 2, 2, 2), "length");
        Assert.Throws<ArgumentException>(() => ImageGrid.Render(new float[8], 2, 1, 2, 2, 0), "columns");
        Assert.Throws<ArgumentException>(() => ImageGrid.Render(new float[8], 2, 1, 2, 2, 2, captions: ["a"]), "captions");
    }
}
