using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Sampling;
using AmbientNative.Evaluation;
using AmbientNative.Tensors;

namespace Ambient.Cli.Common;

/// <summary>
/// Restorers for the memorization probe built from a trained model. An ambient model is always shown the probe's mask
/// (it was trained to predict x0 from Ã ⊙ xt, so that is how it restores); a clean or Tweedie model sees the whole image.
/// </summary>
internal static class Restorers
{
    public static IDenoiser ForMask(RunConfig config, EdmPreconditioner denoiser, Tensor mask) =>
        config.Method == Method.Ambient ? new FixedMaskDenoiser(denoiser, mask) : new Clipped(denoiser);

    /// <summary>One call D(observed; max(σ, σmin)): the model's posterior mean given what it sees.</summary>
    public sealed class OneStep(RunConfig config, EdmPreconditioner denoiser) : IImageRestorer
    {
        public string Name => "one-step denoiser";

        public Tensor Restore(Tensor observed, Tensor mask, double sigma, CancellationToken cancellationToken = default)
        {
            using var tape = new Tape();
            using var noGrad = NoGrad.Scope();
            using var s = Tensor.Full(new Shape(observed.Shape[0]), (float)Math.Max(sigma, Edm.SigmaMin), observed.Device);
            return ForMask(config, denoiser, mask).Denoise(observed, s).Detach();
        }
    }

    /// <summary>
    /// EDM's Heun sampler with the observed pixels re-imposed at every noise level (<see cref="EdmSampler.Inpaint"/>):
    /// the erased pixels are generated, the observed ones come back exactly. Deterministic in <paramref name="seed"/>.
    /// </summary>
    public sealed class Inpaint(RunConfig config, EdmPreconditioner denoiser, int steps, ulong seed) : IImageRestorer
    {
        private readonly Rng _rng = new(seed);

        public string Name => $"inpainting Heun sampler ({steps} steps)";

        public Tensor Restore(Tensor observed, Tensor mask, double sigma, CancellationToken cancellationToken = default)
        {
            using var noise = Tensor.Randn(observed.Shape, _rng, observed.Device);
            return EdmSampler.Inpaint(ForMask(config, denoiser, mask), observed, mask, noise, _rng,
                new EdmSamplerOptions { Steps = steps }, cancellationToken: cancellationToken);
        }
    }

    /// <summary>D clipped to the data range, as the ambient sampler clips (so both kinds of model are compared alike).</summary>
    private sealed class Clipped(IDenoiser inner) : IDenoiser
    {
        public Tensor Denoise(Tensor x, Tensor sigma) => Ops.Clamp(inner.Denoise(x, sigma), -1f, 1f);
    }
}
