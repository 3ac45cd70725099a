using AmbientNative.Tensors;

namespace AmbientNative.Diffusion.Corruption;

/// <summary>
/// A training set as a user with corrupted data would have it: per image, the observation y (A ⊙ x0, or x0 + σn·η for
/// <see cref="CorruptionKind.GaussianNoise"/>), the mask A and the further mask Ã, fixed once at construction. The clean
/// images are read once and not kept, so their erased pixels cannot reach a loss or a network.
/// </summary>
/// <remarks>
/// Image i's masks and noise come from <c>new Rng(spec.Seed).Fork(i)</c>, a pure function of the seed and the index:
/// adding images, or building in another order, leaves every existing image's corruption unchanged.
/// Masks are stored once per mask channel (one plane when shared) and expanded to all image channels on copy.
/// </remarks>
public sealed class CorruptedDataset
{
    private readonly float[] _observed; // [N, C, H, W]
    private readonly float[] _a;        // [N, MaskChannels, H, W]
    private readonly float[] _aTilde;   // [N, MaskChannels, H, W]

    /// <param name="clean">Clean images [count, channels, height, width] in [−1, 1].</param>
    public CorruptedDataset(ReadOnlySpan<float> clean, int count, int channels, int height, int width, CorruptionSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        CorruptionMasks.CheckImageDims(channels, height, width);
        if (count < 0) throw new ArgumentException($"CorruptedDataset: count {count} is negative.");
        int imageSize = channels * height * width;
        if ((long)count * imageSize > Array.MaxLength)
            throw new ArgumentException($"CorruptedDataset: {count} images of {channels}×{height}×{width} exceed one array.");
        if (clean.Length != count * imageSize)
            throw new ArgumentException($"CorruptedDataset: clean images [{count},{channels},{height},{width}] need {count * imageSize} values, got {clean.Length}.");

        Spec = spec;
        Count = count; Channels = channels; Height = height; Width = width;
        MaskChannels = spec.MaskChannels(channels);
        int maskSize = MaskChannels * height * width;
        _observed = new float[count * imageSize];
        _a = new float[count * maskSize];
        _aTilde = new float[count * maskSize];

        var root = new Rng(spec.Seed);
        var a = new float[imageSize];
        var aTilde = new float[imageSize];
        for (int n = 0; n < count; n++)
        {
            var x0 = clean.Slice(n * imageSize, imageSize);
            CheckPixels(x0, n);
            var rng = root.Fork((ulong)n);
            CorruptionMasks.Generate(spec, rng, channels, height, width, a, aTilde);
            var y = _observed.AsSpan(n * imageSize, imageSize);
            if (spec.Kind == CorruptionKind.GaussianNoise)
                for (int i = 0; i < imageSize; i++) y[i] = x0[i] + (float)(spec.SigmaN * rng.NextNormal());
            else
                for (int i = 0; i < imageSize; i++) y[i] = a[i] != 0 ? x0[i] : 0f;
            a.AsSpan(0, maskSize).CopyTo(_a.AsSpan(n * maskSize));
            aTilde.AsSpan(0, maskSize).CopyTo(_aTilde.AsSpan(n * maskSize));
        }
    }

    private CorruptedDataset(CorruptionSpec spec, int count, int channels, int height, int width, int maskChannels,
        float[] observed, float[] a, float[] aTilde)
    {
        Spec = spec;
        Count = count; Channels = channels; Height = height; Width = width;
        MaskChannels = maskChannels;
        _observed = observed; _a = a; _aTilde = aTilde;
    }

    /// <summary>
    /// Bring-your-own corrupted data: observations with the masks A that came with them ([count, 1, H, W], 1 = observed,
    /// shared over channels). y = A ⊙ observed (whatever lies under A = 0 is dropped here), and Ã = B ⊙ A with
    /// B ~ Bernoulli(1 − <paramref name="delta"/>) per pixel from <c>new Rng(seed).Fork(i)</c>, fixed per image as for
    /// synthetic corruption. The returned <see cref="Spec"/> is pixel erasure with P = the measured erased fraction,
    /// which is what the fixed-mask sampler uses to draw its Ã.
    /// </summary>
    public static CorruptedDataset FromGivenMasks(ReadOnlySpan<float> observed, ReadOnlySpan<float> masks, int count,
        int channels, int height, int width, double delta, ulong seed)
    {
        CorruptionMasks.CheckImageDims(channels, height, width);
        int plane = height * width, imageSize = channels * plane;
        if (count <= 0 || observed.Length != (long)count * imageSize || masks.Length != (long)count * plane)
            throw new ArgumentException($"CorruptedDataset.FromGivenMasks: {count} images of {channels}×{height}×{width} need {(long)count * imageSize} values and {(long)count * plane} mask values; got {observed.Length} and {masks.Length}.");
        if (!(delta >= 0 && delta < 1))
            throw new ArgumentException($"CorruptedDataset.FromGivenMasks: delta must be in [0, 1); got {delta}.");
        var y = new float[count * imageSize];
        var a = new float[count * plane];
        var aTilde = new float[count * plane];
        var root = new Rng(seed);
        double observedPixels = 0;
        for (int n = 0; n < count; n++)
        {
            var rng = root.Fork((ulong)n);
            for (int i = 0; i < plane; i++)
            {
                float m = masks[n * plane + i];
                if (m != 0f && m != 1f)
                    throw new ArgumentException($"CorruptedDataset.FromGivenMasks: mask {n} has value {m} at pixel {i}; masks must be 0 or 1.");
                a[n * plane + i] = m;
                // Draw B for every pixel (not only observed ones) so Ã does not depend on A's pattern beyond the product.
                bool keep = rng.NextFloat() >= delta;
                aTilde[n * plane + i] = keep ? m : 0f;
                observedPixels += m;
            }
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < plane; i++)
                {
                    int k = n * imageSize + c * plane + i;
                    float x = observed[k];
                    if (a[n * plane + i] != 0f && !(x >= -1f && x <= 1f))
                        throw new ArgumentException($"CorruptedDataset.FromGivenMasks: image {n} has value {x} at element {c * plane + i}; images must lie in [−1, 1].");
                    y[k] = a[n * plane + i] != 0f ? x : 0f;
                }
        }
        double erased = 1 - observedPixels / ((double)count * plane);
        var spec = CorruptionSpec.PixelErase(Math.Min(erased, 0.999), delta, perChannel: false, seed);
        return new CorruptedDataset(spec, count, channels, height, width, 1, y, a, aTilde);
    }

    public CorruptionSpec Spec { get; }
    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    /// <summary>Mask channels the network takes (1 when shared over colour channels); see <see cref="CorruptionSpec.MaskChannels"/>.</summary>
    public int MaskChannels { get; }
    /// <summary>C·H·W: the length of one image, and of one image's expanded mask, in the batch buffers.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>
    /// Copies images <paramref name="indices"/> into host buffers of shape [B, C, H, W] (all fully overwritten): the
    /// observation y, and the masks A and Ã expanded over channels (1 = observed).
    /// </summary>
    public void CopyBatch(ReadOnlySpan<int> indices, Span<float> observed, Span<float> a, Span<float> aTilde)
    {
        int need = indices.Length * ImageSize;
        if (observed.Length != need || a.Length != need || aTilde.Length != need)
            throw new ArgumentException($"CorruptedDataset.CopyBatch: a batch of {indices.Length} images of {Channels}×{Height}×{Width} needs {need} values per buffer, got y {observed.Length}, A {a.Length}, Ã {aTilde.Length}.");
        int plane = Height * Width, maskSize = MaskChannels * plane;
        for (int b = 0; b < indices.Length; b++)
        {
            int n = indices[b];
            if ((uint)n >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"CorruptedDataset.CopyBatch: index {n} at batch position {b} is outside [0, {Count}).");
            _observed.AsSpan(n * ImageSize, ImageSize).CopyTo(observed.Slice(b * ImageSize));
            for (int c = 0; c < Channels; c++)
            {
                int src = n * maskSize + (c % MaskChannels) * plane, dst = b * ImageSize + c * plane;
                _a.AsSpan(src, plane).CopyTo(a.Slice(dst, plane));
                _aTilde.AsSpan(src, plane).CopyTo(aTilde.Slice(dst, plane));
            }
        }
    }

    /// <summary>
    /// Geometric augmentation that keeps image and masks aligned: mirrors left–right, in place, the images of the batch
    /// whose <paramref name="flip"/> entry is true, in all three buffers alike.
    /// </summary>
    public void FlipBatch(ReadOnlySpan<bool> flip, Span<float> observed, Span<float> a, Span<float> aTilde)
    {
        FlipHorizontal(observed, flip, Channels, Height, Width);
        FlipHorizontal(a, flip, Channels, Height, Width);
        FlipHorizontal(aTilde, flip, Channels, Height, Width);
    }

    /// <summary>Mirrors left–right, in place, each image b of a [B, C, H, W] buffer with <paramref name="flip"/>[b] set.</summary>
    public static void FlipHorizontal(Span<float> batch, ReadOnlySpan<bool> flip, int channels, int height, int width)
    {
        int imageSize = channels * height * width;
        if (batch.Length != flip.Length * imageSize)
            throw new ArgumentException($"FlipHorizontal: {flip.Length} flags for images of {channels}×{height}×{width} need {flip.Length * imageSize} values, got {batch.Length}.");
        for (int b = 0; b < flip.Length; b++)
        {
            if (!flip[b]) continue;
            for (int row = 0; row < channels * height; row++)
                batch.Slice(b * imageSize + row * width, width).Reverse();
        }
    }

    private static void CheckPixels(ReadOnlySpan<float> x0, int n)
    {
        for (int i = 0; i < x0.Length; i++)
            if (!(x0[i] >= -1f && x0[i] <= 1f))
                throw new ArgumentException($"CorruptedDataset: clean image {n} has value {x0[i]} at element {i}; images must lie in [−1, 1].");
    }
}
