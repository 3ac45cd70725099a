using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>
    /// c = Alpha·op(a)·op(b) + Beta·c for each batch (layouts in <see cref="GemmArgs"/>). Only the element counts of
    /// a, b and c matter, not their ranks. The one exception to "outputs are never read": c is read when Beta ≠ 0.
    /// </summary>
    void Gemm(Tensor a, Tensor b, Tensor c, GemmArgs args);
    /// <summary>y[r, j] = bias[j]: every row of y (viewed as [y.Numel / bias.Numel, bias.Numel]) set to bias.</summary>
    void BroadcastRows(Tensor bias, Tensor y);
    /// <summary>gbias[j] = Σ_r gy[r, j]: column sums, the gradient of <see cref="BroadcastRows"/>.</summary>
    void SumRows(Tensor gy, Tensor gbias);
}
