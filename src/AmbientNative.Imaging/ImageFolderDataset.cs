using AmbientNative.Data;
using SkiaSharp;

namespace AmbientNative.Imaging;

/// <summary>How to read an image folder.</summary>
public sealed record ImageFolderOptions
{
    /// <summary>Output size; each image is scaled to cover it and centre-cropped. Null: every image must already have one size.</summary>
    public int? Height { get; init; }
    public int? Width { get; init; }
    /// <summary>1 (grey) or 3 (RGB).</summary>
    public int Channels { get; init; } = 3;
    /// <summary>Skip unreadable or mismatched files (listed in <see cref="ImageDataset.Skipped"/>) instead of failing.</summary>
    public bool SkipBad { get; init; }
    /// <summary>Search sub-folders too.</summary>
    public bool Recursive { get; init; } = true;

    /// <summary>Square output of side <paramref name="resolution"/>.</summary>
    public static ImageFolderOptions Square(int resolution, int channels = 3, bool skipBad = false) =>
        new() { Height = resolution, Width = resolution, Channels = channels, SkipBad = skipBad };
}

/// <summary>
/// A folder of PNG/JPEG images, searched recursively, in ordinal order of the relative path (the same on every
/// machine). Bring-your-own corrupted data: an image <c>x.png</c> (or .jpg) may come with <c>x.mask.png</c>,
/// white = observed; when any mask exists every image needs one, and the masks become the dataset's
/// observation masks A. The erased pixels of each image are set to grey before any resizing and to 0 after it,
/// so whatever the file holds under them never reaches the data. A mask is resized like its image and an output
/// pixel counts as observed when the resized mask is at least half white; give data at the model's resolution
/// for exact per-pixel masks.
/// </summary>
public static class ImageFolderDataset
{
    public const string MaskSuffix = ".mask.png";
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    public static ImageDataset Load(string folder, ImageFolderOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ImageFolderOptions();
        if (options.Channels is not (1 or 3)) throw new ArgumentException($"Channels must be 1 or 3; got {options.Channels}.");
        if (options.Height is < 1 || options.Width is < 1) throw new ArgumentException($"Size {options.Height}×{options.Width} is empty.");
        if (!Directory.Exists(folder)) throw new DatasetException(folder, "is not a folder (or does not exist).");

        var all = Directory.EnumerateFiles(folder, "*", new EnumerationOptions
            { RecurseSubdirectories = options.Recursive, IgnoreInaccessible = true, MatchCasing = MatchCasing.CaseInsensitive })
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .ToList();
        var masks = all.Where(IsMask).ToHashSet(StringComparer.Ordinal);
        var images = all.Where(f => !IsMask(f)).Order(StringComparer.Ordinal).ToList();
        if (images.Count == 0)
            throw new DatasetException(folder, masks.Count > 0
                ? $"holds {masks.Count} mask file(s) but no images (PNG or JPEG)."
                : $"holds no PNG or JPEG images{(options.Recursive ? " (searched recursively)" : "")}.");
        bool withMasks = masks.Count > 0;

        var skipped = new List<SkippedFile>();
        void Bad(DatasetException e)
        {
            if (!options.SkipBad) throw e;
            skipped.Add(new SkippedFile(e.Path, e.Problem));
        }

        // Masks whose image is missing: an error (a typo would otherwise silently drop data).
        var expected = images.Select(MaskFor).ToHashSet(StringComparer.Ordinal);
        foreach (var orphan in masks.Where(m => !expected.Contains(m)).Order(StringComparer.Ordinal))
            Bad(new DatasetException(Path.Combine(folder, orphan), $"is a mask with no image beside it (expected {orphan[..^MaskSuffix.Length]}.png or .jpg)."));

        var pixels = new List<float[]>();
        var maskValues = new List<float[]>();
        var names = new List<string>();
        (int W, int H)? size = null;
        foreach (var rel in images)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string path = Path.Combine(folder, rel);
            try
            {
                var (x, m, w, h) = ReadOne(path, withMasks ? Path.Combine(folder, MaskFor(rel)) : null, options, masks.Contains(MaskFor(rel)));
                size ??= (w, h);
                if (size != (w, h))
                    throw new DatasetException(path, $"is {w}×{h} but earlier images are {size.Value.W}×{size.Value.H}; give a resolution to resize them all.");
                pixels.Add(x);
                if (m != null) maskValues.Add(m);
                names.Add(rel);
            }
            catch (DatasetException e) { Bad(e); }
        }
        if (pixels.Count == 0)
            throw new DatasetException(folder, $"has no usable images: all {images.Count} were bad (first: {skipped[0]}).");

        var (width, height) = size!.Value;
        int n = pixels.Count, c = options.Channels;
        var data = Concat(pixels);
        return new ImageDataset(data, n, c, height, width, masks: withMasks ? Concat(maskValues) : null,
            names: names, skipped: skipped, source: folder);
    }

    private static bool IsMask(string relativePath) => relativePath.EndsWith(MaskSuffix, StringComparison.OrdinalIgnoreCase);

    /// <summary>"a/x.jpg" → "a/x.mask.png".</summary>
    public static string MaskFor(string imagePath) => Path.ChangeExtension(imagePath, null) + MaskSuffix;

    /// <summary>One image (and its mask) at the output size: CHW floats, the [1, H, W] 0/1 mask or null, and the size.</summary>
    private static (float[] X, float[]? M, int W, int H) ReadOne(string path, string? maskPath, ImageFolderOptions o, bool maskExists)
    {
        using var img = ImageIO.Decode(path);
        using var mask = maskPath is null ? null : ReadMask(path, maskPath, maskExists, img);
        using var sizedImg = Resize(img, o);
        using var sizedMask = mask is null ? null : Resize(mask, o);
        var outImg = sizedImg ?? img;
        var x = ImageIO.ToChw(outImg, o.Channels);
        if (mask is null) return (x, null, outImg.Width, outImg.Height);

        var s = (sizedMask ?? mask).GetPixelSpan();
        int plane = outImg.Width * outImg.Height;
        var m = new float[plane];
        for (int p = 0; p < plane; p++) m[p] = Observed(s[4 * p], s[4 * p + 1], s[4 * p + 2]) ? 1f : 0f;
        for (int ch = 0; ch < o.Channels; ch++)
            for (int p = 0; p < plane; p++) x[ch * plane + p] *= m[p];
        return (x, m, outImg.Width, outImg.Height);
    }

    /// <summary>Decodes and checks an image's mask, and greys out the image's erased pixels (before any resampling, so
    /// their content cannot bleed into observed neighbours).</summary>
    private static SKBitmap ReadMask(string path, string maskPath, bool maskExists, SKBitmap img)
    {
        if (!maskExists)
            throw new DatasetException(path, $"has no mask {Path.GetFileName(maskPath)} while other images in the folder have masks.");
        var mask = ImageIO.Decode(maskPath);
        if (mask.Width != img.Width || mask.Height != img.Height)
        {
            var problem = $"is {mask.Width}×{mask.Height} but its image is {img.Width}×{img.Height}.";
            mask.Dispose();
            throw new DatasetException(maskPath, problem);
        }
        var ip = img.GetPixelSpan();
        var mp = mask.GetPixelSpan();
        for (int p = 0; p < ip.Length; p += 4)
            if (!Observed(mp[p], mp[p + 1], mp[p + 2])) { ip[p] = 128; ip[p + 1] = 128; ip[p + 2] = 128; }
        return mask;
    }

    /// <summary>The resized and centre-cropped bitmap when the options set a size, else null (use the original).</summary>
    private static SKBitmap? Resize(SKBitmap bmp, ImageFolderOptions o) =>
        o.Height is null && o.Width is null ? null
            : ImageIO.ResizeCenterCrop(bmp, o.Height ?? o.Width!.Value, o.Width ?? o.Height!.Value);

    /// <summary>White = observed: luma at least half-way (so anti-aliased mask edges split evenly).</summary>
    private static bool Observed(byte r, byte g, byte b) => 0.299f * r + 0.587f * g + 0.114f * b >= 127.5f;

    private static float[] Concat(List<float[]> parts)
    {
        var all = new float[parts.Sum(p => (long)p.Length)];
        long o = 0;
        foreach (var p in parts) { p.CopyTo(all, o); o += p.Length; }
        return all;
    }
}
