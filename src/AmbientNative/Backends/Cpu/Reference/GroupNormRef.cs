using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// Group normalization as in PyTorch: per sample n and group g, μ and the biased variance σ² over the group's
/// C/G channels × H·W pixels, x̂ = (x − μ)/√(σ² + ε), z = γ_c·x̂ + β_c (γ, β [C]; empty spans = no affine), and
/// y = z, or y = SiLU(z) = z·sigmoid(z) when fused. The forward saves μ and rstd = 1/√(σ² + ε) [N, G] for the
/// backward. Sums and the per-element math run in double, so the float instance is accurate to its last rounding.
/// An optional shift [N, C] (empty = none) is added to x first, in T, so GroupNorm(x + shift) has the bits of adding
/// the broadcast shift as its own op and normalizing that: the U-Net's per-sample embedding bias, folded in.
/// </summary>
public static class GroupNormRef
{
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> shift, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias,
        Span<T> y, Span<T> mean, Span<T> rstd, GroupNormArgs a) where T : IFloatingPointIeee754<T>
    {
        int cg = a.ChannelsPerGroup, size = a.GroupSize;
        var xs = new T[size];
        for (int n = 0; n < a.N; n++)
        for (int g = 0; g < a.Groups; g++)
        {
            int start = (n * a.C + g * cg) * a.HW;
            Shifted(x, shift, start, n * a.C + g * cg, a.HW, xs);
            double mu = 0, var = 0;
            foreach (var v in xs) mu += D(v);
            mu /= size;
            foreach (var v in xs) var += (D(v) - mu) * (D(v) - mu);
            var /= size;
            double r = 1 / Math.Sqrt(var + a.Eps);
            mean[n * a.Groups + g] = T.CreateChecked(mu);
            rstd[n * a.Groups + g] = T.CreateChecked(r);
            for (int i = 0; i < size; i++)
            {
                int c = g * cg + i / a.HW;
                double z = (D(xs[i]) - mu) * r;
                if (!weight.IsEmpty) z = z * D(weight[c]) + D(bias[c]);
                y[start + i] = T.CreateChecked(a.Silu ? z / (1 + Math.Exp(-z)) : z);
            }
        }
    }

    /// <summary>
    /// Gradients from gy = ∂L/∂y, using the saved mean and rstd. With dx̂ = ∂L/∂x̂ and M = GroupSize:
    /// gx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), gγ_c = Σ ∂L/∂z·x̂, gβ_c = Σ ∂L/∂z (sums over n and pixels).
    /// gshift[n, c] = Σ gx over the pixels of channel c of sample n (the gradient of the shift, from gx as rounded to T).
    /// With <see cref="GroupNormArgs.AccumulateGx"/>, gx += (in T) the gradient instead; gshift is still this op's own.
    /// Each output is skipped when its span is empty; bias is read only to recompute z for the fused SiLU.
    /// </summary>
    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> shift, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias,
        ReadOnlySpan<T> mean, ReadOnlySpan<T> rstd, ReadOnlySpan<T> gy, Span<T> gx, Span<T> gshift, Span<T> gweight,
        Span<T> gbias, GroupNormArgs a) where T : IFloatingPointIeee754<T>
    {
        int cg = a.ChannelsPerGroup, size = a.GroupSize;
        var gw = new double[a.C];
        var gb = new double[a.C];
        var dxhat = new double[size];
        var xhat = new double[size];
        var xs = new T[size];
        for (int n = 0; n < a.N; n++)
        for (int g = 0; g < a.Groups; g++)
        {
            int start = (n * a.C + g * cg) * a.HW;
            Shifted(x, shift, start, n * a.C + g * cg, a.HW, xs);
            double mu = D(mean[n * a.Groups + g]), r = D(rstd[n * a.Groups + g]);
            double sumD = 0, sumDX = 0;
            for (int i = 0; i < size; i++)
            {
                int c = g * cg + i / a.HW;
                double w = weight.IsEmpty ? 1 : D(weight[c]), b = weight.IsEmpty ? 0 : D(bias[c]);
                xhat[i] = (D(xs[i]) - mu) * r;
                double dz = D(gy[start + i]);
                if (a.Silu)
                {
                    double z = w * xhat[i] + b, s = 1 / (1 + Math.Exp(-z));
                    dz *= s * (1 + z * (1 - s));
                }
                gw[c] += dz * xhat[i];
                gb[c] += dz;
                dxhat[i] = dz * w;
                sumD += dxhat[i];
                sumDX += dxhat[i] * xhat[i];
            }
            if (gx.IsEmpty && gshift.IsEmpty) continue;
            for (int j = 0; j < cg; j++)
            {
                double sumGx = 0;
                for (int i = j * a.HW; i < (j + 1) * a.HW; i++)
                {
                    var v = T.CreateChecked(r * (dxhat[i] - sumD / size - xhat[i] * sumDX / size));
                    if (!gx.IsEmpty) gx[start + i] = a.AccumulateGx ? gx[start + i] + v : v;
                    sumGx += D(v);
                }
                if (!gshift.IsEmpty) gshift[n * a.C + g * cg + j] = T.CreateChecked(sumGx);
            }
        }
        for (int c = 0; c < gweight.Length; c++) gweight[c] = T.CreateChecked(gw[c]);
        for (int c = 0; c < gbias.Length; c++) gbias[c] = T.CreateChecked(gb[c]);
    }

    /// <summary>One group's values x (+ shift of their channel, added in T when a shift is given) into xs.</summary>
    private static void Shifted<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> shift, int start, int firstChannel, int hw, Span<T> xs)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < xs.Length; i++) xs[i] = shift.IsEmpty ? x[start + i] : x[start + i] + shift[firstChannel + i / hw];
    }

    private static double D<T>(T v) where T : IFloatingPointIeee754<T> => double.CreateChecked(v);
}
