using System.Numerics;
using System.Runtime.InteropServices;
using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class FastCpuBackend
{
    // Fast path for the broadcasts a training step makes: each operand either has the output's shape or is constant
    // over a contiguous suffix of it ("row" operands: [N, C, 1, 1] biases and embeddings, [N, 1, 1, 1] per-sample
    // scalars, one-element tensors). Then element o of an operand with suffix size k is operand[o / k], and the output
    // splits into chunks of L elements (L = the smallest suffix size above 1) over which every operand is either a
    // contiguous slice or one constant: no per-element index math, SIMD inside each chunk. Other broadcasts (a
    // [N, 1, H, W] mask over channels, middle-axis broadcasts) take the reference path.

    public override void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        if (!SuffixBroadcast(a.Shape, y.Shape, out int ka) || !SuffixBroadcast(b.Shape, y.Shape, out int kb))
        {
            base.Binary(op, a, b, y);
            return;
        }
        HostArray av = Arr(a), bv = Arr(b), yv = Arr(y);
        int len = y.Numel, chunk = ChunkSize(ka, kb, len);
        ForChunks(len, chunk, (lo, hi) =>
        {
            for (int o = lo; o < hi; o += chunk)
            {
                int m = Math.Min(chunk, hi - o);
                var yc = yv.AsSpan(o, m);
                ReadOnlySpan<float> ac = ka == 1 ? av.AsSpan(o, m) : default, bc = kb == 1 ? bv.AsSpan(o, m) : default;
                float a0 = ka == 1 ? 0 : av[o / ka], b0 = kb == 1 ? 0 : bv[o / kb];
                switch (op)
                {
                    case BinaryOp.Add: Combine(ac, a0, bc, b0, yc, static (x, z) => x + z, static (x, z) => x + z); break;
                    case BinaryOp.Sub: Combine(ac, a0, bc, b0, yc, static (x, z) => x - z, static (x, z) => x - z); break;
                    case BinaryOp.Mul: Combine(ac, a0, bc, b0, yc, static (x, z) => x * z, static (x, z) => x * z); break;
                    default: Combine(ac, a0, bc, b0, yc, static (x, z) => x / z, static (x, z) => x / z); break;
                }
            }
        });
    }

    public override void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor gy, Tensor? ga, Tensor? gb)
    {
        if (op == BinaryOp.Div || !SuffixBroadcast(a.Shape, gy.Shape, out int ka) || !SuffixBroadcast(b.Shape, gy.Shape, out int kb))
        {
            base.BinaryBackward(op, a, b, gy, ga, gb);
            return;
        }
        // Add, Sub, Mul: ∂y/∂a is 1 or b, ∂y/∂b is ±1 or a, so each gradient is gy times the other operand (or a sign),
        // summed over the operand's suffix when it broadcasts.
        HostArray av = Arr(a), bv = Arr(b), g = Arr(gy);
        int len = gy.Numel;
        if (ga != null) Gradient(g, op == BinaryOp.Mul ? bv : default, kb, 1f, Arr(ga), ka, len);
        if (gb != null) Gradient(g, op == BinaryOp.Mul ? av : default, ka, op == BinaryOp.Sub ? -1f : 1f, Arr(gb), kb, len);
    }

    public override void AddScaled(Tensor a, Tensor b, float scale, Tensor y)
    {
        HostArray av = Arr(a), bv = Arr(b), yv = Arr(y);
        ForChunks(y.Numel, Vector<float>.Count, (lo, hi) =>
        {
            Span<float> ac = av.AsSpan(lo, hi - lo), bc = bv.AsSpan(lo, hi - lo), yc = yv.AsSpan(lo, hi - lo);
            int i = 0, w = Vector<float>.Count;
            for (; i + w <= yc.Length; i += w) ((new Vector<float>(ac[i..]) + new Vector<float>(bc[i..])) * scale).CopyTo(yc[i..]);
            for (; i < yc.Length; i++) yc[i] = (ac[i] + bc[i]) * scale;
        });
    }

    public override void AddScaledBackward(Tensor gy, float scale, Tensor? ga, Tensor? gb)
    {
        HostArray gv = Arr(gy), av = ArrOpt(ga), bv = ArrOpt(gb);
        ForChunks(gy.Numel, Vector<float>.Count, (lo, hi) =>
        {
            Span<float> gc = gv.AsSpan(lo, hi - lo);
            Span<float> ac = av.IsEmpty ? default : av.AsSpan(lo, hi - lo), bc = bv.IsEmpty ? default : bv.AsSpan(lo, hi - lo);
            int i = 0, w = Vector<float>.Count;
            for (; i + w <= gc.Length; i += w)
            {
                var g = scale * new Vector<float>(gc[i..]);
                if (!ac.IsEmpty) g.CopyTo(ac[i..]);
                if (!bc.IsEmpty) g.CopyTo(bc[i..]);
            }
            for (; i < gc.Length; i++)
            {
                float g = scale * gc[i];
                if (!ac.IsEmpty) ac[i] = g;
                if (!bc.IsEmpty) bc[i] = g;
            }
        });
    }

    /// <summary>d[j] = Σ_{o : o / kd = j} sign·gy[o]·(other empty ? 1 : other[o / ko]); kd = 1 means no sum.</summary>
    private static void Gradient(HostArray gy, HostArray other, int ko, float sign, HostArray d, int kd, int len)
    {
        int chunk = ChunkSize(kd, other.IsEmpty ? 1 : ko, len);
        int outLen = len / kd;
        if (kd == 1)
        {
            ForChunks(len, chunk, (lo, hi) =>
            {
                for (int o = lo; o < hi; o += chunk)
                {
                    int m = Math.Min(chunk, hi - o);
                    var dc = d.AsSpan(o, m);
                    ReadOnlySpan<float> gc = gy.AsSpan(o, m);
                    if (other.IsEmpty) Combine(gc, 0, default, sign, dc, static (x, z) => x * z, static (x, z) => x * z);
                    else if (ko == 1) Combine(gc, 0, other.AsSpan(o, m), 0, dc, static (x, z) => x * z, static (x, z) => x * z);
                    else Combine(gc, 0, default, other[o / ko], dc, static (x, z) => x * z, static (x, z) => x * z);
                }
            });
            return;
        }
        // Reduction: d[j] sums gy over its kd-element range, chunk by chunk (the other operand is a slice or constant per chunk).
        Parallel.For(0, outLen, j =>
        {
            double s = 0;
            for (int o = j * kd; o < (j + 1) * kd; o += chunk)
            {
                ReadOnlySpan<float> gc = gy.AsSpan(o, chunk);
                s += other.IsEmpty ? Dot(gc, default, 1f)
                    : ko == 1 ? Dot(gc, other.AsSpan(o, chunk), 0f)
                    : other[o / ko] * Dot(gc, default, 1f);
            }
            d[j] = (float)(sign * s);
        });
    }

    /// <summary>Σ x·(y or c): y's span when given, else the constant c.</summary>
    private static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, float c)
    {
        var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
        var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
        var acc = Vector<float>.Zero;
        for (int i = 0; i < xv.Length; i++) acc += y.IsEmpty ? xv[i] : xv[i] * yv[i];
        double s = Vector.Sum(acc) * (double)(y.IsEmpty ? c : 1f);
        for (int i = xv.Length * Vector<float>.Count; i < x.Length; i++) s += x[i] * (double)(y.IsEmpty ? c : y[i]);
        return s;
    }

    /// <summary>y = f(a, b) where an empty operand span stands for its constant.</summary>
    private static void Combine(ReadOnlySpan<float> a, float a0, ReadOnlySpan<float> b, float b0, Span<float> y,
        Func<Vector<float>, Vector<float>, Vector<float>> fv, Func<float, float, float> f)
    {
        var av = MemoryMarshal.Cast<float, Vector<float>>(a);
        var bv = MemoryMarshal.Cast<float, Vector<float>>(b);
        var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
        Vector<float> ca = new(a0), cb = new(b0);
        for (int i = 0; i < yv.Length; i++) yv[i] = fv(a.IsEmpty ? ca : av[i], b.IsEmpty ? cb : bv[i]);
        for (int i = yv.Length * Vector<float>.Count; i < y.Length; i++) y[i] = f(a.IsEmpty ? a0 : a[i], b.IsEmpty ? b0 : b[i]);
    }

    /// <summary>
    /// True when <paramref name="s"/> (left-padded with 1s to the output's rank) equals <paramref name="y"/> on a prefix
    /// of axes and is 1 on the rest; <paramref name="k"/> is the size of that suffix of y (1 for the same shape).
    /// </summary>
    private static bool SuffixBroadcast(Shape s, Shape y, out int k)
    {
        k = 1;
        int pad = y.Rank - s.Rank, t = y.Rank;
        if (pad < 0) return false;
        while (t > 0 && (t - 1 < pad || s[t - 1 - pad] == 1) ) t--;        // the trailing run of 1s (and padding)
        for (int i = 0; i < t; i++) if (i < pad || s[i - pad] != y[i]) return false;
        for (int i = t; i < y.Rank; i++) k *= y[i];
        return true;
    }

    /// <summary>
    /// The smallest suffix size above 1 (every larger one is a multiple of it); with no constant operand any size
    /// works (the last chunk may be short), and 8192 floats keep a chunk's operands in L1/L2.
    /// </summary>
    private static int ChunkSize(int ka, int kb, int len) =>
        ka > 1 && kb > 1 ? Math.Min(ka, kb) : ka > 1 ? ka : kb > 1 ? kb : 8192;

    /// <summary>Runs body(lo, hi) over chunk-aligned ranges (hi ≤ len), in parallel when there is enough work to pay for it.</summary>
    private static void ForChunks(int len, int chunk, Action<int, int> body, int minParallel = 1 << 16)
    {
        int chunks = (len + chunk - 1) / chunk;
        if (len < minParallel || chunks < 2) { body(0, len); return; }
        int parts = Math.Min(chunks, 4 * Environment.ProcessorCount);
        Parallel.For(0, parts, p => body((int)((long)chunks * p / parts) * chunk, Math.Min(len, (int)((long)chunks * (p + 1) / parts) * chunk)));
    }
}
