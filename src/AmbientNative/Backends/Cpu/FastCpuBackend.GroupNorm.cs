using System.Numerics;
using System.Runtime.InteropServices;
using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class FastCpuBackend
{
    // GroupNorm (+ SiLU) in float SIMD. Sums run in float vectors over one channel's H·W pixels (at most a few
    // thousand terms) and are combined in double across channels, so the statistics stay within ~1e-6 relative of
    // the reference's all-double sums. The forward parallelises over (sample, group) pairs; the backward over groups
    // only, because γ and β gradients sum over the batch and a group owns its channels, so no two threads share one.
    // With a shift [N, C], each group's x + shift is formed in a per-thread buffer (one group: a few thousand floats,
    // in cache) and normalized from there, so the results are those of adding the shift as its own op first.

    public override void GroupNormForward(Tensor x, Tensor? shift, Tensor? weight, Tensor? bias, Tensor y, Tensor mean,
        Tensor rstd, GroupNormArgs a)
    {
        HostArray xs = Arr(x), ss = ArrOpt(shift), ys = Arr(y), ms = Arr(mean), rs = Arr(rstd), ws = ArrOpt(weight), bs = ArrOpt(bias);
        int cg = a.ChannelsPerGroup, hw = a.HW, size = a.GroupSize;
        Parallel.For(0, a.N * a.Groups, () => new float[ss.IsEmpty ? 0 : size], (ng, _, buffer) =>
        {
            int g = ng % a.Groups, start = ng * size; // (n·C + g·cg)·HW = (n·G + g)·size
            ReadOnlySpan<float> xg = Shifted(xs, ss, ng, a, buffer);
            double mu = Sum(xg) / size;
            double r = 1 / Math.Sqrt(SumSquaredDeviation(xg, (float)mu) / size + a.Eps);
            ms[ng] = (float)mu;
            rs[ng] = (float)r;
            for (int j = 0; j < cg; j++)
            {
                int c = g * cg + j;
                double scale = ws.IsEmpty ? r : r * ws[c], shift = (bs.IsEmpty ? 0 : bs[c]) - mu * scale;
                Affine(xg.Slice(j * hw, hw), ys.AsSpan(start + j * hw, hw), (float)scale, (float)shift, a.Silu);
            }
            return buffer;
        }, _ => { });
        if (a.Dropout is { } m) Dropout(y, y, m.P, m.Seed, m.Counter); // in place: the CPU saves the tensor, not the pass
    }

    /// <summary>Group ng of x, or of x + shift (formed in <paramref name="buffer"/>) when a shift is given.</summary>
    private static ReadOnlySpan<float> Shifted(HostArray xs, HostArray shift, int ng, GroupNormArgs a, float[] buffer)
    {
        int size = a.GroupSize, start = ng * size;
        if (shift.IsEmpty) return xs.AsSpan(start, size);
        int firstChannel = ng * a.ChannelsPerGroup; // n·C + g·cg
        for (int j = 0; j < a.ChannelsPerGroup; j++)
        {
            var src = xs.AsSpan(start + j * a.HW, a.HW);
            var dst = buffer.AsSpan(j * a.HW, a.HW);
            float s = shift[firstChannel + j];
            int i = 0, w = Vector<float>.Count;
            for (; i + w <= dst.Length; i += w) (new Vector<float>(src[i..]) + new Vector<float>(s)).CopyTo(dst[i..]);
            for (; i < dst.Length; i++) dst[i] = src[i] + s;
        }
        return buffer;
    }

    /// <summary>
    /// The shift's gradient is gx summed over each channel's pixels, in the broadcast-add backward's chunked order (so
    /// the bits are those of the unfused composition); without a wanted gx, gx goes to a temporary.
    /// </summary>
    public override void GroupNormBackward(Tensor x, Tensor? shift, Tensor? weight, Tensor? bias, Tensor mean,
        Tensor rstd, Tensor gy, Tensor? gx, Tensor? gshift, Tensor? gweight, Tensor? gbias, GroupNormArgs a)
    {
        if (gshift != null && (gx == null || a.AccumulateGx))
        {
            // The shift's gradient sums this op's gx alone: form it in a temporary (then add it to gx if accumulating).
            using var temp = Tensor.Empty(x.Shape, x.Device);
            GroupNormBackward(x, shift, weight, bias, mean, rstd, gy, temp, gshift, gweight, gbias, a with { AccumulateGx = false });
            if (gx != null) AddInPlace(gx, temp, 1f);
            return;
        }
        HostArray xs = Arr(x), ss = ArrOpt(shift), gys = Arr(gy), ms = Arr(mean), rs = Arr(rstd), ws = ArrOpt(weight), bs = ArrOpt(bias);
        HostArray gxs = ArrOpt(gx), gws = ArrOpt(gweight), gbs = ArrOpt(gbias);
        int cg = a.ChannelsPerGroup, hw = a.HW, size = a.GroupSize;
        // Per worker thread, as in the forward: x + shift of one group, and (with SiLU) ∂L/∂z kept for the second pass
        // when gx holds a gradient to add to (else ∂L/∂z is kept in gx itself).
        Parallel.For(0, a.Groups, () => (Shifted: new float[ss.IsEmpty ? 0 : size],
                                         Dz: new float[a.Silu && a.AccumulateGx && !gxs.IsEmpty ? size : 0]), (g, _, buffers) =>
        {
            Span<double> gw = stackalloc double[cg], gb = stackalloc double[cg];
            gw.Clear(); gb.Clear();
            var (buffer, dzScratch) = buffers;
            for (int n = 0; n < a.N; n++)
            {
                int ng = n * a.Groups + g, start = ng * size;
                ReadOnlySpan<float> xg = Shifted(xs, ss, ng, a, buffer);
                float mu = ms[ng], r = rs[ng];
                double sumD = 0, sumDX = 0; // Σ ∂L/∂x̂ and Σ ∂L/∂x̂·x̂ over the group
                for (int j = 0; j < cg; j++)
                {
                    int c = g * cg + j, o = start + j * hw;
                    float w = ws.IsEmpty ? 1f : ws[c], b = bs.IsEmpty ? 0f : bs[c];
                    var dzOut = !a.Silu || gxs.IsEmpty ? default : a.AccumulateGx ? dzScratch.AsSpan(j * hw, hw) : gxs.AsSpan(o, hw);
                    var (sDz, sDzX) = ChannelSums(xg.Slice(j * hw, hw), gys.AsSpan(o, hw), dzOut, mu, r, w, b, a.Silu);
                    gw[j] += sDzX;
                    gb[j] += sDz;
                    sumD += w * sDz;
                    sumDX += w * sDzX;
                }
                if (gxs.IsEmpty) continue;
                // gx = r·(w·dz − mean(dx̂) − x̂·mean(dx̂·x̂)) = (r·w)·dz + p·x + q, with x̂ = (x − μ)·r.
                double p = -r * (double)r * sumDX / size, q = -r * sumD / size - p * mu;
                for (int j = 0; j < cg; j++)
                {
                    int c = g * cg + j, o = start + j * hw;
                    float w = ws.IsEmpty ? 1f : ws[c];
                    var dz = !a.Silu ? gys.AsSpan(o, hw) : a.AccumulateGx ? dzScratch.AsSpan(j * hw, hw) : gxs.AsSpan(o, hw);
                    Fma3(dz, xg.Slice(j * hw, hw), gxs.AsSpan(o, hw), r * w, (float)p, (float)q, a.AccumulateGx);
                }
            }
            for (int j = 0; j < cg; j++)
            {
                if (!gws.IsEmpty) gws[g * cg + j] = (float)gw[j];
                if (!gbs.IsEmpty) gbs[g * cg + j] = (float)gb[j];
            }
            return buffers;
        }, _ => { });
        if (gshift != null) Gradient(gxs, default, 1, 1f, Arr(gshift), hw, a.Size);
    }

    private static double Sum(ReadOnlySpan<float> x)
    {
        var acc = Vector<float>.Zero;
        int i = 0, vn = Vector<float>.Count;
        var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
        foreach (var v in xv) acc += v;
        i = xv.Length * vn;
        double s = Vector.Sum(acc);
        for (; i < x.Length; i++) s += x[i];
        return s;
    }

    private static double SumSquaredDeviation(ReadOnlySpan<float> x, float mu)
    {
        var acc = Vector<float>.Zero;
        var m = new Vector<float>(mu);
        var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
        foreach (var v in xv) { var d = v - m; acc += d * d; }
        double s = Vector.Sum(acc);
        for (int i = xv.Length * Vector<float>.Count; i < x.Length; i++) s += (x[i] - mu) * (double)(x[i] - mu);
        return s;
    }

    /// <summary>y = z or SiLU(z), z = x·scale + shift.</summary>
    private static void Affine(ReadOnlySpan<float> x, Span<float> y, float scale, float shift, bool silu)
    {
        var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
        var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
        Vector<float> sc = new(scale), sh = new(shift);
        for (int i = 0; i < xv.Length; i++)
        {
            var z = xv[i] * sc + sh;
            yv[i] = silu ? z / (Vector<float>.One + Vector.Exp(-z)) : z;
        }
        for (int i = xv.Length * Vector<float>.Count; i < x.Length; i++)
        {
            float z = x[i] * scale + shift;
            y[i] = silu ? z / (1 + MathF.Exp(-z)) : z;
        }
    }

    /// <summary>
    /// One channel's Σ dz and Σ dz·x̂, with dz = ∂L/∂z = gy, or gy·SiLU'(z) when fused (then also written to dzOut if
    /// given); z = w·x̂ + b, x̂ = (x − μ)·r.
    /// </summary>
    private static (double SumDz, double SumDzXhat) ChannelSums(ReadOnlySpan<float> x, ReadOnlySpan<float> gy,
        Span<float> dzOut, float mu, float r, float w, float b, bool silu)
    {
        var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
        var gv = MemoryMarshal.Cast<float, Vector<float>>(gy);
        var dv = MemoryMarshal.Cast<float, Vector<float>>(dzOut);
        Vector<float> vm = new(mu), vr = new(r), vw = new(w), vb = new(b), sd = Vector<float>.Zero, sdx = Vector<float>.Zero;
        for (int i = 0; i < xv.Length; i++)
        {
            var xh = (xv[i] - vm) * vr;
            var dz = gv[i];
            if (silu)
            {
                var z = vw * xh + vb;
                var s = Vector<float>.One / (Vector<float>.One + Vector.Exp(-z));
                dz *= s * (Vector<float>.One + z * (Vector<float>.One - s));
                if (!dv.IsEmpty) dv[i] = dz;
            }
            sd += dz;
            sdx += dz * xh;
        }
        double sumD = Vector.Sum(sd), sumDX = Vector.Sum(sdx);
        for (int i = xv.Length * Vector<float>.Count; i < x.Length; i++)
        {
            float xh = (x[i] - mu) * r, dz = gy[i];
            if (silu)
            {
                float z = w * xh + b, s = 1 / (1 + MathF.Exp(-z));
                dz *= s * (1 + z * (1 - s));
                if (!dzOut.IsEmpty) dzOut[i] = dz;
            }
            sumD += dz;
            sumDX += dz * xh;
        }
        return (sumD, sumDX);
    }

    /// <summary>
    /// y = a·u + p·x + q (y may alias u), or y += that when <paramref name="accumulate"/> (the value rounded first, then
    /// added: the bits of writing it and adding it with AddInPlace).
    /// </summary>
    private static void Fma3(ReadOnlySpan<float> u, ReadOnlySpan<float> x, Span<float> y, float a, float p, float q, bool accumulate)
    {
        var uv = MemoryMarshal.Cast<float, Vector<float>>(u);
        var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
        var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
        Vector<float> va = new(a), vp = new(p), vq = new(q);
        if (accumulate)
        {
            for (int i = 0; i < yv.Length; i++) yv[i] += va * uv[i] + vp * xv[i] + vq;
            for (int i = yv.Length * Vector<float>.Count; i < y.Length; i++) y[i] += a * u[i] + p * x[i] + q;
            return;
        }
        for (int i = 0; i < yv.Length; i++) yv[i] = va * uv[i] + vp * xv[i] + vq;
        for (int i = yv.Length * Vector<float>.Count; i < y.Length; i++) y[i] = a * u[i] + p * x[i] + q;
    }
}
