using AmbientNative.Data;
using AmbientNative.Imaging;
using AmbientNative.Tests.Data;
using SkiaSharp;
using static AmbientNative.Tests.Data.DataFiles;

namespace AmbientNative.Tests.Imaging;

public class ImageIOTests
{
    private static float[] RandomImage(int size, int salt = 0) => RandomBytes(size, salt).Select(Pixels.FromByte).ToArray();

    [TestCase(3)]
    [TestCase(1)]
    public void Png_round_trip_is_exact(int channels)
    {
        using var dir = new TempDir();
        int h = 5, w = 7;
        var x = RandomImage(channels * h * w);
        ImageIO.Write(dir["x.png"], x, channels, h, w);
        Assert.That(ImageIO.Read(dir["x.png"], channels), Is.EqualTo(x));
        if (channels == 1) // a grey file read as RGB repeats the plane
            Assert.That(ImageIO.Read(dir["x.png"], 3), Is.EqualTo(x.Concat(x).Concat(x)));
    }

    [Test]
    public void Jpeg_round_trip_is_close_on_a_smooth_image()
    {
        using var dir = new TempDir();
        int h = 16, w = 24;
        var x = new float[3 * h * w];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int i = 0; i < w; i++) x[(c * h + y) * w + i] = -0.8f + 1.6f * (c + 1) * (y + i) / (3f * (h + w));
        ImageIO.Write(dir["x.jpg"], x, 3, h, w, jpegQuality: 95);
        var back = ImageIO.Read(dir["x.jpg"], 3);
        double err = x.Zip(back, (a, b) => Math.Abs(a - b)).Average();
        Assert.That(err, Is.LessThan(0.02), "mean absolute error on [−1, 1]");
    }

    [Test]
    public void Unreadable_or_truncated_files_are_errors_naming_the_file()
    {
        using var dir = new TempDir();
        ImageIO.Write(dir["good.png"], RandomImage(3 * 20 * 20), 3, 20, 20);
        var png = File.ReadAllBytes(dir["good.png"]);
        var cut = dir.Write("cut.png", png[..(png.Length / 2)]);
        Throws(() => ImageIO.Decode(cut), cut, "truncated");
        var junk = dir.Write("junk.png", RandomBytes(200));
        Throws(() => ImageIO.Decode(junk), junk, "not a readable image");
        Throws(() => ImageIO.Decode(dir["none.png"]), dir["none.png"], "cannot be read");
        Assert.Throws<ArgumentException>(() => ImageIO.Write(dir["x.bmp"], new float[3], 3, 1, 1));
    }

    [Test]
    public void Resize_center_crop_keeps_the_middle()
    {
        // 40×20: red | green | blue in columns [0,10), [10,30), [30,40). The centred square is columns 10–29: green.
        var bmp = new SKBitmap(40, 20);
        for (int y = 0; y < 20; y++)
            for (int x = 0; x < 40; x++) bmp.SetPixel(x, y, x < 10 ? SKColors.Red : x < 30 ? SKColors.Lime : SKColors.Blue);
        foreach (int side in new[] { 8, 20, 33 })
        {
            using var sized = ImageIO.ResizeCenterCrop(bmp, side, side);
            Assert.That((sized.Width, sized.Height), Is.EqualTo((side, side)));
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                    Assert.That(sized.GetPixel(x, y), Is.EqualTo(SKColors.Lime), $"{side}×{side} pixel ({x}, {y})");
        }
        // Tall image, wide target: rows are cropped (40 − 5 = 35, offset 17); 31 wide → 20 at offset 5.
        Assert.That(ImageIO.CenterCrop(10, 40, 2, 4), Is.EqualTo(SKRectI.Create(0, 17, 10, 5)));
        Assert.That(ImageIO.CenterCrop(31, 20, 20, 20), Is.EqualTo(SKRectI.Create(5, 0, 20, 20)));
    }

    [Test]
    public void Equal_size_crop_is_exact_and_downscaling_averages()
    {
        var x = RandomImage(3 * 5 * 7);
        using var bmp = ImageIO.FromChw(x, 3, 5, 7);
        using var crop = ImageIO.ResizeCenterCrop(bmp, 5, 5);
        var c = ImageIO.ToChw(crop, 3);
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < 5; y++)
                for (int i = 0; i < 5; i++) Assert.That(c[(ch * 5 + y) * 5 + i], Is.EqualTo(x[(ch * 5 + y) * 7 + i + 1]));

        // A one-pixel checkerboard shrunk 7× must come out near mid-grey everywhere (point sampling would give
        // black and white): the resampler filters.
        var board = new float[63 * 63];
        for (int p = 0; p < board.Length; p++) board[p] = (p / 63 + p % 63) % 2 == 0 ? 1f : -1f;
        using var b = ImageIO.FromChw(board, 1, 63, 63);
        using var small = ImageIO.ResizeCenterCrop(b, 9, 9);
        foreach (float v in ImageIO.ToChw(small, 1)) Assert.That(Math.Abs(v), Is.LessThan(0.3f));

        // The mean survives a 4× reduction of noise.
        var noise = RandomImage(64 * 64, 1);
        using var nb = ImageIO.FromChw(noise, 1, 64, 64);
        using var ns = ImageIO.ResizeCenterCrop(nb, 16, 16);
        Assert.That(ImageIO.ToChw(ns, 1).Average(), Is.EqualTo(noise.Average()).Within(0.02));
    }
}
