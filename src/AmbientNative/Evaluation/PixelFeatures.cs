using AmbientNative.Tensors;

namespace AmbientNative.Evaluation;

/// <summary>
/// Pixel-space features: each image flattened to C·H·W values and centred (its own mean subtracted), so that the
/// cosine similarity the search computes is the Pearson correlation of the two images' pixels: insensitive to a
/// global brightness shift or contrast scale, exactly 1 for a copy. A constant image centres to the zero vector,
/// whose similarity to anything is 0 (see <see cref="NearestNeighbours"/>).
/// </summary>
public sealed class PixelFeatures : IFeatureExtractor
{
    public string Name => "pixels (centred)";

    public Tensor Extract(Tensor images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Rank < 2 || images.Shape[0] == 0 || images.Numel == 0)
            throw new ArgumentException($"pixel features: images must be [N, C, H, W] (or [N, D]) with N ≥ 1 and no empty dimension; got {images.Shape}.");
        int n = images.Shape[0], d = images.Numel / n;
        var y = Tensor.Empty(new Shape(n, d), Device.Cpu);
        if (images.Storage is CpuStorage c) c.Span.CopyTo(y.Span);
        else images.Storage.CopyTo(y.Span);
        var rows = y.Span;
        for (int i = 0; i < n; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var row = rows.Slice(i * d, d);
            double sum = 0;
            foreach (float v in row) sum += v;
            float mean = (float)(sum / d);
            for (int j = 0; j < d; j++) row[j] -= mean;
        }
        return y;
    }
}
