using AmbientNative.Tensors;

namespace AmbientNative.Data;

/// <summary>
/// What every loader produces: N images of C×H×W (C = 1 or 3) as float32 in [−1, 1], row-major [N, C, H, W],
/// with optional integer labels and optional observation masks given with the data (bring-your-own corrupted
/// data: 1 = observed, 0 = erased, [N, 1, H, W], shared over the colour channels). Immutable: derived sets
/// (<see cref="Limit"/>, <see cref="Subset"/>, <see cref="WithChannels"/>) are copies.
/// </summary>
public sealed class ImageDataset
{
    private readonly float[] _images;
    private readonly float[]? _masks;
    private readonly int[]? _labels;

    /// <param name="images">[N, C, H, W] values in [−1, 1]; kept, not copied.</param>
    /// <param name="masks">[N, 1, H, W] of 0/1 when the data came with masks; kept, not copied.</param>
    /// <param name="names">Where each image came from (a file name, or "file#index").</param>
    /// <param name="skipped">Files the loader skipped as bad, to report.</param>
    /// <param name="source">The file or folder the set was loaded from, for messages.</param>
    public ImageDataset(float[] images, int count, int channels, int height, int width, int[]? labels = null,
        float[]? masks = null, IReadOnlyList<string>? names = null, IReadOnlyList<SkippedFile>? skipped = null,
        string source = "")
    {
        ArgumentNullException.ThrowIfNull(images);
        if (count < 1) throw new ArgumentException($"A dataset needs at least one image (source '{source}').");
        if (channels is not (1 or 3)) throw new ArgumentException($"Images must have 1 or 3 channels; got {channels} (source '{source}').");
        if (height < 1 || width < 1) throw new ArgumentException($"Image size {height}×{width} is empty (source '{source}').");
        long size = (long)channels * height * width;
        if (images.LongLength != count * size)
            throw new ArgumentException($"{images.Length} values do not hold {count} images of {channels}×{height}×{width} (source '{source}').");
        for (int i = 0; i < images.Length; i++)
            if (!(images[i] >= -1f && images[i] <= 1f))
                throw new ArgumentException($"Image {i / size} has value {images[i]} outside [−1, 1] (source '{source}').");
        if (labels != null && labels.Length != count)
            throw new ArgumentException($"{labels.Length} labels for {count} images (source '{source}').");
        if (masks != null)
        {
            if (masks.LongLength != (long)count * height * width)
                throw new ArgumentException($"{masks.Length} mask values do not hold {count} masks of 1×{height}×{width} (source '{source}').");
            foreach (float m in masks)
                if (m is not (0f or 1f)) throw new ArgumentException($"Mask value {m} is not 0 or 1 (source '{source}').");
        }
        if (names != null && names.Count != count)
            throw new ArgumentException($"{names.Count} names for {count} images (source '{source}').");

        _images = images; _labels = labels; _masks = masks;
        Count = count; Channels = channels; Height = height; Width = width;
        Names = names; Skipped = skipped ?? []; Source = source;
    }

    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    /// <summary>Values per image, C·H·W.</summary>
    public int ImageSize => Channels * Height * Width;
    public Shape Shape => new(Count, Channels, Height, Width);

    /// <summary>All images, [N, C, H, W] in [−1, 1].</summary>
    public ReadOnlySpan<float> Images => _images;
    /// <summary>Labels (one per image), or null.</summary>
    public IReadOnlyList<int>? Labels => _labels;
    /// <summary>True when the observation masks came with the data (they are A itself, not synthetic).</summary>
    public bool HasMasks => _masks != null;
    /// <summary>Given masks, [N, 1, H, W], 1 = observed; empty when <see cref="HasMasks"/> is false.</summary>
    public ReadOnlySpan<float> Masks => _masks;
    public IReadOnlyList<string>? Names { get; }
    public IReadOnlyList<SkippedFile> Skipped { get; }
    public string Source { get; }

    public ReadOnlySpan<float> Image(int index) => _images.AsSpan(checked(index * ImageSize), ImageSize);

    public ReadOnlySpan<float> Mask(int index) =>
        _masks is null ? throw new InvalidOperationException($"Dataset '{Source}' has no masks.")
                       : _masks.AsSpan(index * Height * Width, Height * Width);

    /// <summary>Copies the images at <paramref name="indices"/> into <paramref name="batch"/> ([B, C, H, W]).</summary>
    public void CopyBatch(ReadOnlySpan<int> indices, Span<float> batch)
    {
        if (batch.Length != indices.Length * ImageSize)
            throw new ArgumentException($"Batch buffer of {batch.Length} values does not hold {indices.Length} images of {ImageSize}.");
        for (int b = 0; b < indices.Length; b++) Image(indices[b]).CopyTo(batch.Slice(b * ImageSize, ImageSize));
    }

    /// <summary>All images as one [N, C, H, W] tensor.</summary>
    public Tensor ToTensor(Device? device = null) => Tensor.FromArray(_images, Shape, device);

    /// <summary>The images at <paramref name="indices"/>, in that order, with their labels, masks and names.</summary>
    public ImageDataset Subset(ReadOnlySpan<int> indices)
    {
        int n = indices.Length, size = ImageSize, plane = Height * Width;
        var images = new float[n * size];
        var masks = _masks is null ? null : new float[n * plane];
        var labels = _labels is null ? null : new int[n];
        var names = Names is null ? null : new string[n];
        for (int k = 0; k < n; k++)
        {
            int i = indices[k];
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"Index {i} is outside a dataset of {Count} images.");
            Image(i).CopyTo(images.AsSpan(k * size, size));
            if (masks != null) Mask(i).CopyTo(masks.AsSpan(k * plane, plane));
            if (labels != null) labels[k] = _labels![i];
            if (names != null) names[k] = Names![i];
        }
        return new ImageDataset(images, n, Channels, Height, Width, labels, masks, names, Skipped, Source);
    }

    /// <summary>
    /// A fixed subset of at most <paramref name="n"/> images: the first n of a permutation drawn from
    /// <paramref name="seed"/> (not the first n files, which are often one class), kept in dataset order. For one
    /// seed the subsets are nested: Limit(10) ⊂ Limit(20). Returns this dataset when it has n images or fewer.
    /// </summary>
    public ImageDataset Limit(int n, ulong seed)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), $"limit must be at least 1; got {n}.");
        if (n >= Count) return this;
        var chosen = new Rng(seed).Permutation(Count).AsSpan(0, n).ToArray();
        Array.Sort(chosen);
        return Subset(chosen);
    }

    /// <summary>
    /// The same images with 1 or 3 channels: grey → RGB repeats the plane; RGB → grey is the luma
    /// 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as PIL's "L" mode); the weights sum to 1,
    /// so it is the same on [−1, 1] values as on [0, 1].
    /// </summary>
    public ImageDataset WithChannels(int channels)
    {
        if (channels == Channels) return this;
        if (channels is not (1 or 3)) throw new ArgumentException($"Images can have 1 or 3 channels; asked for {channels}.");
        int plane = Height * Width;
        var dst = new float[Count * channels * plane];
        for (int i = 0; i < Count; i++)
        {
            var src = Image(i);
            var d = dst.AsSpan(i * channels * plane, channels * plane);
            if (channels == 3)
                for (int c = 0; c < 3; c++) src.CopyTo(d.Slice(c * plane, plane));
            else
                for (int p = 0; p < plane; p++)
                    d[p] = Math.Clamp(0.299f * src[p] + 0.587f * src[plane + p] + 0.114f * src[2 * plane + p], -1f, 1f);
        }
        return new ImageDataset(dst, Count, channels, Height, Width, _labels, _masks, Names, Skipped, Source);
    }

    public override string ToString()
    {
        string s = $"{Count} images of {Channels}×{Height}×{Width}";
        if (_labels != null) s += $", labels {_labels.Min()}–{_labels.Max()}";
        if (_masks != null) s += ", with given masks";
        if (Skipped.Count > 0) s += $", {Skipped.Count} bad file(s) skipped";
        return Source.Length > 0 ? $"{s} ({Source})" : s;
    }
}

/// <summary>The one mapping between 8-bit pixels and the [−1, 1] floats every model sees.</summary>
public static class Pixels
{
    /// <summary>0 → −1, 255 → +1.</summary>
    public static float FromByte(byte v) => v / 127.5f - 1f;

    /// <summary>Inverse of <see cref="FromByte"/>, rounded and clamped, so bytes round-trip exactly.</summary>
    public static byte ToByte(float x) => (byte)Math.Clamp(MathF.Round((x + 1f) * 127.5f), 0f, 255f);
}
