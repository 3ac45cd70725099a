using AmbientNative.Autograd;

namespace AmbientNative.Training;

/// <summary>Global-norm gradient clipping over all parameters, as torch.nn.utils.clip_grad_norm_ (L2 norm).</summary>
public static class GradientClipping
{
    /// <summary>‖g‖ over every parameter's gradient taken together (parameters without one count as zero).</summary>
    public static double GlobalNorm(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double sum = 0;
        foreach (var p in parameters)
            if (p.Grad is { } g) sum += p.Device.Backend.SumOfSquares(g);
        return Math.Sqrt(sum);
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
        var list = parameters as IReadOnlyCollection<Parameter> ?? parameters.ToList();
        double norm = GlobalNorm(list);
        if (double.IsFinite(norm) && norm > maxNorm)
        {
            float scale = (float)(maxNorm / (norm + 1e-6));
            foreach (var p in list)
                if (p.Grad is { } g) p.Device.Backend.ScaleInPlace(g, scale);
        }
        return norm;
    }
}
