using System.Numerics;
using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class FastCpuBackend
{
    // The remaining reference ops of a training step's profile (softmax, in-place accumulation, affine, nearest
    // upsampling): parallel, SIMD where the arithmetic allows it, and every float operation the reference's in the
    // reference's order, so results are bit-identical to it (the softmax keeps MathF.Exp and its float64 row sums).

    public override void AddInPlace(Tensor y, Tensor x, float alpha)
    {
        HostArray yv = Arr(y), xv = Arr(x);
        ForChunks(y.Numel, Vector<float>.Count, (lo, hi) =>
        {
            Span<float> ys = yv.AsSpan(lo, hi - lo), xs = xv.AsSpan(lo, hi - lo);
            int i = 0, w = Vector<float>.Count;
            for (; i + w <= ys.Length; i += w) (new Vector<float>(ys[i..]) + alpha * new Vector<float>(xs[i..])).CopyTo(ys[i..]);
            for (; i < ys.Length; i++) ys[i] += alpha * xs[i];
        });
    }

    public override void Affine(Tensor x, float a, float b, Tensor y)
    {
        HostArray xv = Arr(x), yv = Arr(y);
        ForChunks(x.Numel, Vector<float>.Count, (lo, hi) =>
        {
            Span<float> xs = xv.AsSpan(lo, hi - lo), ys = yv.AsSpan(lo, hi - lo);
            int i = 0, w = Vector<float>.Count;
            for (; i + w <= xs.Length; i += w) (a * new Vector<float>(xs[i..]) + new Vector<float>(b)).CopyTo(ys[i..]);
            for (; i < xs.Length; i++) ys[i] = a * xs[i] + b;
        });
    }

    public override void Softmax(Tensor x, Tensor y)
    {
        int n = x.Shape[-1];
        HostArray xv = Arr(x), yv = Arr(y);
        ForRows(x.Numel / n, n, r =>
        {
            var xr = xv.AsSpan(r * n, n);
            var yr = yv.AsSpan(r * n, n);
            float max = Max(xr);
            double sum = 0;
            for (int i = 0; i < n; i++) { yr[i] = MathF.Exp(xr[i] - max); sum += yr[i]; }
            Scale(yr, (float)(1 / sum));
        });
    }

    public override void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx)
    {
        int n = y.Shape[-1];
        HostArray yv = Arr(y), gv = Arr(gy), xv = Arr(gx);
        ForRows(y.Numel / n, n, r =>
        {
            Span<float> yr = yv.AsSpan(r * n, n), gr = gv.AsSpan(r * n, n), xr = xv.AsSpan(r * n, n);
            double dot = 0;
            for (int i = 0; i < n; i++) dot += gr[i] * yr[i];
            float d = (float)dot;
            int k = 0, w = Vector<float>.Count;
            for (; k + w <= n; k += w)
                (new Vector<float>(yr[k..]) * (new Vector<float>(gr[k..]) - new Vector<float>(d))).CopyTo(xr[k..]);
            for (; k < n; k++) xr[k] = yr[k] * (gr[k] - d);
        });
    }

    public override void Upsample2x(Tensor x, Tensor y)
    {
        var (n, c, h, w) = x.Shape.Nchw("upsample2x input");
        HostArray xv = Arr(x), yv = Arr(y);
        ForRows(n * c * h, 4 * w, row => // one input row → two output rows, each pixel twice
        {
            Span<float> xr = xv.AsSpan(row * w, w), yr = yv.AsSpan((row / h * 2 * h + row % h * 2) * 2 * w, 4 * w);
            for (int j = 0; j < w; j++) yr[2 * j] = yr[2 * j + 1] = xr[j];
            yr[..(2 * w)].CopyTo(yr[(2 * w)..]);
        });
    }

    public override void Upsample2xBackward(Tensor gy, Tensor gx)
    {
        var (n, c, h, w) = gx.Shape.Nchw("upsample2x input gradient");
        HostArray gv = Arr(gy), xv = Arr(gx);
        ForRows(n * c * h, 4 * w, row =>
        {
            int top = (row / h * 2 * h + row % h * 2) * 2 * w;
            Span<float> xr = xv.AsSpan(row * w, w), t = gv.AsSpan(top, 2 * w), b = gv.AsSpan(top + 2 * w, 2 * w);
            // The reference's order: 0 + the block's top-left, top-right, bottom-left, bottom-right.
            for (int j = 0; j < w; j++) xr[j] = 0f + t[2 * j] + t[2 * j + 1] + b[2 * j] + b[2 * j + 1];
        });
    }

    /// <summary>body(r) for every row r &lt; rows (of <paramref name="rowLength"/> elements), split as ForChunks splits elements.</summary>
    private static void ForRows(int rows, int rowLength, Action<int> body) =>
        ForChunks(rows * rowLength, rowLength, (lo, hi) =>
        {
            for (int r = lo / rowLength; r < hi / rowLength; r++) body(r);
        });

    private static float Max(ReadOnlySpan<float> x)
    {
        float max = float.NegativeInfinity;
        int i = 0, w = Vector<float>.Count;
        if (x.Length >= w)
        {
            var m = new Vector<float>(x);
            for (i = w; i + w <= x.Length; i += w) m = Vector.Max(m, new Vector<float>(x[i..]));
            for (int k = 0; k < w; k++) max = MathF.Max(max, m[k]);
        }
        for (; i < x.Length; i++) max = MathF.Max(max, x[i]);
        return max;
    }

    private static void Scale(Span<float> y, float s)
    {
        int i = 0, w = Vector<float>.Count;
        for (; i + w <= y.Length; i += w) (new Vector<float>(y[i..]) * s).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] *= s;
    }
}
