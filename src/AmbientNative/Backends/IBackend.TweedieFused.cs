using AmbientNative.Tensors;

namespace AmbientNative.Backends;

/// <summary>Sizes of the fused Tweedie loss: N images of <see cref="ImageElements"/> (C·H·W) each.</summary>
public readonly record struct TweedieGeometry(int N, int ImageElements)
{
    public long Size => (long)N * ImageElements;
}

public partial interface IBackend
{
    /// <summary>
    /// loss (one element) = <see cref="Cpu.Reference.TweedieFusedRef.Loss{T}"/>: (1/N)·Σᵢ λᵢ·‖aᵢ·D + bᵢ·xt − x_tn‖² from
    /// D, xt, x_tn [N, ImageElements] and coefficients [N, 3] (rows aᵢ, bᵢ, λᵢ), each image summed in a fixed order.
    /// </summary>
    void TweedieLoss(Tensor d, Tensor xt, Tensor xtn, Tensor coefficients, Tensor loss, TweedieGeometry g);

    /// <summary>gD = (2/N)·λᵢ·aᵢ·(aᵢ·D + bᵢ·xt − x_tn)·gLoss, gLoss a one-element tensor (read on the device).</summary>
    void TweedieLossBackward(Tensor d, Tensor xt, Tensor xtn, Tensor coefficients, Tensor gLoss, Tensor gd, TweedieGeometry g);
}
