using AmbientNative.Backends.Cpu.Reference;
using ILGPU;
using ILGPU.Runtime;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// Pointwise kernels in C#: unary functions and their derivatives, binary ops with NumPy broadcasting and their
/// reduced gradients, affine / clamp / pow. One thread per output element (ILGPU picks the group size). The op
/// arrives as an int and is switched on inside the kernel: one compiled kernel per family, not per op.
/// </summary>
internal sealed class IlgpuElementwise
{
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int> _unary;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> _unaryBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int> _binary;
    private readonly Action<Index1D, BinaryGradViews, ArrayView<int>, BinaryGradArgs> _binaryGrad;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ScalarArgs> _scalar;

    public IlgpuElementwise(IlgpuRuntime runtime)
    {
        var acc = runtime.Accelerator;
        _unary = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(UnaryKernel);
        _unaryBackward = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(UnaryBackwardKernel);
        _binary = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>(BinaryKernel);
        _binaryGrad = acc.LoadAutoGroupedStreamKernel<Index1D, BinaryGradViews, ArrayView<int>, BinaryGradArgs>(BinaryGradKernel);
        _scalar = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ScalarArgs>(ScalarKernel);
    }

    public void Unary(UnaryOp op, ArrayView<float> x, ArrayView<float> y) => _unary((int)y.Length, x, y, (int)op);

    public void UnaryBackward(UnaryOp op, ArrayView<float> x, ArrayView<float> y, ArrayView<float> gy, ArrayView<float> gx) =>
        _unaryBackward((int)gx.Length, x, y, gy, gx, (int)op);

    /// <param name="geometry">[dims, output strides, a strides, b strides], each <paramref name="rank"/> long (see <see cref="BroadcastLayout"/>).</param>
    public void Binary(BinaryOp op, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, ArrayView<int> geometry, int rank) =>
        _binary((int)y.Length, a, b, y, geometry, rank, (int)op);

    /// <summary>The gradient of operand <paramref name="wrt"/> (0: a, 1: b), one thread per element of g summing its <paramref name="fan"/> outputs.</summary>
    public void BinaryGrad(BinaryOp op, ArrayView<float> a, ArrayView<float> b, ArrayView<float> gy, ArrayView<float> g,
        ArrayView<int> geometry, int rank, int wrt, int fan) =>
        _binaryGrad((int)g.Length, new BinaryGradViews(a, b, gy, g), geometry, new BinaryGradArgs((int)op, rank, wrt, fan));

    /// <summary>y = f(x[, gy]) for the scalar-parameter ops; <paramref name="gy"/> is read by the backward kinds only.</summary>
    public void Scalar(ScalarKind kind, ArrayView<float> x, ArrayView<float> gy, ArrayView<float> y, float p0, float p1) =>
        _scalar((int)y.Length, x, gy, y, new ScalarArgs((int)kind, p0, p1));

    internal enum ScalarKind { Affine, Clamp, ClampBackward, Pow, PowBackward }

    internal readonly record struct ScalarArgs(int Kind, float P0, float P1);
    internal readonly record struct BinaryGradArgs(int Op, int Rank, int Wrt, int Fan);
    internal readonly record struct BinaryGradViews(ArrayView<float> A, ArrayView<float> B, ArrayView<float> Gy, ArrayView<float> G);

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    private static float UnaryF(int op, float x) => op switch
    {
        (int)UnaryOp.Silu => x * Sigmoid(x),
        (int)UnaryOp.Sigmoid => Sigmoid(x),
        (int)UnaryOp.Exp => MathF.Exp(x),
        (int)UnaryOp.Log => MathF.Log(x),
        (int)UnaryOp.Sqrt => MathF.Sqrt(x),
        (int)UnaryOp.Square => x * x,
        _ => -x, // Neg
    };

    private static float UnaryDerivative(int op, float x, float y)
    {
        switch (op)
        {
            case (int)UnaryOp.Silu: { float s = Sigmoid(x); return s * (1f + x * (1f - s)); }
            case (int)UnaryOp.Sigmoid: return y * (1f - y);
            case (int)UnaryOp.Exp: return y;
            case (int)UnaryOp.Log: return 1f / x;
            case (int)UnaryOp.Sqrt: return 1f / (y + y);
            case (int)UnaryOp.Square: return x + x;
            default: return -1f; // Neg
        }
    }

    private static void UnaryKernel(Index1D i, ArrayView<float> x, ArrayView<float> y, int op) => y[i] = UnaryF(op, x[i]);

    private static void UnaryBackwardKernel(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> gy, ArrayView<float> gx, int op) =>
        gx[i] = gy[i] * UnaryDerivative(op, x[i], y[i]);

    private static float BinaryF(int op, float a, float b) => op switch
    {
        (int)BinaryOp.Add => a + b,
        (int)BinaryOp.Sub => a - b,
        (int)BinaryOp.Mul => a * b,
        _ => a / b, // Div
    };

    private static float BinaryDA(int op, float b) => op switch
    {
        (int)BinaryOp.Mul => b,
        (int)BinaryOp.Div => 1f / b,
        _ => 1f, // Add, Sub
    };

    private static float BinaryDB(int op, float a, float b) => op switch
    {
        (int)BinaryOp.Add => 1f,
        (int)BinaryOp.Sub => -1f,
        (int)BinaryOp.Mul => a,
        _ => -a / (b * b), // Div
    };

    private static void BinaryKernel(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, ArrayView<int> geo, int rank, int op)
    {
        int rem = i, ia = 0, ib = 0;
        for (int k = rank - 1; k >= 0; k--)
        {
            int d = geo[k], idx = rem % d;
            rem /= d;
            ia += idx * geo[2 * rank + k];
            ib += idx * geo[3 * rank + k];
        }
        y[i] = BinaryF(op, a[ia], b[ib]);
    }

    // Element j of the operand walks the dimensions where it is kept (its stride ≠ 0), in its own row-major order;
    // its fan of output elements walks the dimensions where it is broadcast. Summed in double, in a fixed order.
    private static void BinaryGradKernel(Index1D j, BinaryGradViews v, ArrayView<int> geo, BinaryGradArgs p)
    {
        int rank = p.Rank;
        int own = (p.Wrt == 0 ? 2 : 3) * rank, other = (p.Wrt == 0 ? 3 : 2) * rank;
        int rem = j, baseOut = 0, baseOther = 0;
        for (int k = rank - 1; k >= 0; k--)
        {
            if (geo[own + k] == 0) continue;
            int d = geo[k], idx = rem % d;
            rem /= d;
            baseOut += idx * geo[rank + k];
            baseOther += idx * geo[other + k];
        }
        float self = p.Wrt == 0 ? v.A[j] : v.B[j];
        double sum = 0;
        for (int r = 0; r < p.Fan; r++)
        {
            int rr = r, o = baseOut, ot = baseOther;
            for (int k = rank - 1; k >= 0; k--)
            {
                if (geo[own + k] != 0) continue;
                int d = geo[k], idx = rr % d;
                rr /= d;
                o += idx * geo[rank + k];
                ot += idx * geo[other + k];
            }
            float partner = p.Wrt == 0 ? v.B[ot] : v.A[ot];
            float dy = p.Wrt == 0 ? BinaryDA(p.Op, partner) : BinaryDB(p.Op, partner, self);
            sum += v.Gy[o] * dy;
        }
        v.G[j] = (float)sum;
    }

    private static void ScalarKernel(Index1D i, ArrayView<float> x, ArrayView<float> gy, ArrayView<float> y, ScalarArgs p)
    {
        float xi = x[i];
        switch (p.Kind)
        {
            case (int)ScalarKind.Affine: y[i] = p.P0 * xi + p.P1; break;
            case (int)ScalarKind.Clamp: y[i] = MathF.Min(MathF.Max(xi, p.P0), p.P1); break;
            case (int)ScalarKind.ClampBackward: y[i] = p.P0 < xi && xi < p.P1 ? gy[i] : 0f; break;
            case (int)ScalarKind.Pow: y[i] = MathF.Pow(xi, p.P0); break;
            default: y[i] = gy[i] * p.P0 * MathF.Pow(xi, p.P0 - 1f); break; // PowBackward
        }
    }
}
