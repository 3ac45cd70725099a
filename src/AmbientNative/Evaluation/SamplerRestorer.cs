using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Sampling;
using AmbientNative.Tensors;

namespace AmbientNative.Evaluation;

/// <summary>
/// Restores with the model's own sampler, as the papers' probes do:
/// erased pixels (σ = 0): <see cref="EdmSampler.Inpaint"/>, the Heun loop from pure noise at σmax with the observed
/// pixels re-imposed at every step's noise level and exactly at the end;
/// noise (σ &gt; 0, nothing erased): the Heun loop started at the observation itself with σmax = σ, i.e. the
/// probability-flow ODE from the observed noise level down to 0.
/// For an ambient model, <c>denoiserForMask</c> builds the <see cref="FixedMaskDenoiser"/> that shows the network the
/// probe's mask (the mask given to it is expanded over the image channels; a shared-mask network reads channel 0).
/// </summary>
public sealed class SamplerRestorer : IImageRestorer
{
    private readonly Func<Tensor, IDenoiser> _denoiserForMask;
    private readonly EdmSamplerOptions _options;
    private readonly Rng _rng;

    /// <param name="seed">Seeds the starting noise and the re-imposed noise; calls consume it in order.</param>
    public SamplerRestorer(Func<Tensor, IDenoiser> denoiserForMask, EdmSamplerOptions? options = null, ulong seed = 0, string name = "Heun sampler")
    {
        ArgumentNullException.ThrowIfNull(denoiserForMask);
        _denoiserForMask = denoiserForMask;
        _options = options ?? new EdmSamplerOptions();
        _options.Validate();
        _rng = new Rng(seed);
        Name = name;
    }

    /// <summary>A restorer for a denoiser that takes no mask.</summary>
    public SamplerRestorer(IDenoiser denoiser, EdmSamplerOptions? options = null, ulong seed = 0, string name = "Heun sampler")
        : this(_ => denoiser ?? throw new ArgumentNullException(nameof(denoiser)), options, seed, name) { }

    public string Name { get; }

    public Tensor Restore(Tensor observed, Tensor mask, double sigma, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(observed);
        ArgumentNullException.ThrowIfNull(mask);
        var denoiser = _denoiserForMask(mask);
        if (sigma == 0)
        {
            using var noise = Tensor.Randn(observed.Shape, _rng, observed.Device);
            return EdmSampler.Inpaint(denoiser, observed, mask, noise, _rng, _options, cancellationToken: cancellationToken);
        }
        if (!(sigma > _options.SigmaMin && sigma <= _options.SigmaMax))
            throw new ArgumentOutOfRangeException(nameof(sigma), $"{Name}: probe noise σ = {sigma} is outside the sampler's range ({_options.SigmaMin}, {_options.SigmaMax}].");
        if (mask.ToArray().Any(m => m == 0))
            throw new ArgumentException($"{Name}: a probe that both erases pixels and adds noise is not supported; use one corruption at a time.");
        // x_0 = σmax·noise with σmax = σ and noise = observed / σ starts the loop at the observation itself.
        using var start = Tensor.FromArray(observed.ToArray().Select(v => v / (float)sigma).ToArray(), observed.Shape, observed.Device);
        return EdmSampler.Sample(denoiser, start, _options with { SigmaMax = sigma }, _rng, cancellationToken: cancellationToken);
    }
}
