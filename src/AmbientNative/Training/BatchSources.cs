using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Tensors;

namespace AmbientNative.Training;

/// <summary>
/// A fixed set of training images, loaded by index into a <see cref="TrainingBatch"/> on a device. Loading is a pure
/// function of (indices, flips): every random choice (which images, which are mirrored) is the trainer's, so a
/// checkpoint's step count alone fixes the batches that follow.
/// </summary>
public interface IBatchSource
{
    int Count { get; }
    int Channels { get; }
    int Height { get; }
    int Width { get; }

    /// <summary>
    /// Images <paramref name="indices"/> as a new batch on <paramref name="device"/>, each mirrored left–right where
    /// <paramref name="flip"/> is true (image and masks together, so they stay aligned). The caller owns the batch's
    /// tensors and disposes them.
    /// </summary>
    TrainingBatch Load(ReadOnlySpan<int> indices, ReadOnlySpan<bool> flip, Device device);
}

/// <summary>
/// A <see cref="CorruptedDataset"/> as batches: Observed = y; for pixel-erasing corruptions MaskA and MaskATilde as
/// [B, MaskChannels, H, W] (one channel when the mask is shared over colour, the plane the network takes);
/// for <see cref="CorruptionKind.None"/> Clean = Observed; for Gaussian noise neither masks nor clean images.
/// </summary>
public sealed class CorruptedBatchSource(CorruptedDataset dataset) : IBatchSource
{
    private readonly CorruptedDataset _data = dataset ?? throw new ArgumentNullException(nameof(dataset));
    // Host staging, reused while the batch size stays the same: y, and A, Ã expanded to [B, C, H, W] by CopyBatch.
    private float[] _y = [], _a = [], _aTilde = [], _aPacked = [], _aTildePacked = [];

    public int Count => _data.Count;
    public int Channels => _data.Channels;
    public int Height => _data.Height;
    public int Width => _data.Width;

    public TrainingBatch Load(ReadOnlySpan<int> indices, ReadOnlySpan<bool> flip, Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        BatchStaging.CheckFlags(nameof(CorruptedBatchSource), indices, flip);
        int b = indices.Length, size = _data.ImageSize, plane = Height * Width, mc = _data.MaskChannels;
        BatchStaging.Ensure(ref _y, b * size);
        BatchStaging.Ensure(ref _a, b * size);
        BatchStaging.Ensure(ref _aTilde, b * size);
        _data.CopyBatch(indices, _y, _a, _aTilde);
        CorruptedDataset.FlipHorizontal(_y, flip, Channels, Height, Width);
        var y = Tensor.FromArray(_y, new Shape(b, Channels, Height, Width), device);
        if (!_data.Spec.ErasesPixels)
            return new TrainingBatch(y, Clean: _data.Spec.Kind == CorruptionKind.None ? y : null);

        // CopyBatch repeats mask channel c % MaskChannels over the C image channels, so the first MaskChannels
        // planes of each image are exactly the distinct masks.
        BatchStaging.Ensure(ref _aPacked, b * mc * plane);
        BatchStaging.Ensure(ref _aTildePacked, b * mc * plane);
        for (int n = 0; n < b; n++)
        {
            _a.AsSpan(n * size, mc * plane).CopyTo(_aPacked.AsSpan(n * mc * plane));
            _aTilde.AsSpan(n * size, mc * plane).CopyTo(_aTildePacked.AsSpan(n * mc * plane));
        }
        CorruptedDataset.FlipHorizontal(_aPacked, flip, mc, Height, Width);
        CorruptedDataset.FlipHorizontal(_aTildePacked, flip, mc, Height, Width);
        var maskShape = new Shape(b, mc, Height, Width);
        return new TrainingBatch(y, Tensor.FromArray(_aPacked, maskShape, device), Tensor.FromArray(_aTildePacked, maskShape, device));
    }
}

/// <summary>Clean images [count, C, H, W] in [−1, 1] as batches: Observed = Clean = x0, no masks (the EDM baseline).</summary>
public sealed class CleanBatchSource : IBatchSource
{
    private readonly float[] _images;
    private float[] _x = [];

    public CleanBatchSource(float[] images, int count, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (count <= 0 || channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"CleanBatchSource: need count, channels, height and width > 0; got [{count}, {channels}, {height}, {width}].");
        if (images.Length != (long)count * channels * height * width)
            throw new ArgumentException($"CleanBatchSource: images [{count}, {channels}, {height}, {width}] need {(long)count * channels * height * width} values, got {images.Length}.");
        _images = images;
        Count = count; Channels = channels; Height = height; Width = width;
    }

    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }

    public TrainingBatch Load(ReadOnlySpan<int> indices, ReadOnlySpan<bool> flip, Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        BatchStaging.CheckFlags(nameof(CleanBatchSource), indices, flip);
        int size = Channels * Height * Width;
        BatchStaging.Ensure(ref _x, indices.Length * size);
        for (int b = 0; b < indices.Length; b++)
        {
            int n = indices[b];
            if ((uint)n >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"CleanBatchSource: index {n} at batch position {b} is outside [0, {Count}).");
            _images.AsSpan(n * size, size).CopyTo(_x.AsSpan(b * size));
        }
        CorruptedDataset.FlipHorizontal(_x, flip, Channels, Height, Width);
        var x = Tensor.FromArray(_x, new Shape(indices.Length, Channels, Height, Width), device);
        return new TrainingBatch(x, Clean: x);
    }
}

internal static class BatchStaging
{
    /// <summary>Reallocates only when the batch size changes, so a run's steady state allocates no host buffers.</summary>
    public static void Ensure(ref float[] buffer, int length)
    {
        if (buffer.Length != length) buffer = new float[length];
    }

    public static void CheckFlags(string source, ReadOnlySpan<int> indices, ReadOnlySpan<bool> flip)
    {
        if (indices.IsEmpty) throw new ArgumentException($"{source}.Load: the batch is empty.");
        if (flip.Length != indices.Length)
            throw new ArgumentException($"{source}.Load: {indices.Length} indices but {flip.Length} flip flags.");
    }

    /// <summary>Disposes a batch's tensors (Clean may be the same tensor as Observed; Dispose is idempotent).</summary>
    public static void Dispose(TrainingBatch batch)
    {
        batch.Observed.Dispose();
        batch.MaskA?.Dispose();
        batch.MaskATilde?.Dispose();
        batch.Clean?.Dispose();
    }
}
