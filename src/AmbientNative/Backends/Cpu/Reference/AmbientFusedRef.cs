using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// The two fused elementwise passes of an Ambient Diffusion training step (METHOD §2), as plain loops: the network
/// input and the loss. Tensors are NCHW with <c>hw</c> pixels per plane; a mask has <c>cm</c> channels, 1 (shared
/// over the image channels) or <c>c</c>.
/// </summary>
public static class AmbientFusedRef
{
    /// <summary>
    /// xt = y + σ·n; masked = Ã⊙xt [N, C, HW]; input = concat[c_in(σ)·masked, Ã's first <paramref name="ck"/> channels]
    /// [N, C + ck, HW], c_in = 1/√(σ² + σd²). The mask channels are not scaled (see EdmPreconditioner).
    /// No backward: y, n, σ and Ã are data, so nothing upstream of the network input needs a gradient.
    /// </summary>
    public static void Input<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> noise, ReadOnlySpan<T> sigma, ReadOnlySpan<T> mask,
        Span<T> masked, Span<T> input, int n, int c, int cm, int ck, int hw, T sigmaData) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < n; i++)
        {
            T s = sigma[i], cIn = T.One / T.Sqrt(s * s + sigmaData * sigmaData);
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++)
                {
                    int k = (i * c + ch) * hw + p;
                    T m = mask[(i * cm + (cm == 1 ? 0 : ch)) * hw + p];
                    masked[k] = m * (y[k] + s * noise[k]);
                    input[(i * (c + ck) + ch) * hw + p] = cIn * masked[k];
                }
            for (int ch = 0; ch < ck; ch++)
                for (int p = 0; p < hw; p++)
                    input[(i * (c + ck) + c + ch) * hw + p] = mask[(i * cm + ch) * hw + p];
        }
    }

    /// <summary>L = (1/N)·Σᵢ λᵢ·Σ_{c,p} A⊙(D − y)², each image's sum taken first.</summary>
    public static T Loss<T>(ReadOnlySpan<T> d, ReadOnlySpan<T> y, ReadOnlySpan<T> mask, ReadOnlySpan<T> weight,
        int n, int c, int cm, int hw) where T : IFloatingPointIeee754<T>
    {
        T total = T.Zero;
        for (int i = 0; i < n; i++)
        {
            T image = T.Zero;
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++)
                {
                    int k = (i * c + ch) * hw + p;
                    T e = d[k] - y[k];
                    image += mask[(i * cm + (cm == 1 ? 0 : ch)) * hw + p] * e * e;
                }
            total += weight[i] * image;
        }
        return total / T.CreateChecked(n);
    }

    /// <summary>gD = (2/N)·λᵢ·A⊙(D − y)·gL (only D gets a gradient: y, A and λ are data).</summary>
    public static void LossBackward<T>(ReadOnlySpan<T> d, ReadOnlySpan<T> y, ReadOnlySpan<T> mask, ReadOnlySpan<T> weight,
        T gLoss, Span<T> gd, int n, int c, int cm, int hw) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < n; i++)
        {
            T scale = T.CreateChecked(2) * weight[i] * gLoss / T.CreateChecked(n);
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++)
                {
                    int k = (i * c + ch) * hw + p;
                    gd[k] = scale * mask[(i * cm + (cm == 1 ? 0 : ch)) * hw + p] * (d[k] - y[k]);
                }
        }
    }
}
