using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// Group normalization as in PyTorch: per sample n and group g, μ and the biased variance σ² over the group's
/// C/G channels × H·W pixels, x̂ = (x − μ)/√(σ² + ε), z = γ_c·x̂ + β_c (γ, β [C]; empty spans = no affine), and
/// y = z, or y = SiLU(z) = z·sigmoid(z) when fused. The forward saves μ and rstd = 1/√(σ² + ε) [N, G] for the
/// backward. Sums and the per-element math run in double, so the float instance is accurate to its last rounding.
/// </summary>
public static class GroupNormRef
{
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, Span<T> y,
        Span<T> mean, Span<T> rstd, GroupNormArgs a) where T : IFloatingPointIeee754<T>
    {
        int cg = a.ChannelsPerGroup, size = a.GroupSize;
        for (int n = 0; n < a.N; n++)
        for (int g = 0; g < a.Groups; g++)
        {
            int start = (n * a.C + g * cg) * a.HW;
            var xs = x.Slice(start, size);
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
    /// Each output is skipped when its span is empty; bias is read only to recompute z for the fused SiLU.
    /// </summary>
    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias,
        ReadOnlySpan<T> mean, ReadOnlySpan<T> rstd, ReadOnlySpan<T> gy, Span<T> gx, Span<T> gweight, Span<T> gbias,
        GroupNormArgs a) where T : IFloatingPointIeee754<T>
    {
        int cg = a.ChannelsPerGroup, size = a.GroupSize;
        var gw = new double[a.C];
        var gb = new double[a.C];
        var dxhat = new double[size];
        var xhat = new double[size];
        for (int n = 0; n < a.N; n++)
        for (int g = 0; g < a.Groups; g++)
        {
            int start = (n * a.C + g * cg) * a.HW;
            double mu = D(mean[n * a.Groups + g]), r = D(rstd[n * a.Groups + g]);
            double sumD = 0, sumDX = 0;
            for (int i = 0; i < size; i++)
            {
                int c = g * cg + i / a.HW;
                double w = weight.IsEmpty ? 1 : D(weight[c]), b = weight.IsEmpty ? 0 : D(bias[c]);
                xhat[i] = (D(x[start + i]) - mu) * r;
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
            if (gx.IsEmpty) continue;
            for (int i = 0; i < size; i++)
                gx[start + i] = T.CreateChecked(r * (dxhat[i] - sumD / size - xhat[i] * sumDX / size));
        }
        for (int c = 0; c < gweight.Length; c++) gweight[c] = T.CreateChecked(gw[c]);
        for (int c = 0; c < gbias.Length; c++) gbias[c] = T.CreateChecked(gb[c]);
    }

    private static double D<T>(T v) where T : IFloatingPointIeee754<T> => double.CreateChecked(v);
}
