using System.Numerics;
using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class FastCpuBackend
{
    // Adam and the EMA with Vector<float>, in parallel for large tensors. Every operation is the reference's, in its
    // order and without FMA contraction (the JIT does not fuse), so results are bit-identical to OptimRef<float>.

    public override void AdamStep(Tensor p, Tensor g, Tensor m, Tensor v, AdamStepParams h)
    {
        float decay = (float)h.Decay, stepSize = (float)h.StepSize, bc2Sqrt = (float)h.BiasCorrection2Sqrt, eps = (float)h.Eps;
        float b1 = (float)h.Beta1, a1 = (float)(1 - h.Beta1), b2 = (float)h.Beta2, a2 = (float)(1 - h.Beta2);
        HostArray pv = Arr(p), gv = Arr(g), mv = Arr(m), vv = Arr(v);
        ForChunks(p.Numel, Vector<float>.Count, (lo, hi) =>
        {
            Span<float> ps = pv.AsSpan(lo, hi - lo), gs = gv.AsSpan(lo, hi - lo), ms = mv.AsSpan(lo, hi - lo), vs = vv.AsSpan(lo, hi - lo);
            int i = 0, w = Vector<float>.Count;
            for (; i + w <= ps.Length; i += w)
            {
                var gi = new Vector<float>(gs[i..]);
                var mi = b1 * new Vector<float>(ms[i..]) + a1 * gi;
                var vi = b2 * new Vector<float>(vs[i..]) + a2 * gi * gi;
                var pi = decay * new Vector<float>(ps[i..]) - stepSize * mi / (Vector.SquareRoot(vi) / bc2Sqrt + new Vector<float>(eps));
                mi.CopyTo(ms[i..]); vi.CopyTo(vs[i..]); pi.CopyTo(ps[i..]);
            }
            for (; i < ps.Length; i++)
            {
                ms[i] = b1 * ms[i] + a1 * gs[i];
                vs[i] = b2 * vs[i] + a2 * gs[i] * gs[i];
                ps[i] = decay * ps[i] - stepSize * ms[i] / (MathF.Sqrt(vs[i]) / bc2Sqrt + eps);
            }
        });
    }

    public override void EmaUpdate(Tensor ema, Tensor p, double beta)
    {
        float b = (float)beta, a = (float)(1 - beta);
        HostArray ev = Arr(ema), pv = Arr(p);
        ForChunks(ema.Numel, Vector<float>.Count, (lo, hi) =>
        {
            Span<float> es = ev.AsSpan(lo, hi - lo), ps = pv.AsSpan(lo, hi - lo);
            int i = 0, w = Vector<float>.Count;
            for (; i + w <= es.Length; i += w) (b * new Vector<float>(es[i..]) + a * new Vector<float>(ps[i..])).CopyTo(es[i..]);
            for (; i < es.Length; i++) es[i] = b * es[i] + a * ps[i];
        });
    }
}
