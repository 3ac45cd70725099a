using AmbientNative.Autograd;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Tensors;

namespace AmbientNative.Diffusion;

/// <summary>
/// The ambient denoiser used for sampling (METHOD §2, "fixed mask"): D(x; σ) = clip(D_θ(x; σ, Ã), −1, 1) with one mask
/// Ã per sample, held for every step. So the plain Heun loop samples an ambient model unchanged.
/// </summary>
public sealed class FixedMaskDenoiser : IDenoiser
{
    /// <param name="mask">Ã [N, M, H, W], 1 = kept; see <see cref="EdmPreconditioner.Denoise(Tensor, Tensor, Tensor)"/>.
    /// Not owned: the caller disposes it after sampling.</param>
    /// <param name="clip">Clip predictions to the data range [−1, 1], as the reference sampler does.</param>
    public FixedMaskDenoiser(EdmPreconditioner denoiser, Tensor mask, bool clip = true)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        ArgumentNullException.ThrowIfNull(mask);
        if (!denoiser.IsMasked)
            throw new ArgumentException("FixedMaskDenoiser: the network takes no mask channels; use the EdmPreconditioner itself.");
        Denoiser = denoiser;
        Mask = mask;
        Clip = clip;
    }

    public EdmPreconditioner Denoiser { get; }
    public Tensor Mask { get; }
    public bool Clip { get; }

    public Tensor Denoise(Tensor x, Tensor sigma)
    {
        var d = Denoiser.Denoise(x, sigma, Mask);
        return Clip ? Ops.Clamp(d, -1f, 1f) : d;
    }

    /// <summary>
    /// Draws one sampling mask per sample [count, M, H, W] (M = <paramref name="maskChannels"/>) with the training
    /// distribution of Ã: <see cref="CorruptionMasks.Generate"/> for <paramref name="spec"/>, so for pixel erasure each
    /// pixel survives with probability (1 − p)(1 − δ), and box patterns get their two boxes. Drawn on the host from
    /// <paramref name="rng"/> (consumed in sample order), then copied to <paramref name="device"/>. The caller owns the result.
    /// </summary>
    public static Tensor DrawMasks(CorruptionSpec spec, int count, int channels, int height, int width, int maskChannels, Rng rng, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(rng);
        if (count <= 0) throw new ArgumentException($"FixedMaskDenoiser.DrawMasks: count {count} must be positive.");
        if (maskChannels != 1 && maskChannels != channels)
            throw new ArgumentException($"FixedMaskDenoiser.DrawMasks: {maskChannels} mask channels for {channels} image channels; need 1 or {channels}.");
        int plane = height * width, size = channels * plane, keep = maskChannels * plane;
        var a = new float[size];
        var aTilde = new float[size];
        var masks = new float[count * keep];
        for (int i = 0; i < count; i++)
        {
            CorruptionMasks.Generate(spec, rng, channels, height, width, a, aTilde);
            aTilde.AsSpan(0, keep).CopyTo(masks.AsSpan(i * keep));
        }
        return Tensor.FromArray(masks, new Shape(count, maskChannels, height, width), device);
    }
}
