using ILGPU;
using ILGPU.Runtime;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// Group normalization (optionally fused with SiLU), forward and backward: the formulas of GroupNormRef. One group
/// per (sample, group), whose C/G channels × HW pixels are contiguous in NCHW. Statistics are two-pass (mean, then
/// the mean squared deviation) in float with group trees: deterministic, and accurate to float rounding for the
/// group sizes of a U-Net. The weight and bias gradients also sum over samples; rather than atomics, each group
/// writes its per-channel partial sums to a [2, N, C] workspace and a second kernel adds them over n in order.
/// An optional shift [N, C] is added to x as it is read (GroupNorm(x + shift)); its gradient is gx summed per channel.
/// </summary>
internal sealed class IlgpuGroupNorm
{
    private readonly int _groupSize;
    private readonly Action<KernelConfig, Views, Args> _forward;
    private readonly Action<KernelConfig, Views, Args> _backward;
    private readonly Action<Index1D, Views, Args> _paramGrad;

    public IlgpuGroupNorm(IlgpuRuntime runtime)
    {
        var acc = runtime.Accelerator;
        _groupSize = runtime.GroupSize;
        _forward = acc.LoadStreamKernel<Views, Args>(ForwardKernel);
        _backward = acc.LoadStreamKernel<Views, Args>(BackwardKernel);
        _paramGrad = acc.LoadAutoGroupedStreamKernel<Index1D, Views, Args>(ParamGradKernel);
    }

    /// <summary>Length of the workspace <see cref="Backward"/> needs when a parameter gradient is wanted.</summary>
    public static int WorkspaceSize(GroupNormArgs a) => 2 * a.N * a.C;

    /// <summary>y, mean and rstd from x (and w, b when <see cref="Args.Affine"/>); other views are not touched.</summary>
    public void Forward(Views v, Args a)
    {
        if (a.N * a.Groups == 0) return;
        _forward(new KernelConfig(a.N * a.Groups, _groupSize), v, a);
    }

    /// <summary>
    /// gx (when <see cref="Args.WantGx"/>), gshift (<see cref="Args.WantGShift"/>), gw and gb (when wanted; they need the workspace <see cref="Views.Ws"/>
    /// of <see cref="WorkspaceSize"/> elements) from x, gy and the forward's mean and rstd.
    /// </summary>
    public void Backward(Views v, Args a)
    {
        if (a.N * a.Groups == 0) return;
        bool paramGrads = a.WantGw != 0 || a.WantGb != 0;
        _backward(new KernelConfig(a.N * a.Groups, _groupSize), v, a with { WantWs = paramGrads ? 1 : 0 });
        if (paramGrads) _paramGrad(a.C, v, a);
    }

    /// <summary>Views absent from a call (no affine, an unwanted gradient) stand in as any valid view; flags in
    /// <see cref="Args"/> say which are real.</summary>
    internal readonly record struct Views(
        ArrayView<float> X, ArrayView<float> Shift, ArrayView<float> W, ArrayView<float> B, ArrayView<float> Gy,
        ArrayView<float> Y, ArrayView<float> Mean, ArrayView<float> Rstd,
        ArrayView<float> Gx, ArrayView<float> GShift, ArrayView<float> Ws, ArrayView<float> Gw, ArrayView<float> Gb);

    /// <summary>The shape, and int flags (kernel arguments stay plain ints, 0 or 1).</summary>
    internal readonly record struct Args(int N, int C, int HW, int Groups, float Eps, int Silu, int Affine, int Shifted,
        int WantGx = 0, int WantGShift = 0, int WantGw = 0, int WantGb = 0, int WantWs = 0, int AccumulateGx = 0)
    {
        public static Args Of(GroupNormArgs a, bool affine, bool shifted) =>
            new(a.N, a.C, a.HW, a.Groups, a.Eps, a.Silu ? 1 : 0, affine ? 1 : 0, shifted ? 1 : 0, AccumulateGx: a.AccumulateGx ? 1 : 0);
    }

    private static float Sigmoid(float z) => 1f / (1f + MathF.Exp(-z));

    /// <summary>Element i of group ng's input: x, or x + the shift of its channel.</summary>
    private static float Input(Views v, Args a, int ng, int start, int i) =>
        a.Shifted != 0 ? v.X[start + i] + v.Shift[ng * (a.C / a.Groups) + i / a.HW] : v.X[start + i];

    private static void ForwardKernel(Views v, Args a)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Width);
        int ng = Grid.IdxX, g = ng % a.Groups, cg = a.C / a.Groups, size = cg * a.HW;
        int start = ng * size; // (n·C + g·cg)·HW
        float s = 0f;
        for (int i = Group.IdxX; i < size; i += Group.DimX) s += Input(v, a, ng, start, i);
        float mu = GroupReduce.Sum(scratch, s) / size;
        float q = 0f;
        for (int i = Group.IdxX; i < size; i += Group.DimX)
        {
            float d = Input(v, a, ng, start, i) - mu;
            q += d * d;
        }
        float r = 1f / MathF.Sqrt(GroupReduce.Sum(scratch, q) / size + a.Eps);
        if (Group.IdxX == 0)
        {
            v.Mean[ng] = mu;
            v.Rstd[ng] = r;
        }
        for (int i = Group.IdxX; i < size; i += Group.DimX)
        {
            float z = (Input(v, a, ng, start, i) - mu) * r;
            if (a.Affine != 0)
            {
                int c = g * cg + i / a.HW;
                z = z * v.W[c] + v.B[c];
            }
            v.Y[start + i] = a.Silu != 0 ? z * Sigmoid(z) : z;
        }
    }

    /// <summary>dz = ∂L/∂z for z = w·x̂ + b: gy, times SiLU'(z) when fused.</summary>
    private static float Dz(int silu, float gy, float xhat, float w, float b)
    {
        if (silu == 0) return gy;
        float z = w * xhat + b, s = Sigmoid(z);
        return gy * (s * (1f + z * (1f - s)));
    }

    // Per channel: Σ dz and Σ dz·x̂ over its pixels (the parameter-gradient partials); the group's Σ dx̂ and Σ dx̂·x̂
    // follow from them (dx̂ = w_c·dz); then gx = rstd·(dx̂ − Σ dx̂/M − x̂·Σ dx̂·x̂/M).
    private static void BackwardKernel(Views v, Args a)
    {
        var scratch = SharedMemory.Allocate<float>(2 * GroupReduce.Width);
        int ng = Grid.IdxX, n = ng / a.Groups, g = ng % a.Groups, cg = a.C / a.Groups, size = cg * a.HW;
        int start = ng * size;
        float mu = v.Mean[ng], r = v.Rstd[ng];
        float sumD = 0f, sumDX = 0f;
        for (int cl = 0; cl < cg; cl++)
        {
            int c = g * cg + cl;
            float w = a.Affine != 0 ? v.W[c] : 1f, b = a.Affine != 0 ? v.B[c] : 0f;
            float sd = 0f, sdx = 0f;
            for (int p = Group.IdxX; p < a.HW; p += Group.DimX)
            {
                int i = cl * a.HW + p;
                float xh = (Input(v, a, ng, start, i) - mu) * r, dz = Dz(a.Silu, v.Gy[start + i], xh, w, b);
                sd += dz;
                sdx += dz * xh;
            }
            var t = GroupReduce.Sum2(scratch, sd, sdx);
            if (a.WantWs != 0 && Group.IdxX == 0)
            {
                v.Ws[n * a.C + c] = t.A;
                v.Ws[(a.N + n) * a.C + c] = t.B;
            }
            sumD += w * t.A;
            sumDX += w * t.B;
        }
        if (a.WantGx == 0 && a.WantGShift == 0) return;
        float md = sumD / size, mdx = sumDX / size;
        // Channel by channel, so each channel's gx can be summed for the shift's gradient.
        for (int cl = 0; cl < cg; cl++)
        {
            int c = g * cg + cl;
            float w = a.Affine != 0 ? v.W[c] : 1f, b = a.Affine != 0 ? v.B[c] : 0f;
            float sg = 0f;
            for (int p = Group.IdxX; p < a.HW; p += Group.DimX)
            {
                int i = cl * a.HW + p;
                float xh = (Input(v, a, ng, start, i) - mu) * r, dz = Dz(a.Silu, v.Gy[start + i], xh, w, b);
                float gx = r * (dz * w - md - xh * mdx);
                if (a.WantGx != 0) v.Gx[start + i] = a.AccumulateGx != 0 ? v.Gx[start + i] + gx : gx;
                sg += gx;
            }
            if (a.WantGShift == 0) continue;
            sg = GroupReduce.Sum(scratch, sg);
            if (Group.IdxX == 0) v.GShift[n * a.C + c] = sg;
        }
    }

    // gw[c] = Σₙ of the Σ dz·x̂ partials, gb[c] = Σₙ of the Σ dz partials, in sample order.
    private static void ParamGradKernel(Index1D c, Views v, Args a)
    {
        float sd = 0f, sdx = 0f;
        for (int n = 0; n < a.N; n++)
        {
            sd += v.Ws[n * a.C + c];
            sdx += v.Ws[(a.N + n) * a.C + c];
        }
        if (a.WantGb != 0) v.Gb[c] = sd;
        if (a.WantGw != 0) v.Gw[c] = sdx;
    }
}
