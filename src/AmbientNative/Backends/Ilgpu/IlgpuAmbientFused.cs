using ILGPU;
using ILGPU.Runtime;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// The fused ambient passes (METHOD §2) in C#, the ILGPU twins of kernels/ambient_fused.cu so the two GPU paths can
/// be compared on the same op: the network input (noise, Ã-masking, c_in scaling and concatenation with the mask
/// channels in one pass), the loss (per-image sums in a fixed tree, then the λ-weighted mean), and its gradient.
/// </summary>
internal sealed class IlgpuAmbientFused
{
    private readonly int _groupSize;
    private readonly Action<Index1D, InputViews, AmbientArgs> _input;
    private readonly Action<KernelConfig, LossViews, AmbientArgs> _lossPerImage;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> _lossFinish;
    private readonly Action<Index1D, LossViews, ArrayView<float>, AmbientArgs> _lossBackward;

    public IlgpuAmbientFused(IlgpuRuntime runtime)
    {
        var acc = runtime.Accelerator;
        _groupSize = runtime.GroupSize;
        _input = acc.LoadAutoGroupedStreamKernel<Index1D, InputViews, AmbientArgs>(InputKernel);
        _lossPerImage = acc.LoadStreamKernel<LossViews, AmbientArgs>(LossPerImageKernel);
        _lossFinish = acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(LossFinishKernel);
        _lossBackward = acc.LoadAutoGroupedStreamKernel<Index1D, LossViews, ArrayView<float>, AmbientArgs>(LossBackwardKernel);
    }

    internal readonly record struct AmbientArgs(int N, int C, int MaskChannels, int InputMaskChannels, int Pixels, float SigmaData)
    {
        public static AmbientArgs Of(AmbientGeometry g, float sigmaData = 0) => new(g.N, g.C, g.MaskChannels, g.InputMaskChannels, g.Pixels, sigmaData);
    }

    internal readonly record struct InputViews(ArrayView<float> Y, ArrayView<float> Noise, ArrayView<float> Sigma,
        ArrayView<float> Mask, ArrayView<float> Masked, ArrayView<float> Input);

    /// <summary>D, y, the mask, λ per image, and the output: per-image partial sums (loss) or gD (backward).</summary>
    internal readonly record struct LossViews(ArrayView<float> D, ArrayView<float> Y, ArrayView<float> Mask,
        ArrayView<float> Weight, ArrayView<float> Out);

    public void Input(InputViews v, AmbientGeometry g, float sigmaData)
    {
        if (g.InputSize > 0) _input((int)g.InputSize, v, AmbientArgs.Of(g, sigmaData)); // CUDA rejects a grid of 0 blocks
    }

    /// <param name="perImage">Scratch of N floats: each image's Σ A⊙(D − y)².</param>
    public void Loss(ArrayView<float> d, ArrayView<float> y, ArrayView<float> mask, ArrayView<float> weight,
        ArrayView<float> perImage, ArrayView<float> loss, AmbientGeometry g)
    {
        _lossPerImage(new KernelConfig(g.N, _groupSize), new LossViews(d, y, mask, weight, perImage), AmbientArgs.Of(g));
        _lossFinish(new KernelConfig(1, _groupSize), perImage, weight, loss, g.N);
    }

    public void LossBackward(ArrayView<float> d, ArrayView<float> y, ArrayView<float> mask, ArrayView<float> weight,
        ArrayView<float> gLoss, ArrayView<float> gd, AmbientGeometry g)
    {
        if (g.ImageSize > 0) _lossBackward((int)g.ImageSize, new LossViews(d, y, mask, weight, gd), gLoss, AmbientArgs.Of(g));
    }

    // The mask element that gates image element (i, ch, p): one shared channel, or the matching one.
    private static int MaskIndex(AmbientArgs a, int i, int ch, int p) =>
        (i * a.MaskChannels + (a.MaskChannels == 1 ? 0 : ch)) * a.Pixels + p;

    // One thread per element of the network input [N, C + Ck, HW]: image channels write masked and the scaled input,
    // the trailing mask channels copy Ã.
    private static void InputKernel(Index1D k, InputViews v, AmbientArgs a)
    {
        int cin = a.C + a.InputMaskChannels;
        int p = k % a.Pixels, ch = k / a.Pixels % cin, i = k / (a.Pixels * cin);
        if (ch < a.C)
        {
            float s = v.Sigma[i];
            float cIn = 1f / MathF.Sqrt(s * s + a.SigmaData * a.SigmaData);
            int e = (i * a.C + ch) * a.Pixels + p;
            float masked = v.Mask[MaskIndex(a, i, ch, p)] * (v.Y[e] + s * v.Noise[e]);
            v.Masked[e] = masked;
            v.Input[k] = cIn * masked;
        }
        else
        {
            v.Input[k] = v.Mask[(i * a.MaskChannels + ch - a.C) * a.Pixels + p];
        }
    }

    // One group per image: each thread sums a strided slice, then a tree over the group (fixed order: deterministic).
    private static void LossPerImageKernel(LossViews v, AmbientArgs a)
    {
        var partial = SharedMemory.Allocate<float>(GroupReduce.Width);
        int i = Grid.IdxX, t = Group.IdxX, size = a.C * a.Pixels;
        float sum = 0;
        for (int j = t; j < size; j += Group.DimX)
        {
            int ch = j / a.Pixels, p = j % a.Pixels, e = i * size + j;
            float diff = v.D[e] - v.Y[e];
            sum += v.Mask[MaskIndex(a, i, ch, p)] * diff * diff;
        }
        float total = GroupReduce.Sum(partial, sum);
        if (t == 0) v.Out[i] = total;
    }

    // One group: loss = (1/N)·Σᵢ λᵢ·perImageᵢ.
    private static void LossFinishKernel(ArrayView<float> perImage, ArrayView<float> weight, ArrayView<float> loss, int n)
    {
        var partial = SharedMemory.Allocate<float>(GroupReduce.Width);
        int t = Group.IdxX;
        float sum = 0;
        for (int i = t; i < n; i += Group.DimX) sum += weight[i] * perImage[i];
        float total = GroupReduce.Sum(partial, sum);
        if (t == 0) loss[0] = total / n;
    }

    private static void LossBackwardKernel(Index1D e, LossViews v, ArrayView<float> gLoss, AmbientArgs a)
    {
        int size = a.C * a.Pixels, i = e / size, ch = e % size / a.Pixels, p = e % a.Pixels;
        float scale = 2f * v.Weight[i] * gLoss[0] / a.N;
        v.Out[e] = scale * v.Mask[MaskIndex(a, i, ch, p)] * (v.D[e] - v.Y[e]);
    }
}
