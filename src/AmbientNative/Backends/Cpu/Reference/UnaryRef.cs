using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

public enum UnaryOp { Silu, Sigmoid, Exp, Log, Sqrt, Square, Neg }

/// <summary>Pointwise functions and their derivatives, generic so gradient checks run in float64.</summary>
public static class UnaryRef
{
    public static void Forward<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = F(op, x[i]);
    }

    /// <summary>gx = gy · f'(x); y = f(x) is passed because some derivatives are cheaper from it.</summary>
    public static void Backward<T>(UnaryOp op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> gy, Span<T> gx)
        where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) gx[i] = gy[i] * Derivative(op, x[i], y[i]);
    }

    public static T F<T>(UnaryOp op, T x) where T : IFloatingPointIeee754<T> => op switch
    {
        UnaryOp.Silu => x * Sigmoid(x),
        UnaryOp.Sigmoid => Sigmoid(x),
        UnaryOp.Exp => T.Exp(x),
        UnaryOp.Log => T.Log(x),
        UnaryOp.Sqrt => T.Sqrt(x),
        UnaryOp.Square => x * x,
        UnaryOp.Neg => -x,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    public static T Derivative<T>(UnaryOp op, T x, T y) where T : IFloatingPointIeee754<T>
    {
        T one = T.One;
        switch (op)
        {
            case UnaryOp.Silu: { T s = Sigmoid(x); return s * (one + x * (one - s)); }
            case UnaryOp.Sigmoid: return y * (one - y);
            case UnaryOp.Exp: return y;
            case UnaryOp.Log: return one / x;
            case UnaryOp.Sqrt: return one / (y + y);
            case UnaryOp.Square: return x + x;
            case UnaryOp.Neg: return -one;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    public static T Sigmoid<T>(T x) where T : IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));
}
