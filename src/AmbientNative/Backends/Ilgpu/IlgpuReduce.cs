using ILGPU;
using ILGPU.Runtime;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// Sums along an axis (x seen as [Outer, Size, Inner], see <see cref="AxisGeometry"/>) and their backward, and the
/// optimizer's whole-tensor reductions (Σ x², count of non-finite elements). Sums accumulate in double, as the
/// reference does, so a long float reduction is exact to its last rounding; every order is fixed (in-order loops,
/// group trees), so results are reproducible.
/// </summary>
internal sealed class IlgpuReduce
{
    /// <summary>Elements each thread of a partials group handles, at least, before the group's tree.</summary>
    private const int PerThread = 8;
    /// <summary>At most this many groups (and partials for the host to add) per whole-tensor reduction.</summary>
    private const int MaxPartials = 1024;

    private readonly int _groupSize;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, SumArgs> _sumRows;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, SumArgs> _sumColumns;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, SumArgs> _sumBackward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<double>, PartialArgs> _partials;

    public IlgpuReduce(IlgpuRuntime runtime)
    {
        var acc = runtime.Accelerator;
        _groupSize = runtime.GroupSize;
        _sumRows = acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, SumArgs>(SumRowsKernel);
        _sumColumns = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, SumArgs>(SumColumnsKernel);
        _sumBackward = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, SumArgs>(SumBackwardKernel);
        _partials = acc.LoadStreamKernel<ArrayView<float>, ArrayView<double>, PartialArgs>(PartialsKernel);
    }

    /// <summary>y[o, i] = scale·Σₖ x[o, k, i].</summary>
    public void Sum(ArrayView<float> x, ArrayView<float> y, AxisGeometry g, float scale)
    {
        if (g.Outer * g.Inner == 0) return;
        var args = new SumArgs(g.Outer, g.Size, g.Inner, scale);
        // Contiguous rows (whole-tensor and per-sample sums) get a group each, its threads striding along the row;
        // otherwise neighbouring threads own neighbouring outputs and walk the axis in order (coalesced reads).
        if (g.Inner == 1) _sumRows(new KernelConfig(g.Outer, _groupSize), x, y, args);
        else _sumColumns(g.Outer * g.Inner, x, y, args);
    }

    /// <summary>gx[o, k, i] = scale·gy[o, i].</summary>
    public void SumBackward(ArrayView<float> gy, ArrayView<float> gx, AxisGeometry g, float scale)
    {
        if (g.Numel == 0) return;
        _sumBackward(g.Numel, gy, gx, new SumArgs(g.Outer, g.Size, g.Inner, scale));
    }

    /// <summary>How many partials <see cref="Partials"/> writes for <paramref name="n"/> elements (≥ 1).</summary>
    public int PartialCount(long n) =>
        (int)Math.Clamp((n + (long)_groupSize * PerThread - 1) / ((long)_groupSize * PerThread), 1, MaxPartials);

    /// <summary>
    /// partials[b] = Σ over the b-th contiguous chunk of x of x² (<see cref="PartialKind.SumOfSquares"/>) or of
    /// 1 per NaN/±Inf (<see cref="PartialKind.NonFinite"/>), in double; the caller adds the partials in order.
    /// </summary>
    public void Partials(PartialKind kind, ArrayView<float> x, ArrayView<double> partials)
    {
        int p = (int)partials.Length;
        int chunk = (int)((x.Length + p - 1) / p);
        _partials(new KernelConfig(p, _groupSize), x, partials, new PartialArgs((int)x.Length, chunk, (int)kind));
    }

    internal enum PartialKind { SumOfSquares, NonFinite }

    internal readonly record struct SumArgs(int Outer, int Size, int Inner, float Scale);
    internal readonly record struct PartialArgs(int N, int Chunk, int Kind);

    private static void SumRowsKernel(ArrayView<float> x, ArrayView<float> y, SumArgs a)
    {
        var scratch = SharedMemory.Allocate<double>(GroupReduce.Width);
        int row = Grid.IdxX;
        int start = row * a.Size;
        double s = 0;
        for (int k = Group.IdxX; k < a.Size; k += Group.DimX) s += x[start + k];
        s = GroupReduce.Sum(scratch, s);
        if (Group.IdxX == 0) y[row] = (float)(a.Scale * s);
    }

    private static void SumColumnsKernel(Index1D t, ArrayView<float> x, ArrayView<float> y, SumArgs a)
    {
        int o = t / a.Inner, i = t - o * a.Inner;
        int start = o * a.Size * a.Inner + i;
        double s = 0;
        for (int k = 0; k < a.Size; k++) s += x[start + k * a.Inner];
        y[t] = (float)(a.Scale * s);
    }

    private static void SumBackwardKernel(Index1D t, ArrayView<float> gy, ArrayView<float> gx, SumArgs a)
    {
        int plane = a.Size * a.Inner;
        int o = t / plane, i = t % a.Inner;
        gx[t] = a.Scale * gy[o * a.Inner + i];
    }

    private static void PartialsKernel(ArrayView<float> x, ArrayView<double> partials, PartialArgs a)
    {
        var scratch = SharedMemory.Allocate<double>(GroupReduce.Width);
        int b = Grid.IdxX;
        int start = b * a.Chunk, end = Math.Min(a.N, start + a.Chunk);
        double s = 0;
        for (int k = start + Group.IdxX; k < end; k += Group.DimX)
        {
            float v = x[k];
            if (a.Kind == (int)PartialKind.SumOfSquares) s += (double)v * v;
            // An all-ones exponent is NaN or ±Inf; a bit test, because x − x tricks may be folded by a compiler.
            else if ((Interop.FloatAsInt(v) & 0x7F800000u) == 0x7F800000u) s += 1;
        }
        s = GroupReduce.Sum(scratch, s);
        if (Group.IdxX == 0) partials[b] = s;
    }
}
