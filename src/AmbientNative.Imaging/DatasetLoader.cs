using AmbientNative.Data;

namespace AmbientNative.Imaging;

public enum DatasetFormat { Auto, ImageFolder, Idx, Cifar10, Npy }

/// <summary>What to load and how to shape it; every field has a default that suits a first run.</summary>
public sealed record DatasetOptions
{
    public DatasetFormat Format { get; init; } = DatasetFormat.Auto;
    /// <summary>Output side R (images become R×R: scaled to cover, centre-cropped). Null keeps the source size.</summary>
    public int? Resolution { get; init; }
    /// <summary>1 or 3; null keeps the source's (an image folder reads RGB).</summary>
    public int? Channels { get; init; }
    /// <summary>For IDX and CIFAR-10 folders: the training split (else the test split).</summary>
    public bool Train { get; init; } = true;
    /// <summary>At most this many images: a fixed subset drawn with <see cref="Seed"/> (<see cref="ImageDataset.Limit"/>).</summary>
    public int? Limit { get; init; }
    public ulong Seed { get; init; }
    /// <summary>Image folders: skip bad files and report them instead of failing.</summary>
    public bool SkipBad { get; init; }
    /// <summary>Labels file for an IDX images file or an NPY images file.</summary>
    public string? LabelsPath { get; init; }
    public NpyLayout NpyLayout { get; init; } = NpyLayout.Auto;
    public NpyValueRange NpyRange { get; init; } = NpyValueRange.Auto;
}

/// <summary>
/// Opens any supported dataset from a path. With <see cref="DatasetFormat.Auto"/>: a folder holding
/// train-images-idx3-ubyte[.gz] is IDX, one holding data_batch_*.bin is CIFAR-10, any other folder is an image
/// folder; a file is recognised by its first bytes (\x93NUMPY: NPY; 00 00 08: IDX; gzip: IDX.gz) or a .bin name
/// (a CIFAR-10 batch).
/// </summary>
public static class DatasetLoader
{
    public static ImageDataset Load(string path, DatasetOptions? options = null, CancellationToken cancellationToken = default)
    {
        var o = options ?? new DatasetOptions();
        if (o.Resolution is < 1) throw new ArgumentException($"Resolution must be at least 1; got {o.Resolution}.");
        if (o.Channels is not (null or 1 or 3)) throw new ArgumentException($"Channels must be 1 or 3; got {o.Channels}.");
        var format = o.Format == DatasetFormat.Auto ? Detect(path) : o.Format;
        var ds = format switch
        {
            DatasetFormat.ImageFolder => ImageFolderDataset.Load(path, new ImageFolderOptions
            {
                Height = o.Resolution, Width = o.Resolution, Channels = o.Channels ?? 3, SkipBad = o.SkipBad,
            }, cancellationToken),
            DatasetFormat.Idx => Directory.Exists(path) ? IdxFormat.LoadFolder(path, o.Train) : IdxFormat.Load(path, o.LabelsPath),
            DatasetFormat.Cifar10 => Directory.Exists(path) ? Cifar10Format.LoadFolder(path, o.Train) : Cifar10Format.Load([path]),
            DatasetFormat.Npy => NpyFormat.Load(path, o.NpyLayout, o.NpyRange, o.LabelsPath),
            _ => throw new ArgumentOutOfRangeException(nameof(options), $"Unknown dataset format {o.Format}."),
        };
        if (o.Limit is { } n) ds = ds.Limit(n, o.Seed);
        if (o.Channels is { } c) ds = ds.WithChannels(c);
        if (o.Resolution is { } r && (ds.Height != r || ds.Width != r)) ds = Resize(ds, r, r);
        return ds;
    }

    public static DatasetFormat Detect(string path)
    {
        if (Directory.Exists(path))
            return IdxFormat.IsIdxFolder(path) ? DatasetFormat.Idx
                : Cifar10Format.IsCifarFolder(path) ? DatasetFormat.Cifar10
                : DatasetFormat.ImageFolder;
        if (!File.Exists(path)) throw new DatasetException(path, "does not exist.");
        Span<byte> head = stackalloc byte[6];
        int got;
        try
        {
            using var f = File.OpenRead(path);
            got = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException(path, $"cannot be read ({e.Message})", e);
        }
        head = head[..got];
        if (head.Length == 6 && head[0] == 0x93 && head[1..].SequenceEqual("NUMPY"u8)) return DatasetFormat.Npy;
        if (head.Length >= 3 && head[0] == 0 && head[1] == 0 && head[2] == 0x08) return DatasetFormat.Idx;
        if (head.Length >= 2 && head[0] == 0x1F && head[1] == 0x8B) return DatasetFormat.Idx;
        if (path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)) return DatasetFormat.Cifar10;
        throw new DatasetException(path, "is not a recognised dataset (an image folder, IDX[.gz], a CIFAR-10 .bin batch or .npy).");
    }

    /// <summary>
    /// Every image scaled to cover <paramref name="height"/>×<paramref name="width"/> and centre-cropped, through
    /// 8-bit bitmaps (exact for 8-bit sources; float sources are quantized to 1/255). Not for sets with given
    /// masks: an image folder resizes those together with their images as it loads.
    /// </summary>
    public static ImageDataset Resize(ImageDataset ds, int height, int width)
    {
        if (ds.HasMasks) throw new InvalidOperationException($"Dataset '{ds.Source}' has given masks; load it with the resolution set instead of resizing it afterwards.");
        int size = ds.Channels * height * width;
        var dst = new float[ds.Count * size];
        for (int i = 0; i < ds.Count; i++)
        {
            using var bmp = ImageIO.FromChw(ds.Image(i), ds.Channels, ds.Height, ds.Width);
            using var sized = ImageIO.ResizeCenterCrop(bmp, height, width);
            ImageIO.ToChw(sized, ds.Channels).CopyTo(dst, i * size);
        }
        return new ImageDataset(dst, ds.Count, ds.Channels, height, width, ds.Labels?.ToArray(), names: ds.Names, skipped: ds.Skipped, source: ds.Source);
    }
}
