using System.Numerics;
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
        float[] pv = Arr(p), gv = Arr(g), mv = Arr(m), vv = Arr(v);
        ForChunks(p.Numel, Vector<float>.Count, (lo, hi) =>
        {
            int i = lo, w = Vector<float>.Count;
            for (; i + w <= hi; i += w)
            {
                var gi = new Vector<float>(gv, i);
                var mi = b1 * new Vector<float>(mv, i) + a1 * gi;
                var vi = b2 * new Vector<float>(vv, i) + a2 * gi * gi;
                var pi = decay * new Vector<float>(pv, i) - stepSize * mi / (Vector.SquareRoot(vi) / bc2Sqrt + new Vector<float>(eps));
                mi.CopyTo(mv, i); vi.CopyTo(vv, i); pi.CopyTo(pv, i);
            }
            for (; i < hi; i++)
            {
                mv[i] = b1 * mv[i] + a1 * gv[i];
                vv[i] = b2 * vv[i] + a2 * gv[i] * gv[i];
                pv[i] = decay * pv[i] - stepSize * mv[i] / (MathF.Sqrt(vv[i]) / bc2Sqrt + eps);
            }
        });
    }

    public override void EmaUpdate(Tensor ema, Tensor p, double beta)
    {
        float b = (float)beta, a = (float)(1 - beta);
        float[] ev = Arr(ema), pv = Arr(p);
        ForChunks(ema.Numel, Vector<float>.Count, (lo, hi) =>
        {
            int i = lo, w = Vector<float>.Count;
            for (; i + w <= hi; i += w) (b * new Vector<float>(ev, i) + a * new Vector<float>(pv, i)).CopyTo(ev, i);
            for (; i < hi; i++) ev[i] = b * ev[i] + a * pv[i];
        });
    }
}
