using AmbientNative.Data;
using SkiaSharp;

namespace AmbientNative.Imaging;

/// <summary>
/// PNG/JPEG reading and writing, and the conversion between 8-bit bitmaps and CHW float arrays in [−1, 1]
/// (see <see cref="Pixels"/>). Bitmaps are RGBA8888 premultiplied; transparency is dropped, which is the
/// same as compositing over black. Grey output is RGB luma (BT.601).
/// </summary>
public static class ImageIO
{
    private static SKImageInfo Rgba(int width, int height) => new(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);

    /// <summary>Decodes a PNG, JPEG (or any format Skia reads) completely; a truncated or corrupt file is an error, never a partial image.</summary>
    public static SKBitmap Decode(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException(path, $"cannot be read ({e.Message})", e);
        }
        using var codec = SKCodec.Create(new MemoryStream(bytes), out var created);
        if (codec == null) throw new DatasetException(path, $"is not a readable image ({Describe(created)}).");
        var bmp = new SKBitmap(Rgba(codec.Info.Width, codec.Info.Height));
        var result = codec.GetPixels(bmp.Info, bmp.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bmp.Dispose();
            throw new DatasetException(path, $"could not be decoded: {Describe(result)}.");
        }
        return bmp;
    }

    /// <summary>
    /// Reads an image as [C, H, W] floats in [−1, 1] (C = 1 grey, 3 RGB). With a size, the image is scaled to
    /// cover it and centre-cropped (<see cref="ResizeCenterCrop"/>); without, it keeps its own size.
    /// </summary>
    public static float[] Read(string path, int channels, int? height = null, int? width = null)
    {
        using var bmp = Decode(path);
        if (height is null && width is null) return ToChw(bmp, channels);
        using var sized = ResizeCenterCrop(bmp, height ?? width!.Value, width ?? height!.Value);
        return ToChw(sized, channels);
    }

    /// <summary>Writes [C, H, W] floats in [−1, 1] as PNG or JPEG (chosen by the extension: .png, .jpg, .jpeg).</summary>
    public static void Write(string path, ReadOnlySpan<float> chw, int channels, int height, int width, int jpegQuality = 95)
    {
        using var bmp = FromChw(chw, channels, height, width);
        Save(bmp, path, jpegQuality);
    }

    /// <summary>Encodes a bitmap as PNG or JPEG by the file's extension.</summary>
    public static void Save(SKBitmap bitmap, string path, int jpegQuality = 95)
    {
        var format = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".png" => SKEncodedImageFormat.Png,
            ".jpg" or ".jpeg" => SKEncodedImageFormat.Jpeg,
            var ext => throw new ArgumentException($"Cannot write '{path}': extension '{ext}' is not .png, .jpg or .jpeg."),
        };
        using var data = bitmap.Encode(format, jpegQuality)
            ?? throw new IOException($"Encoding {bitmap.Width}×{bitmap.Height} {format} for '{path}' failed.");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    /// <summary>Bitmap → [C, H, W] floats in [−1, 1]; C = 1 takes the luma (exactly the value when R = G = B).</summary>
    public static float[] ToChw(SKBitmap bitmap, int channels)
    {
        if (channels is not (1 or 3)) throw new ArgumentException($"Images have 1 or 3 channels; asked for {channels}.");
        using var rgba = bitmap.ColorType == SKColorType.Rgba8888 ? null : Convert(bitmap);
        var src = (rgba ?? bitmap).GetPixelSpan();
        int plane = bitmap.Width * bitmap.Height;
        var dst = new float[channels * plane];
        for (int p = 0; p < plane; p++)
        {
            byte r = src[4 * p], g = src[4 * p + 1], b = src[4 * p + 2];
            if (channels == 3)
            {
                dst[p] = Pixels.FromByte(r); dst[plane + p] = Pixels.FromByte(g); dst[2 * plane + p] = Pixels.FromByte(b);
            }
            else dst[p] = r == g && g == b ? Pixels.FromByte(r) : Math.Clamp((0.299f * r + 0.587f * g + 0.114f * b) / 127.5f - 1f, -1f, 1f);
        }
        return dst;
    }

    /// <summary>[C, H, W] floats in [−1, 1] (C = 1 or 3; values outside are clamped) → an opaque RGBA bitmap.</summary>
    public static SKBitmap FromChw(ReadOnlySpan<float> chw, int channels, int height, int width)
    {
        if (channels is not (1 or 3)) throw new ArgumentException($"Images have 1 or 3 channels; got {channels}.");
        int plane = height * width;
        if (chw.Length != channels * plane)
            throw new ArgumentException($"{chw.Length} values are not one {channels}×{height}×{width} image.");
        var bmp = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var dst = bmp.GetPixelSpan();
        int g = channels == 3 ? plane : 0, b = channels == 3 ? 2 * plane : 0;
        for (int p = 0; p < plane; p++)
        {
            dst[4 * p] = Pixels.ToByte(chw[p]);
            dst[4 * p + 1] = Pixels.ToByte(chw[g + p]);
            dst[4 * p + 2] = Pixels.ToByte(chw[b + p]);
            dst[4 * p + 3] = 255;
        }
        return bmp;
    }

    /// <summary>
    /// Centre crop to the target's aspect ratio (in whole source pixels, so no pixel outside the crop is ever
    /// sampled), then one resampling to <paramref name="height"/>×<paramref name="width"/>: through mipmaps when
    /// shrinking (no aliasing at large factors), Catmull-Rom bicubic when enlarging; a pure crop at equal size.
    /// </summary>
    public static SKBitmap ResizeCenterCrop(SKBitmap source, int height, int width)
    {
        if (height < 1 || width < 1) throw new ArgumentException($"Target size {height}×{width} is empty.");
        var crop = CenterCrop(source.Width, source.Height, height, width);
        using var subset = new SKBitmap();
        if (!source.ExtractSubset(subset, crop))
            throw new InvalidOperationException($"Cannot crop {crop} from a {source.Width}×{source.Height} bitmap.");
        var dst = new SKBitmap(Rgba(width, height));
        if (crop.Width == width && crop.Height == height)
        {
            if (!subset.CopyTo(dst, SKColorType.Rgba8888)) throw new InvalidOperationException($"Cannot copy a {subset.ColorType} bitmap.");
            return dst;
        }
        var sampling = crop.Width > width
            ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)
            : new SKSamplingOptions(SKCubicResampler.CatmullRom);
        using var image = SKImage.FromBitmap(subset);
        using var canvas = new SKCanvas(dst);
        canvas.Clear(SKColors.Black);
        canvas.DrawImage(image, SKRect.Create(width, height), sampling);
        return dst;
    }

    /// <summary>The largest centred rectangle of a <paramref name="w"/>×<paramref name="h"/> image with the target's aspect ratio.</summary>
    public static SKRectI CenterCrop(int w, int h, int targetHeight, int targetWidth)
    {
        // Compare w/h with targetWidth/targetHeight in integers; round the cropped side to the nearest pixel.
        int cw = w, ch = h;
        if ((long)w * targetHeight > (long)h * targetWidth) cw = Math.Clamp((int)Math.Round((double)h * targetWidth / targetHeight), 1, w);
        else ch = Math.Clamp((int)Math.Round((double)w * targetHeight / targetWidth), 1, h);
        return SKRectI.Create((w - cw) / 2, (h - ch) / 2, cw, ch);
    }

    private static SKBitmap Convert(SKBitmap bitmap)
    {
        return bitmap.Copy(SKColorType.Rgba8888)
            ?? throw new InvalidOperationException($"Cannot convert a {bitmap.ColorType} bitmap to RGBA.");
    }

    private static string Describe(SKCodecResult r) => r switch
    {
        SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput => "the file is truncated or corrupt",
        SKCodecResult.InvalidInput => "unrecognised or invalid image data",
        SKCodecResult.Unimplemented => "an image format Skia cannot decode",
        _ => r.ToString(),
    };
}
