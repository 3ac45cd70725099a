using AmbientNative.Diffusion.Corruption;
using AmbientNative.Tensors;

namespace AmbientNative.Evaluation;

/// <summary>Knobs of <see cref="MemorizationProbe.Run"/>.</summary>
public sealed record ProbeOptions
{
    /// <summary>Space in which restorations are compared with originals; null = <see cref="PixelFeatures"/>.</summary>
    public IFeatureExtractor? Features { get; init; }
    /// <summary>Search of each restoration's nearest training images (K, device, chunks).</summary>
    public NeighbourSearchOptions Search { get; init; } = new();
    /// <summary>Images per restorer call.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Device the observed images and masks are created on (the restorer's model's device); null = CPU.</summary>
    public Device? Device { get; init; }
    public IReadOnlyList<double>? Thresholds { get; init; }
}

/// <summary>What a probe produced: the report, and the images for a grid (original | observed | restored), all on the CPU.</summary>
public sealed class ProbeResult : IDisposable
{
    internal ProbeResult(ProbeReport report, Tensor originals, Tensor observed, Tensor masks, Tensor restored)
    {
        Report = report; Originals = originals; Observed = observed; Masks = masks; Restored = restored;
    }

    public ProbeReport Report { get; }
    /// <summary>[N, C, H, W] the probed training images, in probe order.</summary>
    public Tensor Originals { get; }
    /// <summary>[N, C, H, W] mask ⊙ (x0 + σ·n): what the restorer was given.</summary>
    public Tensor Observed { get; }
    public Tensor Masks { get; }
    public Tensor Restored { get; }

    public void Dispose()
    {
        Originals.Dispose(); Observed.Dispose(); Masks.Dispose(); Restored.Dispose();
    }
}

/// <summary>
/// Probing a trained model for memorization (METHOD §4): corrupt some training images (erase pixels or a box, or add
/// noise σ), let the model restore them, and measure how close each restoration comes to its original. A model
/// that memorized restores near-exact copies, even of pixels the probe erased; one that generalizes produces a
/// plausible image that differs where information was removed.
/// </summary>
public static class MemorizationProbe
{
    /// <summary>A fixed, seeded choice of <paramref name="count"/> distinct training indices, in increasing order.</summary>
    public static int[] PickImages(int trainingCount, int count, ulong seed)
    {
        if (count < 1 || count > trainingCount)
            throw new ArgumentOutOfRangeException(nameof(count), $"probe: cannot pick {count} of {trainingCount} training images.");
        var pick = new Rng(seed).Permutation(trainingCount)[..count];
        Array.Sort(pick);
        return pick;
    }

    /// <summary>
    /// Probes <paramref name="restorer"/> with the training images at <paramref name="indices"/>. The corruption of
    /// image i is drawn from (corruption.Seed, i) exactly as <see cref="CorruptionMasks"/> draws a dataset's masks
    /// (its A; δ plays no part), with the same observation as <see cref="CorruptedDataset"/>: with the training
    /// corruption's own spec, the probe erases exactly the pixels the model never saw (can it invent them?); with another
    /// seed or level, it erases pixels the model did see. <see cref="CorruptionKind.GaussianNoise"/> adds noise σn to
    /// every pixel instead.
    /// </summary>
    /// <param name="training">[N, C, H, W] in [−1, 1], any device.</param>
    public static ProbeResult Run(IImageRestorer restorer, Tensor training, IReadOnlyList<int> indices, CorruptionSpec corruption,
        ProbeOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(restorer);
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(corruption);
        corruption.Validate();
        if (corruption.Kind == CorruptionKind.None)
            throw new ArgumentException("probe: corruption kind None removes nothing; use an erasing kind (PixelErase, Box, FixedBox) or GaussianNoise.");
        var o = options ?? new ProbeOptions();
        if (o.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), $"probe: BatchSize must be positive (got {o.BatchSize}).");
        var (nTrain, c, h, w) = training.Shape.Nchw("probe training images");
        int n = indices.Count, size = c * h * w;
        if (n == 0) throw new ArgumentException("probe: no images to probe.");
        foreach (int i in indices)
            if (i < 0 || i >= nTrain) throw new ArgumentOutOfRangeException(nameof(indices), $"probe: image index {i} is outside the training set of {nTrain}.");

        ArraySegment<float> train = training.Storage is CpuStorage cs ? cs.Segment : training.ToArray();
        var shape = new Shape(n, c, h, w);
        var originals = Tensor.Empty(shape);
        var observed = Tensor.Empty(shape);
        var masks = Tensor.Empty(shape);
        var restored = Tensor.Empty(shape);
        try
        {
            var aTilde = new float[size];
            var root = new Rng(corruption.Seed);
            for (int j = 0; j < n; j++)
            {
                var x0 = train.AsSpan(indices[j] * size, size);
                var m = masks.Span.Slice(j * size, size);
                var y = observed.Span.Slice(j * size, size);
                x0.CopyTo(originals.Span.Slice(j * size, size));
                var rng = root.Fork((ulong)indices[j]);
                CorruptionMasks.Generate(corruption, rng, c, h, w, m, aTilde);
                // The same draws, in the same order, as CorruptedDataset: same seed, same observation.
                if (corruption.Kind == CorruptionKind.GaussianNoise)
                    for (int e = 0; e < size; e++) y[e] = x0[e] + (float)(corruption.SigmaN * rng.NextNormal());
                else
                    for (int e = 0; e < size; e++) y[e] = m[e] != 0 ? x0[e] : 0f;
            }

            var device = o.Device ?? Device.Cpu;
            for (int b0 = 0; b0 < n; b0 += o.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int bn = Math.Min(o.BatchSize, n - b0);
                var bShape = new Shape(bn, c, h, w);
                using var yb = Tensor.FromArray(observed.Span.Slice(b0 * size, bn * size), bShape, device);
                using var mb = Tensor.FromArray(masks.Span.Slice(b0 * size, bn * size), bShape, device);
                using var rb = restorer.Restore(yb, mb, corruption.SigmaN, cancellationToken);
                if (rb.Shape != bShape)
                    throw new InvalidOperationException($"probe: restorer '{restorer.Name}' returned {rb.Shape} for input {bShape}.");
                rb.Storage.CopyTo(restored.Span.Slice(b0 * size, bn * size));
                progress?.Report(b0 + bn);
            }

            var report = BuildReport(restorer.Name, corruption, indices, training, originals, restored, o, cancellationToken);
            return new ProbeResult(report, originals, observed, masks, restored);
        }
        catch
        {
            originals.Dispose(); observed.Dispose(); masks.Dispose(); restored.Dispose();
            throw;
        }
    }

    private static ProbeReport BuildReport(string restorerName, CorruptionSpec corruption, IReadOnlyList<int> indices, Tensor training,
        Tensor originals, Tensor restored, ProbeOptions o, CancellationToken ct)
    {
        var fx = o.Features ?? new PixelFeatures();
        using var fo = fx.Extract(originals, ct);
        using var fr = fx.Extract(restored, ct);
        using var ft = fx.Extract(training, ct);
        var nn = NearestNeighbours.Search(fr, ft, o.Search, ct);

        int n = indices.Count, d = fo.Shape[1];
        var paired = new float[n];
        var perImage = new ProbedImage[n];
        int sourceFirst = 0;
        for (int j = 0; j < n; j++)
        {
            paired[j] = Cosine(fo.Span.Slice(j * d, d), fr.Span.Slice(j * d, d));
            var idx = nn.IndicesOf(j).ToArray();
            if (idx[0] == indices[j]) sourceFirst++;
            perImage[j] = new ProbedImage(indices[j], paired[j], idx, nn.SimilaritiesOf(j).ToArray());
        }
        return new ProbeReport(ProbeReport.FormatTag, fx.Name, restorerName, ProbeCorruption.Of(corruption), n, nn.References, nn.K,
            SimilarityStats.Of(paired, o.Thresholds), (double)sourceFirst / n, perImage);
    }

    /// <summary>Cosine similarity in double, 0 when either vector is zero (as in the search).</summary>
    internal static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) { ab += (double)a[i] * b[i]; aa += (double)a[i] * a[i]; bb += (double)b[i] * b[i]; }
        return aa > 0 && bb > 0 ? (float)Math.Clamp(ab / Math.Sqrt(aa * bb), -1, 1) : 0f;
    }
}
