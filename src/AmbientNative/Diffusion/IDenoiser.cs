using AmbientNative.Tensors;

namespace AmbientNative.Diffusion;

/// <summary>
/// A denoiser D(x; σ): x [N, C, H, W], σ [N] (one level per sample) → estimate of x0, same shape as x.
/// Samplers only ever call this, so they are tested with closed-form denoisers and serve every method
/// (the ambient sampler is a denoiser that applies its fixed mask).
/// </summary>
public interface IDenoiser
{
    Tensor Denoise(Tensor x, Tensor sigma);
}
