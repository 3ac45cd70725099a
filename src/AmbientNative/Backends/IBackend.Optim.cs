using AmbientNative.Tensors;

namespace AmbientNative.Backends;

/// <summary>
/// Optimizer arithmetic: per-element, in place on parameter-shaped tensors. These are the only methods the
/// Training/ classes call, so a GPU backend that implements them keeps parameters, moments and EMA copies
/// on the device; the two reductions return one host value each.
/// </summary>
public partial interface IBackend
{
    /// <summary>
    /// One AdamW step in place, exactly torch.optim.AdamW (amsgrad off): with t = h.Step,
    /// <code>
    /// p ← p·(1 − lr·wd)
    /// m ← β1·m + (1 − β1)·g
    /// v ← β2·v + (1 − β2)·g²
    /// p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps)
    /// </code>
    /// i.e. p ← p − lr·wd·p − lr·m̂/(√v̂ + eps) with m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t); the decay uses p from
    /// before the step. With wd = 0 this is plain Adam (torch.optim.Adam without weight decay, EDM's optimizer).
    /// p, m and v are read and written; g is only read. All four have the same number of elements.
    /// </summary>
    void AdamStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamStepParams h);

    /// <summary>Σ x², accumulated in float64 (the global gradient norm is √ of the sum over all parameters).</summary>
    double SumOfSquares(Tensor x);

    /// <summary>x ← s·x.</summary>
    void ScaleInPlace(Tensor x, float s);

    /// <summary>ema ← β·ema + (1 − β)·p. β is a double so that 1 − β keeps its precision when β is close to 1.</summary>
    void EmaUpdate(Tensor ema, Tensor p, double beta);

    /// <summary>True when no element is NaN or ±Inf. Nothing is repaired: the caller decides (e.g. skip the step).</summary>
    bool AllFinite(Tensor x);
}
