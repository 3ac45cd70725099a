using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// The fused loss of Ambient Tweedie (METHOD §3) as plain loops. Per image i, with coefficients (aᵢ, bᵢ, λᵢ) read from
/// row i of an [N, 3] array: the residual rᵢ = aᵢ·D + bᵢ·xt − x_tn (aᵢ = 1 − σn²/σᵢ², bᵢ = σn²/σᵢ², so aᵢ·D + bᵢ·xt is
/// x̂_tn) and the loss (1/N)·Σᵢ λᵢ·‖rᵢ‖². Tensors are [N, <c>size</c>] (an image flattened).
/// </summary>
public static class TweedieFusedRef
{
    /// <summary>Columns of the [N, 3] coefficient rows.</summary>
    public const int ScaleD = 0, ScaleXt = 1, Weight = 2, Columns = 3;

    /// <summary>L = (1/N)·Σᵢ λᵢ·Σₖ (aᵢ·Dₖ + bᵢ·xtₖ − x_tnₖ)², each image's sum taken first.</summary>
    public static T Loss<T>(ReadOnlySpan<T> d, ReadOnlySpan<T> xt, ReadOnlySpan<T> xtn, ReadOnlySpan<T> coefficients,
        int n, int size) where T : IFloatingPointIeee754<T>
    {
        T total = T.Zero;
        for (int i = 0; i < n; i++)
        {
            T a = coefficients[i * Columns + ScaleD], b = coefficients[i * Columns + ScaleXt], image = T.Zero;
            for (int k = i * size; k < (i + 1) * size; k++)
            {
                T r = a * d[k] + b * xt[k] - xtn[k];
                image += r * r;
            }
            total += coefficients[i * Columns + Weight] * image;
        }
        return total / T.CreateChecked(n);
    }

    /// <summary>gD = (2/N)·λᵢ·aᵢ·rᵢ·gL. Only D gets a gradient: xt, x_tn and the coefficients are data.</summary>
    public static void LossBackward<T>(ReadOnlySpan<T> d, ReadOnlySpan<T> xt, ReadOnlySpan<T> xtn, ReadOnlySpan<T> coefficients,
        T gLoss, Span<T> gd, int n, int size) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < n; i++)
        {
            T a = coefficients[i * Columns + ScaleD], b = coefficients[i * Columns + ScaleXt];
            T scale = T.CreateChecked(2) * coefficients[i * Columns + Weight] * a * gLoss / T.CreateChecked(n);
            for (int k = i * size; k < (i + 1) * size; k++)
                gd[k] = scale * (a * d[k] + b * xt[k] - xtn[k]);
        }
    }
}
