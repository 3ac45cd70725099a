using AmbientNative.Backends;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Group normalization of x [N, C, H, W] over <paramref name="groups"/> groups of C / groups channels (biased
    /// variance, as PyTorch), then y = weight_c·x̂ + bias_c when the affine parameters [C] are given (both or neither).
    /// With <paramref name="shift"/> [N, C], x + shift (broadcast over the pixels) is normalized instead, as one op: the
    /// U-Net's per-sample embedding bias, which then is never written as a tensor of x's size (the broadcast add and its
    /// backward, three passes over x each way, disappear; the shift's gradient comes out of GroupNorm's backward).
    /// </summary>
    public static Tensor GroupNorm(Tensor x, int groups, Tensor? weight = null, Tensor? bias = null, float eps = 1e-5f,
        Tensor? shift = null)
        => GroupNormOp("groupnorm", x, groups, weight, bias, eps, silu: false, shift, dropout: null);

    /// <summary>
    /// SiLU(GroupNorm(x [+ shift])) as one op: one pass forward, one backward, no intermediate tensor. With
    /// <paramref name="dropout"/> (<see cref="DropoutMask.Draw"/>), the output is also masked as
    /// <see cref="Dropout(Tensor, float, Rng, bool)"/> would mask it, in the same pass (the U-Net's norm1 → SiLU →
    /// dropout); the backward masks the incoming gradient, then runs GroupNorm's.
    /// </summary>
    public static Tensor GroupNormSilu(Tensor x, int groups, Tensor? weight = null, Tensor? bias = null, float eps = 1e-5f,
        Tensor? shift = null, DropoutMask? dropout = null)
        => GroupNormOp("groupnorm+silu", x, groups, weight, bias, eps, silu: true, shift, dropout);

    private static Tensor GroupNormOp(string op, Tensor x, int groups, Tensor? weight, Tensor? bias, float eps, bool silu,
        Tensor? shift, DropoutMask? dropout)
    {
        var (n, c, h, w) = x.Shape.Nchw($"{op} input");
        if (groups <= 0 || c % groups != 0)
            throw new ArgumentException($"{op}: the {c} channels of input {x.Shape} cannot be split into {groups} equal groups.");
        if ((weight == null) != (bias == null))
            throw new ArgumentException($"{op}: give both weight and bias, or neither (got only the {(weight == null ? "bias" : "weight")}).");
        if (weight != null && (weight.Shape != new Shape(c) || bias!.Shape != new Shape(c)))
            throw new ArgumentException($"{op}: weight {weight.Shape} and bias {bias!.Shape} must both be [{c}] for input {x.Shape}.");
        if (!(eps >= 0 && float.IsFinite(eps)))
            throw new ArgumentException($"{op}: eps must be a finite non-negative number; got {eps}.");
        if (weight != null) { SameDevice(op, x, weight); SameDevice(op, x, bias!); }
        if (shift != null)
        {
            if (shift.Shape != new Shape(n, c))
                throw new ArgumentException($"{op}: shift {shift.Shape} must be [{n}, {c}] (one value per sample and channel) for input {x.Shape}.");
            SameDevice(op, x, shift);
        }

        var args = new GroupNormArgs(n, c, h * w, groups, eps, silu);
        var y = NewLike(x);
        var mean = New(x, new Shape(n, groups));
        var rstd = New(x, new Shape(n, groups));
        B(x).GroupNormForward(x, shift, weight, bias, y, mean, rstd, args with { Dropout = dropout });
        List<Tensor> inputs = [x];
        if (weight != null) inputs.AddRange([weight, bias!]);
        if (shift != null) inputs.Add(shift);
        Tape.Record(y, [.. inputs], gy =>
        {
            Tensor? gx = null, gs = null, gw = null, gb = null, masked = null;
            // x usually has a gradient already (a block input also feeds the skip path): add to it in the same pass.
            var into = Tape.AccumulationTarget(x);
            try
            {
                if (dropout is { } m)
                {
                    masked = NewLike(gy); // the gradient of the output before dropout, as Dropout's backward gives it
                    B(x).Dropout(gy, masked, m.P, m.Seed, m.Counter);
                    gy = masked;
                }
                gx = into == null && x.RequiresGrad ? NewLike(x) : null;
                gs = shift is { RequiresGrad: true } ? NewLike(shift) : null;
                gw = weight is { RequiresGrad: true } ? Tape.GradientBuffer(weight) : null;
                gb = bias is { RequiresGrad: true } ? Tape.GradientBuffer(bias) : null;
                B(x).GroupNormBackward(x, shift, weight, bias, mean, rstd, gy, into ?? gx, gs, gw, gb,
                    args with { AccumulateGx = into != null });
            }
            catch { gx?.Dispose(); gs?.Dispose(); gw?.Dispose(); gb?.Dispose(); throw; } // a lent slot must go back, or it stays lent
            finally { masked?.Dispose(); }
            if (gx != null) Tape.Accumulate(x, gx);
            if (gs != null) Tape.Accumulate(shift!, gs);
            if (gw != null) Tape.Accumulate(weight!, gw);
            if (gb != null) Tape.Accumulate(bias!, gb);
        });
        // The statistics live as long as the backward that reads them: owned by the tape when it was recorded.
        if (y.Producer == null) { mean.Dispose(); rstd.Dispose(); }
        else { Tape.Own(mean); Tape.Own(rstd); }
        return y;
    }
}
