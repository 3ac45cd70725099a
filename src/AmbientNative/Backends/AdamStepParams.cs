namespace AmbientNative.Backends;

/// <summary>
/// Hyper-parameters of one AdamW step on one tensor. <c>Step</c> is the 1-based count of steps this
/// tensor has taken, including the current one (PyTorch's state["step"] after its increment). The per-step
/// scalars below are derived in float64 on the host, as PyTorch does with Python floats, so every backend
/// receives the same rounded constants and the kernels stay purely per-element.
/// </summary>
public readonly record struct AdamStepParams(double Lr, double Beta1, double Beta2, double Eps, double WeightDecay, long Step)
{
    /// <summary>Decoupled weight decay factor: p is multiplied by 1 − lr·wd before the Adam update.</summary>
    public double Decay => 1 - Lr * WeightDecay;

    /// <summary>lr / (1 − β1^t): the bias correction of m folded into the step size.</summary>
    public double StepSize => Lr / (1 - Math.Pow(Beta1, Step));

    /// <summary>√(1 − β2^t): √v is divided by it, so √v̂ = √v / BiasCorrection2Sqrt.</summary>
    public double BiasCorrection2Sqrt => Math.Sqrt(1 - Math.Pow(Beta2, Step));

    /// <summary>Throws a clear error for values PyTorch's AdamW also rejects, and for a step below 1.</summary>
    public void Validate()
    {
        if (!(Lr >= 0)) throw new ArgumentOutOfRangeException(nameof(Lr), $"Adam: learning rate must be ≥ 0; got {Lr}.");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta1), $"Adam: beta1 must be in [0, 1); got {Beta1}.");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta2), $"Adam: beta2 must be in [0, 1); got {Beta2}.");
        if (!(Eps >= 0)) throw new ArgumentOutOfRangeException(nameof(Eps), $"Adam: eps must be ≥ 0; got {Eps}.");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), $"Adam: weight decay must be ≥ 0; got {WeightDecay}.");
        if (Step < 1) throw new ArgumentOutOfRangeException(nameof(Step), $"Adam: step must be ≥ 1 (bias correction divides by 1 − β^step); got {Step}.");
    }
}
