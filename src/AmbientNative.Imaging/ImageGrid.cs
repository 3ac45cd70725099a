using AmbientNative.Tensors;
using SkiaSharp;

namespace AmbientNative.Imaging;

/// <summary>
/// A batch of images [N, C, H, W] in [−1, 1] laid out row by row in one picture: <c>columns</c> cells per row,
/// <c>gap</c> white pixels between cells, each cell magnified <c>scale</c> times (nearest neighbour, so pixels
/// stay visible), and an optional caption strip under each cell.
/// </summary>
public static class ImageGrid
{
    /// <summary>Height in pixels of the caption strip under each cell, when captions are given.</summary>
    public const int CaptionHeight = 12;

    /// <summary>Pixel geometry of a grid: cell k's top-left corner and the whole picture's size.</summary>
    public readonly record struct Layout(int Columns, int Rows, int CellWidth, int CellHeight, int Gap, int CaptionHeight)
    {
        public int Width => Columns * CellWidth + (Columns - 1) * Gap;
        public int Height => Rows * (CellHeight + CaptionHeight) + (Rows - 1) * Gap;
        public (int X, int Y) Cell(int k) => (k % Columns * (CellWidth + Gap), k / Columns * (CellHeight + CaptionHeight + Gap));
    }

    public static Layout Plan(int count, int height, int width, int columns, int gap = 2, int scale = 1, bool captions = false)
    {
        if (count < 1) throw new ArgumentException("A grid needs at least one image.");
        if (columns < 1) throw new ArgumentException($"columns must be at least 1; got {columns}.");
        if (gap < 0 || scale < 1) throw new ArgumentException($"gap must be ≥ 0 and scale ≥ 1; got gap {gap}, scale {scale}.");
        int cols = Math.Min(columns, count);
        return new Layout(cols, (count + cols - 1) / cols, width * scale, height * scale, gap, captions ? CaptionHeight : 0);
    }

    public static SKBitmap Render(ReadOnlySpan<float> images, int count, int channels, int height, int width, int columns,
        int gap = 2, int scale = 1, IReadOnlyList<string>? captions = null)
    {
        if (channels is not (1 or 3)) throw new ArgumentException($"Grid images need 1 or 3 channels; got {channels}.");
        int size = channels * height * width;
        if (images.Length != count * size)
            throw new ArgumentException($"{images.Length} values are not {count} images of {channels}×{height}×{width}.");
        if (captions != null && captions.Count != count)
            throw new ArgumentException($"{captions.Count} captions for {count} images.");
        var layout = Plan(count, height, width, columns, gap, scale, captions != null);
        var bmp = new SKBitmap(new SKImageInfo(layout.Width, layout.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        bmp.Erase(SKColors.White);
        var dst = bmp.GetPixelSpan();
        int plane = height * width, stride = layout.Width * 4;
        for (int k = 0; k < count; k++)
        {
            var img = images.Slice(k * size, size);
            var (x0, y0) = layout.Cell(k);
            for (int y = 0; y < layout.CellHeight; y++)
                for (int x = 0; x < layout.CellWidth; x++)
                {
                    int p = y / scale * width + x / scale;
                    int o = (y0 + y) * stride + (x0 + x) * 4;
                    dst[o] = Data.Pixels.ToByte(img[p]);
                    dst[o + 1] = Data.Pixels.ToByte(img[channels == 3 ? plane + p : p]);
                    dst[o + 2] = Data.Pixels.ToByte(img[channels == 3 ? 2 * plane + p : p]);
                    dst[o + 3] = 255;
                }
        }
        if (captions != null) DrawCaptions(bmp, layout, captions);
        return bmp;
    }

    /// <summary>Renders and writes the grid as PNG (or JPEG, by extension).</summary>
    public static void Save(string path, ReadOnlySpan<float> images, int count, int channels, int height, int width, int columns,
        int gap = 2, int scale = 1, IReadOnlyList<string>? captions = null)
    {
        using var bmp = Render(images, count, channels, height, width, columns, gap, scale, captions);
        ImageIO.Save(bmp, path);
    }

    /// <summary>Writes a [N, C, H, W] tensor (on any device) as a grid.</summary>
    public static void Save(string path, Tensor batch, int columns, int gap = 2, int scale = 1, IReadOnlyList<string>? captions = null)
    {
        var (n, c, h, w) = batch.Shape.Nchw("grid batch");
        Save(path, batch.ToArray(), n, c, h, w, columns, gap, scale, captions);
    }

    /// <summary>
    /// A ⊙ x for display: each image with its erased pixels (mask 0) set to <paramref name="erased"/>, by
    /// default 0, mid-grey in [−1, 1]. Masks are [N, 1, H, W] (shared over channels) or [N, C, H, W].
    /// </summary>
    public static float[] ShowErased(ReadOnlySpan<float> images, ReadOnlySpan<float> masks, int count, int channels, int height, int width,
        float erased = 0f)
    {
        int plane = height * width, size = channels * plane;
        if (images.Length != count * size) throw new ArgumentException($"{images.Length} values are not {count} images of {channels}×{height}×{width}.");
        int maskChannels = masks.Length == count * plane ? 1 : masks.Length == count * size ? channels
            : throw new ArgumentException($"{masks.Length} mask values fit neither [{count}, 1, {height}, {width}] nor [{count}, {channels}, {height}, {width}].");
        var dst = new float[images.Length];
        for (int i = 0; i < count; i++)
            for (int c = 0; c < channels; c++)
                for (int p = 0; p < plane; p++)
                {
                    int o = (i * channels + c) * plane + p;
                    float m = masks[(i * maskChannels + (maskChannels == 1 ? 0 : c)) * plane + p];
                    dst[o] = m != 0f ? images[o] : erased;
                }
        return dst;
    }

    private static void DrawCaptions(SKBitmap bmp, Layout layout, IReadOnlyList<string> captions)
    {
        // Text needs a font; a machine without any renders the strips blank rather than failing the run.
        var typeface = SKTypeface.FromFamilyName("sans-serif");   // falls back to the default face
        if (typeface.GlyphCount == 0) return;
        using var canvas = new SKCanvas(bmp);
        using var font = new SKFont(typeface, CaptionHeight - 2) { Edging = SKFontEdging.Antialias };
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        for (int k = 0; k < captions.Count; k++)
        {
            var (x0, y0) = layout.Cell(k);
            var rect = SKRect.Create(x0, y0 + layout.CellHeight, layout.CellWidth, CaptionHeight);
            canvas.Save();
            canvas.ClipRect(rect);
            canvas.DrawText(captions[k], rect.MidX, rect.Bottom - 2, SKTextAlign.Center, font, paint);
            canvas.Restore();
        }
    }
}
