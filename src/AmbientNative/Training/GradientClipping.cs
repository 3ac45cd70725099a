using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Training;

/// <summary>
/// Global-norm gradient clipping over all parameters, as torch.nn.utils.clip_grad_norm_ (L2 norm). When the
/// parameters are exactly one <see cref="ParameterArena"/>'s and all have gradients, the norm is one reduction over
/// the flat gradients (one host read instead of one per parameter) and the scaling one launch.
/// </summary>
public static class GradientClipping
{
    /// <summary>‖g‖ over every parameter's gradient taken together (parameters without one count as zero).</summary>
    public static double GlobalNorm(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var list = AsList(parameters);
        return Norm(list, ParameterArena.FlatGradients(list));
    }

    /// <summary>
    /// Scales all gradients by maxNorm / (‖g‖ + 1e-6) when ‖g‖ &gt; maxNorm (PyTorch's coefficient, so the
    /// result matches clip_grad_norm_; the 1e-6 leaves the clipped norm a hair under maxNorm), and returns the
    /// norm before clipping. A NaN or infinite norm means some gradient element is NaN or Inf (float32 squares
    /// summed in float64 cannot overflow): the gradients are then left untouched and the caller decides (skip
    /// the step); nothing is repaired silently.
    /// </summary>
    public static double ClipGlobalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), $"Gradient clipping: max norm must be > 0; got {maxNorm}.");
        var list = AsList(parameters);
        var flat = ParameterArena.FlatGradients(list);
        double norm = Norm(list, flat);
        if (double.IsFinite(norm) && norm > maxNorm)
        {
            float scale = (float)(maxNorm / (norm + 1e-6));
            if (flat != null) flat.Device.Backend.ScaleInPlace(flat, scale);
            else
                foreach (var p in list)
                    if (p.Grad is { } g) p.Device.Backend.ScaleInPlace(g, scale);
        }
        return norm;
    }

    /// <summary>The norm from the flat gradients when there are ones, else parameter by parameter.</summary>
    private static double Norm(IReadOnlyList<Parameter> list, Tensor? flat)
    {
        if (flat != null) return Math.Sqrt(flat.Device.Backend.SumOfSquares(flat));
        double sum = 0;
        foreach (var p in list)
            if (p.Grad is { } g) sum += p.Device.Backend.SumOfSquares(g);
        return Math.Sqrt(sum);
    }

    private static IReadOnlyList<Parameter> AsList(IEnumerable<Parameter> parameters) =>
        parameters as IReadOnlyList<Parameter> ?? parameters.ToList();
}
