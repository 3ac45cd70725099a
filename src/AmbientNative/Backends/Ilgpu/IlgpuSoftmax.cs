using ILGPU;
using ILGPU.Runtime;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// Softmax over the last dimension and its backward (the formulas of SoftmaxRef): one group per row, its threads
/// striding along the row, the row's maximum and sums taken by group trees (float, fixed order). Each thread
/// rescales only the elements it wrote, so the forward needs no barrier between writing exp and scaling it.
/// </summary>
internal sealed class IlgpuSoftmax
{
    private readonly int _groupSize;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int> _forward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> _backward;

    public IlgpuSoftmax(IlgpuRuntime runtime)
    {
        var acc = runtime.Accelerator;
        _groupSize = runtime.GroupSize;
        _forward = acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(ForwardKernel);
        _backward = acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(BackwardKernel);
    }

    /// <summary>y = softmax(x) over rows of length <paramref name="n"/>.</summary>
    public void Forward(ArrayView<float> x, ArrayView<float> y, int n)
    {
        int rows = Rows(y, n);
        if (rows > 0) _forward(new KernelConfig(rows, _groupSize), x, y, n);
    }

    /// <summary>gx = y ⊙ (gy − Σ gy·y) per row of length <paramref name="n"/>.</summary>
    public void Backward(ArrayView<float> y, ArrayView<float> gy, ArrayView<float> gx, int n)
    {
        int rows = Rows(gx, n);
        if (rows > 0) _backward(new KernelConfig(rows, _groupSize), y, gy, gx, n);
    }

    private static int Rows(ArrayView<float> v, int n) => n == 0 ? 0 : (int)(v.Length / n);

    private static void ForwardKernel(ArrayView<float> x, ArrayView<float> y, int n)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Width);
        int start = Grid.IdxX * n;
        float m = float.NegativeInfinity;
        for (int i = Group.IdxX; i < n; i += Group.DimX) m = MathF.Max(m, x[start + i]);
        m = GroupReduce.Max(scratch, m);
        float s = 0f;
        for (int i = Group.IdxX; i < n; i += Group.DimX)
        {
            float e = MathF.Exp(x[start + i] - m);
            y[start + i] = e;
            s += e;
        }
        float inv = 1f / GroupReduce.Sum(scratch, s);
        for (int i = Group.IdxX; i < n; i += Group.DimX) y[start + i] *= inv;
    }

    private static void BackwardKernel(ArrayView<float> y, ArrayView<float> gy, ArrayView<float> gx, int n)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.Width);
        int start = Grid.IdxX * n;
        float d = 0f;
        for (int i = Group.IdxX; i < n; i += Group.DimX) d += gy[start + i] * y[start + i];
        d = GroupReduce.Sum(scratch, d);
        for (int i = Group.IdxX; i < n; i += Group.DimX) gx[start + i] = y[start + i] * (gy[start + i] - d);
    }
}
