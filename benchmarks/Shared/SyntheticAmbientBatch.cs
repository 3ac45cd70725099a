using AmbientNative.Diffusion;
using AmbientNative.Nn;
using AmbientNative.Tensors;

namespace AmbientNative.Benchmarks.Shared;

/// <summary>
/// The fixed batch every training-step benchmark uses (CPU BenchmarkDotNet, the GPU benchmark in the test bundle, and
/// the PyTorch anchors' recipe): y = A⊙x0 with x0 uniform in [−1, 1], A keeps each pixel with probability 0.6, Ã ⊆ A
/// keeps 90 % of A. Compiled into both projects from this one file.
/// </summary>
public static class SyntheticAmbientBatch
{
    public static TrainingBatch Make(UNetConfig config, int n, Device dev, Rng rng)
    {
        int r = config.Resolution, c = config.ImageChannels, hw = r * r;
        var a = new float[n * hw];
        var at = new float[n * hw];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = rng.NextFloat() < 0.6f ? 1f : 0f;
            at[i] = a[i] * (rng.NextFloat() < 0.9f ? 1f : 0f);
        }
        var y = new float[n * c * hw];
        rng.FillUniform(y, -1f, 1f);
        for (int i = 0; i < y.Length; i++) y[i] *= a[i / (c * hw) * hw + i % hw];
        return new TrainingBatch(Tensor.FromArray(y, new Shape(n, c, r, r), dev),
            Tensor.FromArray(a, new Shape(n, 1, r, r), dev), Tensor.FromArray(at, new Shape(n, 1, r, r), dev));
    }
}
