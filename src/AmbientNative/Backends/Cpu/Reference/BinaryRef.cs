using System.Numerics;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu.Reference;

public enum BinaryOp { Add, Sub, Mul, Div }

/// <summary>y = a ∘ b with NumPy broadcasting (see <see cref="Broadcast"/>); y has the broadcast shape.</summary>
public static class BinaryRef
{
    public static void Forward<T>(BinaryOp op, ReadOnlySpan<T> a, Shape aShape, ReadOnlySpan<T> b, Shape bShape,
        Span<T> y, Shape yShape) where T : IFloatingPointIeee754<T>
    {
        var ma = new Broadcast(aShape, yShape);
        var mb = new Broadcast(bShape, yShape);
        for (int o = 0; o < y.Length; o++) y[o] = F(op, a[ma.InputIndex(o)], b[mb.InputIndex(o)]);
    }

    /// <summary>
    /// ga = Σ gy·∂y/∂a over the broadcast copies of each element of a (gb likewise), summed in double.
    /// An empty span skips that gradient.
    /// </summary>
    public static void Backward<T>(BinaryOp op, ReadOnlySpan<T> a, Shape aShape, ReadOnlySpan<T> b, Shape bShape,
        ReadOnlySpan<T> gy, Shape yShape, Span<T> ga, Span<T> gb) where T : IFloatingPointIeee754<T>
    {
        var ma = new Broadcast(aShape, yShape);
        var mb = new Broadcast(bShape, yShape);
        for (int j = 0; j < ga.Length; j++)
        {
            double s = 0;
            for (int r = 0; r < ma.Fan; r++)
            {
                int o = ma.OutputIndex(j, r);
                s += double.CreateTruncating(gy[o] * DA(op, a[j], b[mb.InputIndex(o)]));
            }
            ga[j] = T.CreateTruncating(s);
        }
        for (int j = 0; j < gb.Length; j++)
        {
            double s = 0;
            for (int r = 0; r < mb.Fan; r++)
            {
                int o = mb.OutputIndex(j, r);
                s += double.CreateTruncating(gy[o] * DB(op, a[ma.InputIndex(o)], b[j]));
            }
            gb[j] = T.CreateTruncating(s);
        }
    }

    /// <summary>y = (a + b)·scale elementwise (a, b, y of one length): a residual junction.</summary>
    public static void AddScaled<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, T scale, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < y.Length; i++) y[i] = (a[i] + b[i]) * scale;
    }

    /// <summary>ga = gb = scale·gy; an empty span skips that gradient.</summary>
    public static void AddScaledBackward<T>(ReadOnlySpan<T> gy, T scale, Span<T> ga, Span<T> gb) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < ga.Length; i++) ga[i] = scale * gy[i];
        for (int i = 0; i < gb.Length; i++) gb[i] = scale * gy[i];
    }

    public static T F<T>(BinaryOp op, T a, T b) where T : IFloatingPointIeee754<T> => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>∂(a ∘ b)/∂a.</summary>
    public static T DA<T>(BinaryOp op, T a, T b) where T : IFloatingPointIeee754<T> => op switch
    {
        BinaryOp.Add or BinaryOp.Sub => T.One,
        BinaryOp.Mul => b,
        BinaryOp.Div => T.One / b,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>∂(a ∘ b)/∂b.</summary>
    public static T DB<T>(BinaryOp op, T a, T b) where T : IFloatingPointIeee754<T> => op switch
    {
        BinaryOp.Add => T.One,
        BinaryOp.Sub => -T.One,
        BinaryOp.Mul => a,
        BinaryOp.Div => -a / (b * b),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
