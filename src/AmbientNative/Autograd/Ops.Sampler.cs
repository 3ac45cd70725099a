using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>
    /// One Heun-sampler update in one pass (<see cref="Backends.Cpu.Reference.SamplerRef"/>): the Euler step from x̂
    /// at σ̂ to σ' when <paramref name="xEuler"/> and <paramref name="d2"/> are null, else the Heun correction.
    /// Sampling runs without gradients, so this records no backward; a gradient-requiring operand is an error.
    /// </summary>
    public static Tensor SamplerStep(Tensor xHat, Tensor d1, Tensor? xEuler, Tensor? d2, double sigmaHat, double sigmaNext)
    {
        const string op = "SamplerStep";
        if ((xEuler == null) != (d2 == null))
            throw new ArgumentException($"{op}: give both x_E and D₂ (Heun correction) or neither (Euler step).");
        foreach (var t in new[] { d1, xEuler, d2 })
        {
            if (t == null) continue;
            if (t.Shape != xHat.Shape)
                throw new ArgumentException($"{op}: operand {t.Shape} must have the shape of x̂ {xHat.Shape}.");
            SameDevice(op, xHat, t);
        }
        if (Tape.IsRecording && (xHat.RequiresGrad || d1.RequiresGrad || xEuler?.RequiresGrad == true || d2?.RequiresGrad == true))
            throw new InvalidOperationException($"{op}: sampling records no gradient; run it under NoGrad or detach the operands.");
        var y = Tape.Own(NewLike(xHat));
        B(xHat).SamplerStep(xHat, d1, xEuler, d2, y, sigmaHat, sigmaNext);
        return y;
    }
}
