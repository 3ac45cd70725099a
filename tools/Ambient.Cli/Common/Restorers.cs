using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Sampling;
using AmbientNative.Evaluation;
using AmbientNative.Tensors;

namespace Ambient.Cli.Common;

/// <summary>
/// The probe's restorers (the library's <see cref="SamplerRestorer"/> and <see cref="DenoiserRestorer"/>) for a trained
/// model. An ambient model is always shown the probe's mask: it was trained to predict x0 from Ã ⊙ xt, so that is how it
/// restores. A clean or Tweedie model sees the whole image. Both are clipped to the data range, as the ambient sampler is.
/// </summary>
internal static class Restorers
{
    public static IImageRestorer Create(string kind, RunConfig config, EdmPreconditioner denoiser, int steps, ulong seed) => kind switch
    {
        "denoise" => new DenoiserRestorer(mask => ForMask(config, denoiser, mask)),
        _ => new SamplerRestorer(mask => ForMask(config, denoiser, mask), new EdmSamplerOptions { Steps = steps }, seed, $"Heun sampler ({steps} steps)"),
    };

    private static IDenoiser ForMask(RunConfig config, EdmPreconditioner denoiser, Tensor mask) =>
        config.Method == Method.Ambient ? new FixedMaskDenoiser(denoiser, mask) : new Clipped(denoiser);

    private sealed class Clipped(IDenoiser inner) : IDenoiser
    {
        public Tensor Denoise(Tensor x, Tensor sigma) => Ops.Clamp(inner.Denoise(x, sigma), -1f, 1f);
    }
}
