using AmbientNative.Backends.Cpu.Reference;
using ILGPU;
using ILGPU.Runtime;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// The fused Ambient Tweedie loss (METHOD §3) in C#, the ILGPU twin of kernels/tweedie_fused.cu: per-image sums of
/// (a·D + b·xt − x_tn)² in a fixed tree, the λ-weighted mean, and the gradient w.r.t. D, each one pass over memory.
/// </summary>
internal sealed class IlgpuTweedieFused
{
    private readonly int _groupSize;
    private readonly Action<KernelConfig, TweedieViews, int> _lossPerImage;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int> _lossMean;
    private readonly Action<Index1D, TweedieViews, ArrayView<float>, int, int> _lossBackward;

    public IlgpuTweedieFused(IlgpuRuntime runtime)
    {
        var acc = runtime.Accelerator;
        _groupSize = runtime.GroupSize;
        _lossPerImage = acc.LoadStreamKernel<TweedieViews, int>(LossPerImageKernel);
        _lossMean = acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(LossMeanKernel);
        _lossBackward = acc.LoadAutoGroupedStreamKernel<Index1D, TweedieViews, ArrayView<float>, int, int>(LossBackwardKernel);
    }

    /// <summary>D, xt, x_tn, the [N, 3] coefficient rows (a, b, λ), and the output: per-image λ-weighted sums (loss) or gD.</summary>
    internal readonly record struct TweedieViews(ArrayView<float> D, ArrayView<float> Xt, ArrayView<float> Xtn,
        ArrayView<float> Coefficients, ArrayView<float> Out);

    /// <param name="perImage">Scratch of N floats: each image's λᵢ·‖rᵢ‖².</param>
    public void Loss(TweedieViews v, ArrayView<float> perImage, ArrayView<float> loss, TweedieGeometry g)
    {
        _lossPerImage(new KernelConfig(g.N, _groupSize), v with { Out = perImage }, g.ImageElements);
        _lossMean(new KernelConfig(1, _groupSize), perImage, loss, g.N);
    }

    public void LossBackward(TweedieViews v, ArrayView<float> gLoss, TweedieGeometry g)
    {
        if (g.Size > 0) _lossBackward((int)g.Size, v, gLoss, g.N, g.ImageElements); // CUDA rejects a grid of 0 blocks
    }

    private static float Residual(TweedieViews v, int i, int e) =>
        v.Coefficients[i * TweedieFusedRef.Columns + TweedieFusedRef.ScaleD] * v.D[e]
        + v.Coefficients[i * TweedieFusedRef.Columns + TweedieFusedRef.ScaleXt] * v.Xt[e] - v.Xtn[e];

    // One group per image: each thread sums a strided slice, then a tree over the group (fixed order: deterministic).
    private static void LossPerImageKernel(TweedieViews v, int size)
    {
        var partial = SharedMemory.Allocate<float>(GroupReduce.Width);
        int i = Grid.IdxX, t = Group.IdxX;
        float sum = 0;
        for (int j = t; j < size; j += Group.DimX)
        {
            float r = Residual(v, i, i * size + j);
            sum += r * r;
        }
        float total = GroupReduce.Sum(partial, sum);
        if (t == 0) v.Out[i] = v.Coefficients[i * TweedieFusedRef.Columns + TweedieFusedRef.Weight] * total;
    }

    // One group: loss = (1/N)·Σᵢ perImageᵢ.
    private static void LossMeanKernel(ArrayView<float> perImage, ArrayView<float> loss, int n)
    {
        var partial = SharedMemory.Allocate<float>(GroupReduce.Width);
        int t = Group.IdxX;
        float sum = 0;
        for (int i = t; i < n; i += Group.DimX) sum += perImage[i];
        float total = GroupReduce.Sum(partial, sum);
        if (t == 0) loss[0] = total / n;
    }

    private static void LossBackwardKernel(Index1D e, TweedieViews v, ArrayView<float> gLoss, int n, int size)
    {
        int i = e / size;
        float scale = 2f * v.Coefficients[i * TweedieFusedRef.Columns + TweedieFusedRef.Weight]
            * v.Coefficients[i * TweedieFusedRef.Columns + TweedieFusedRef.ScaleD] * gLoss[0] / n;
        v.Out[e] = scale * Residual(v, i, e);
    }
}
