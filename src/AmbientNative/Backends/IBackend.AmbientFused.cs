using AmbientNative.Tensors;

namespace AmbientNative.Backends;

/// <summary>
/// Sizes of the fused ambient ops: N images of C channels and <see cref="Pixels"/> = H·W; the mask has
/// <see cref="MaskChannels"/> (1 or C); the network input carries <see cref="InputMaskChannels"/> of them (for
/// <see cref="IBackend.AmbientInput"/>; 0 for the loss).
/// </summary>
public readonly record struct AmbientGeometry(int N, int C, int MaskChannels, int InputMaskChannels, int Pixels)
{
    public long ImageSize => (long)N * C * Pixels;
    public long MaskSize => (long)N * MaskChannels * Pixels;
    public long InputSize => (long)N * (C + InputMaskChannels) * Pixels;
}

public partial interface IBackend
{
    /// <summary>
    /// One pass of <see cref="Cpu.Reference.AmbientFusedRef.Input{T}"/>: y, noise [N, C, H, W], sigma [N],
    /// mask [N, Cm, H, W] → masked = Ã⊙(y + σ·n) [N, C, H, W] and input = concat[c_in(σ)·masked, Ã] [N, C + Ck, H, W].
    /// </summary>
    void AmbientInput(Tensor y, Tensor noise, Tensor sigma, Tensor mask, Tensor masked, Tensor input, AmbientGeometry g, float sigmaData);

    /// <summary>loss (one element) = (1/N)·Σᵢ weightᵢ·Σ A⊙(D − y)², each image summed in a fixed order.</summary>
    void AmbientLoss(Tensor d, Tensor y, Tensor mask, Tensor weight, Tensor loss, AmbientGeometry g);

    /// <summary>gD = (2/N)·weightᵢ·A⊙(D − y)·gLoss, gLoss a one-element tensor (read on the device).</summary>
    void AmbientLossBackward(Tensor d, Tensor y, Tensor mask, Tensor weight, Tensor gLoss, Tensor gd, AmbientGeometry g);
}
