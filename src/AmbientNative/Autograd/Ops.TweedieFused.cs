using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>
    /// The Ambient Tweedie loss in one pass (see <see cref="TweedieFusedRef"/>): (1/N)·Σᵢ λᵢ·‖aᵢ·D + bᵢ·xt − x_tn‖² as a
    /// scalar, from D, xt, x_tn [N, …] (same shape) and <paramref name="coefficients"/> [N, 3] with rows (aᵢ, bᵢ, λᵢ).
    /// It replaces the chain a·D, b·xt, add, subtract, square, ×λ, sum, ×1/N (eight launches and seven temporaries,
    /// three per-image uploads where this takes one [N, 3]). Gradient
    /// for D only (xt, x_tn and the coefficients are data): gD = (2/N)·λᵢ·aᵢ·rᵢ·gL, one pass.
    /// </summary>
    public static Tensor TweedieLossFused(Tensor d, Tensor xt, Tensor xtn, Tensor coefficients)
    {
        const string op = "TweedieLossFused";
        if (d.Rank < 1 || d.Shape[0] < 1)
            throw new ArgumentException($"{op}: D {d.Shape} must have a batch dimension of at least one image.");
        int n = d.Shape[0];
        if (xt.Shape != d.Shape)
            throw new ArgumentException($"{op}: xt {xt.Shape} must have the shape of D {d.Shape}.");
        if (xtn.Shape != d.Shape)
            throw new ArgumentException($"{op}: x_tn {xtn.Shape} must have the shape of D {d.Shape}.");
        if (coefficients.Shape != new Shape(n, TweedieFusedRef.Columns))
            throw new ArgumentException($"{op}: coefficients {coefficients.Shape} must be [{n}, {TweedieFusedRef.Columns}], rows (a, b, λ) per image of D {d.Shape}.");
        foreach (var t in new[] { xt, xtn, coefficients }) SameDevice(op, d, t);
        if (Tape.IsRecording && (xt.RequiresGrad || xtn.RequiresGrad || coefficients.RequiresGrad))
            throw new InvalidOperationException($"{op}: xt, x_tn and the coefficients are data and get no gradient; detach them.");

        var g = new TweedieGeometry(n, d.Numel / n);
        var loss = New(d, new Shape(Array.Empty<int>()));
        B(d).TweedieLoss(d, xt, xtn, coefficients, loss, g);
        return Tape.Record(loss, [d], gl =>
        {
            var gd = NewLike(d);
            B(d).TweedieLossBackward(d, xt, xtn, coefficients, gl, gd, g);
            Tape.Accumulate(d, gd);
        });
    }
}
