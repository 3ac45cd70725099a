using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Tensors;

namespace AmbientNative.Evaluation;

/// <summary>
/// Restores corrupted images for the memorization probe. It is given what a user would have: the observed pixels
/// <c>observed = mask ⊙ (x0 + σ·n)</c> [N, C, H, W] (erased pixels are 0), the mask (1 = observed, same shape) and the
/// noise level σ of the observed pixels (0 for pure erasure). It returns the restored images [N, C, H, W] in
/// [−1, 1], a new tensor the caller disposes. A multi-step inpainting sampler and a one-step denoiser are both
/// restorers; a model that memorized its training set restores training images almost exactly.
/// </summary>
public interface IImageRestorer
{
    /// <summary>Recorded in the probe report.</summary>
    string Name { get; }

    Tensor Restore(Tensor observed, Tensor mask, double sigma, CancellationToken cancellationToken = default);
}

/// <summary>
/// One denoiser call: D(observed; max(σ, floor)), the model's posterior mean of x0 given what it sees. For an ambient
/// model, <c>denoiserForMask</c> builds the denoiser that applies the probe's mask (METHOD §2: the ambient sampler
/// is a denoiser with a fixed mask); for a clean model it can ignore the mask, and the erased pixels reach it as 0.
/// The floor (EDM's σmin by default) keeps σ inside the range the model was trained on when the probe adds no noise.
/// </summary>
public sealed class DenoiserRestorer : IImageRestorer
{
    private readonly Func<Tensor, IDenoiser> _denoiserForMask;
    private readonly double _sigmaFloor;

    public DenoiserRestorer(Func<Tensor, IDenoiser> denoiserForMask, double sigmaFloor = Edm.SigmaMin, string name = "one-step denoiser")
    {
        ArgumentNullException.ThrowIfNull(denoiserForMask);
        if (!(sigmaFloor > 0 && double.IsFinite(sigmaFloor)))
            throw new ArgumentOutOfRangeException(nameof(sigmaFloor), $"DenoiserRestorer: sigmaFloor must be finite and positive (got {sigmaFloor}).");
        _denoiserForMask = denoiserForMask;
        _sigmaFloor = sigmaFloor;
        Name = name;
    }

    /// <summary>A restorer for a denoiser that takes no mask.</summary>
    public DenoiserRestorer(IDenoiser denoiser, double sigmaFloor = Edm.SigmaMin, string name = "one-step denoiser")
        : this(_ => denoiser ?? throw new ArgumentNullException(nameof(denoiser)), sigmaFloor, name) { }

    public string Name { get; }

    public Tensor Restore(Tensor observed, Tensor mask, double sigma, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(observed);
        int n = observed.Shape.Nchw("restorer input").N;
        using var sig = Tensor.Full(new Shape(n), (float)Math.Max(sigma, _sigmaFloor), observed.Device);
        // Like a sampler step: the model's intermediates belong to a tape freed here; only the result is copied out.
        using var tape = new Tape();
        using var noGrad = NoGrad.Scope();
        return _denoiserForMask(mask).Denoise(observed, sig).Detach();
    }
}
