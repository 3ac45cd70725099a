using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>
    /// y = a ∘ b with NumPy broadcasting (right-aligned; size-1 dimensions repeat), e.g. [N,C,H,W] with
    /// [N,1,1,1] (per-sample scalars), [1,C,1,1], [C,1,1] or [W]. Gradients are summed back to each input's shape.
    /// </summary>
    public static Tensor Binary(BinaryOp op, Tensor a, Tensor b)
    {
        string name = op.ToString().ToLowerInvariant();
        SameDevice(name, a, b);
        var y = New(a, Broadcast.ResultShape(a.Shape, b.Shape, name));
        B(a).Binary(op, a, b, y);
        return Tape.Record(y, [a, b], gy =>
        {
            var ga = a.RequiresGrad ? NewLike(a) : null;
            var gb = b.RequiresGrad ? NewLike(b) : null;
            B(a).BinaryBackward(op, a, b, gy, ga, gb);
            if (ga != null) Tape.Accumulate(a, ga);
            if (gb != null) Tape.Accumulate(b, gb);
        });
    }

    /// <summary>
    /// y = (a + b)·scale for a and b of one shape: EDM's residual junction (h + skip)·√½ as one op, one pass each way
    /// (Add then MulScalar is two ops, five tensor passes forward and six backward). Same values as that composition
    /// (the sum is rounded, then scaled), except that a −0 stays −0 where MulScalar's "+ 0" made it +0.
    /// </summary>
    public static Tensor AddScaled(Tensor a, Tensor b, float scale)
    {
        SameDevice("add_scaled", a, b);
        if (a.Shape != b.Shape)
            throw new ArgumentException($"add_scaled: operands {a.Shape} and {b.Shape} must have one shape (Add broadcasts).");
        if (!float.IsFinite(scale)) throw new ArgumentException($"add_scaled: scale must be finite; got {scale} (operands {a.Shape}).");
        var y = NewLike(a);
        B(a).AddScaled(a, b, scale, y);
        return Tape.Record(y, [a, b], gy =>
        {
            Tensor? ga = null, gb = null;
            try
            {
                ga = a.RequiresGrad ? NewLike(a) : null;
                gb = b.RequiresGrad ? NewLike(b) : null;
                B(a).AddScaledBackward(gy, scale, ga, gb);
            }
            catch { ga?.Dispose(); gb?.Dispose(); throw; }
            if (ga != null) Tape.Accumulate(a, ga);
            if (gb != null) Tape.Accumulate(b, gb);
        });
    }

    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryOp.Sub, a, b);
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryOp.Mul, a, b);
    public static Tensor Div(Tensor a, Tensor b) => Binary(BinaryOp.Div, a, b);
}
