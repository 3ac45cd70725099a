using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Sampling;
using AmbientNative.Nn;
using AmbientNative.Tensors;

namespace Ambient.Cli.Common;

/// <summary>Generates samples with the sampler a run's method needs (METHOD §1–3).</summary>
internal static class Sampling
{
    /// <summary>Samples per sampler call: bounds activation memory whatever --count is.</summary>
    public const int BatchSize = 64;

    /// <summary>
    /// <paramref name="count"/> samples [count, C, R, R] on the CPU, clipped to [−1, 1] (the data range; EDM clips when it
    /// writes images): clean models with EDM's Heun sampler, ambient models with the fixed-mask sampler (one Ã per
    /// sample, drawn with the training corruption's law), Tweedie models stopped at σn. Deterministic in <paramref name="seed"/>.
    /// </summary>
    public static Tensor Generate(RunConfig config, UNet model, int count, int steps, ulong seed,
        Action<double, string?>? report = null, CancellationToken cancellationToken = default, double sigmaMin = Edm.SigmaMin)
    {
        if (count < 1) throw new UsageException($"sample count {count} must be at least 1.");
        model.Eval();
        var denoiser = config.BuildDenoiser(model);
        var options = new EdmSamplerOptions { Steps = steps, SigmaMin = sigmaMin };
        options.Validate();
        var u = config.UNet;
        int c = u.OutChannels, r = u.Resolution, size = c * r * r;
        var noiseRng = new Rng(Seeds.For(seed, Seeds.SampleNoise));
        var maskRng = new Rng(Seeds.For(seed, Seeds.SampleMasks));
        var all = new float[count * size];
        for (int start = 0; start < count; start += BatchSize)
        {
            int b = Math.Min(BatchSize, count - start);
            var done = new Progress(start, count, steps, report);
            using var noise = Tensor.Randn(new Shape(b, c, r, r), noiseRng, model.Device);
            Tensor x;
            switch (config.Method)
            {
                case Method.Ambient:
                    using (var mask = FixedMaskDenoiser.DrawMasks(config.Corruption, b, c, r, r, denoiser.MaskChannels, maskRng, model.Device))
                        x = EdmSampler.SampleAmbient(denoiser, noise, mask, options, progress: done, cancellationToken: cancellationToken);
                    break;
                case Method.Tweedie:
                    x = EdmSampler.SampleEarlyStop(denoiser, noise, config.Corruption.SigmaN, options, progress: done, cancellationToken: cancellationToken);
                    break;
                default:
                    x = EdmSampler.Sample(denoiser, noise, options, progress: done, cancellationToken: cancellationToken);
                    break;
            }
            using (x) x.ToArray().CopyTo(all, start * size);
        }
        for (int i = 0; i < all.Length; i++) all[i] = Math.Clamp(all[i], -1f, 1f);
        return Tensor.FromArray(all, new Shape(count, c, r, r));
    }

    // Maps the sampler's per-batch step count onto the whole run's progress (units: samples).
    private sealed class Progress(int start, int count, int steps, Action<double, string?>? report) : IProgress<int>
    {
        public void Report(int step) =>
            report?.Invoke(start + (double)Math.Min(BatchSize, count - start) * step / steps, null);
    }
}
