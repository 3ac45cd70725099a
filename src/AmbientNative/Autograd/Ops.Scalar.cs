using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>y = a·x + b: one pass for scaling and shifting (AddScalar and MulScalar are special cases).</summary>
    public static Tensor Affine(Tensor x, float a, float b)
    {
        var y = NewLike(x);
        B(x).Affine(x, a, b, y);
        return Tape.Record(y, [x], gy =>
        {
            var gx = NewLike(x);
            B(x).Affine(gy, a, 0f, gx);
            Tape.Accumulate(x, gx);
        });
    }

    public static Tensor AddScalar(Tensor x, float s) => Affine(x, 1f, s);
    public static Tensor MulScalar(Tensor x, float s) => Affine(x, s, 0f);

    /// <summary>y = min(max(x, lo), hi); the gradient passes only where lo &lt; x &lt; hi.</summary>
    public static Tensor Clamp(Tensor x, float lo, float hi)
    {
        if (!(lo <= hi)) throw new ArgumentException($"clamp: lower bound {lo} exceeds upper bound {hi} (input {x.Shape}).");
        var y = NewLike(x);
        B(x).Clamp(x, lo, hi, y);
        return Tape.Record(y, [x], gy =>
        {
            var gx = NewLike(x);
            B(x).ClampBackward(x, lo, hi, gy, gx);
            Tape.Accumulate(x, gx);
        });
    }

    /// <summary>y = x^p elementwise (NaN where x &lt; 0 and p is not an integer).</summary>
    public static Tensor PowScalar(Tensor x, float p)
    {
        var y = NewLike(x);
        B(x).Pow(x, p, y);
        return Tape.Record(y, [x], gy =>
        {
            var gx = NewLike(x);
            B(x).PowBackward(x, p, gy, gx);
            Tape.Accumulate(x, gx);
        });
    }
}
