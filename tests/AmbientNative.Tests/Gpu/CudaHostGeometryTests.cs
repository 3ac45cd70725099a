using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Backends.Cuda;
using AmbientNative.Tensors;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// The host-side halves of the CUDA kernels, which need no GPU, so CI checks them: the collapsed broadcast geometry
/// replayed with the kernels' index arithmetic (gather, grad_base and grad_step in kernels/elementwise.cu) against
/// <see cref="Broadcast"/>, and the split and tile choices.
/// </summary>
public class CudaHostGeometryTests
{
    private static readonly (int[] A, int[] B)[] Pairs =
    [
        ([2, 3, 4, 5], [2, 1, 1, 1]), ([2, 3, 4, 5], [1, 3, 1, 1]), ([1, 3, 2, 5], [3, 1, 1]), ([2, 3, 4, 5], [5]),
        ([3, 1, 5], [1, 4, 1]), ([1, 3, 1, 1], [2, 3, 4, 5]), ([7], []), ([2, 3, 5], [2, 3, 5]), ([], []),
        ([2, 1, 3, 1, 4], [1, 5, 3, 2, 1]), ([4, 8, 16, 16], [4, 8, 1, 1]), ([6, 1, 1], [1, 1, 1]),
    ];

    private static IEnumerable<TestCaseData> Cases() => Pairs.Select(p => new TestCaseData(p.A, p.B));

    [TestCaseSource(nameof(Cases))]
    public unsafe void Collapsed_broadcast_indexes_like_Broadcast(int[] aDims, int[] bDims)
    {
        Shape sa = aDims, sb = bDims, sy = Broadcast.ResultShape(sa, sb, "test");
        var p = CudaBackend.BroadcastGeometry(sa, sb, sy);
        var dims = new int[p.Rank]; var so = new int[p.Rank]; var ka = new int[p.Rank]; var kb = new int[p.Rank];
        for (int k = 0; k < p.Rank; k++) { dims[k] = p.Dims[k]; so[k] = p.So[k]; ka[k] = p.Sa[k]; kb[k] = p.Sb[k]; }
        Assert.That(dims.Aggregate(1, (x, d) => x * d), Is.EqualTo(sy.Numel), "collapsed dims keep the element count");
        int rank = p.Rank;
        if (sa == sb) Assert.That(rank, Is.EqualTo(1), "equal shapes collapse to one dimension");

        int Gather(int[] s, int o)
        {
            if (rank == 1) return o * s[0];
            int j = 0;
            for (int k = rank - 1; k >= 0; k--) { j += o % dims[k] * s[k]; o /= dims[k]; }
            return j;
        }
        var ma = new Broadcast(sa, sy);
        var mb = new Broadcast(sb, sy);
        for (int o = 0; o < sy.Numel; o++)
        {
            Assert.That(Gather(ka, o), Is.EqualTo(ma.InputIndex(o)), $"a read by output {o}");
            Assert.That(Gather(kb, o), Is.EqualTo(mb.InputIndex(o)), $"b read by output {o}");
        }

        // The backward's walk: for each element j of X, its fan outputs and the other operand's element at each.
        foreach (var (sx, sother, m, mOther, numel) in new[] { (ka, kb, ma, mb, sa.Numel), (kb, ka, mb, ma, sb.Numel) })
        {
            int fan = sy.Numel / numel;
            int[] red = Enumerable.Range(0, rank).Where(k => sx[k] == 0).ToArray();
            for (int j = 0; j < numel; j++)
            {
                int o0 = 0, y0 = 0;
                if (fan == 1) { o0 = j; y0 = Gather(sother, j); }
                else
                    for (int k = 0; k < rank; k++)
                        if (sx[k] != 0) { int c = j / sx[k] % dims[k]; o0 += c * so[k]; y0 += c * sother[k]; }
                var seen = new HashSet<int>();
                for (int r = 0; r < fan; r++)
                {
                    int o = 0, y = 0;
                    if (red.Length == 1) { o = r * so[red[0]]; y = r * sother[red[0]]; }
                    else
                    {
                        int rr = r;
                        for (int k = rank - 1; k >= 0; k--)
                            if (sx[k] == 0) { int c = rr % dims[k]; rr /= dims[k]; o += c * so[k]; y += c * sother[k]; }
                    }
                    Assert.That(m.InputIndex(o0 + o), Is.EqualTo(j), $"output {o0 + o} reads element {j}");
                    Assert.That(y0 + y, Is.EqualTo(mOther.InputIndex(o0 + o)), $"other operand at output {o0 + o}");
                    seen.Add(o0 + o);
                }
                Assert.That(seen, Has.Count.EqualTo(fan), $"element {j} reaches {fan} distinct outputs");
            }
        }
    }

    [Test]
    public void Sum_splits_cover_the_axis_and_fill_the_gpu()
    {
        foreach (var g in new AxisGeometry[] { new(1, 1_000_003, 1), new(7, 5000, 1), new(3, 11, 129), new(1, 20_000, 5), new(10_000, 300, 1), new(2, 1, 7) })
        {
            var (splits, chunk) = CudaBackend.SumSplits(g, 132);
            Assert.That((long)splits * chunk, Is.GreaterThanOrEqualTo(g.Size), $"{g}: chunks cover the axis");
            Assert.That((long)(splits - 1) * chunk, Is.LessThan(g.Size), $"{g}: no empty chunk");
        }
        Assert.That(CudaBackend.SumSplits(new(1, 1_000_003, 1), 132).Splits, Is.GreaterThan(100), "a whole-tensor sum spreads over the SMs");
        Assert.That(CudaBackend.SumSplits(new(10_000, 300, 1), 132).Splits, Is.EqualTo(1), "many rows need no split");
    }

    [Test]
    public void Gemm_takes_big_tiles_only_for_many_tiles_and_long_reductions()
    {
        Assert.That(CudaBackend.GemmTile(new GemmArgs(1, 2048, 2048, 2048), 132), Is.EqualTo(128));
        Assert.That(CudaBackend.GemmTile(new GemmArgs(64, 256, 256, 64, TransA: true), 132), Is.EqualTo(64), "short K");
        Assert.That(CudaBackend.GemmTile(new GemmArgs(64, 64, 256, 256, TransB: true), 132), Is.EqualTo(64), "too few big tiles");
        Assert.That(CudaBackend.GemmTile(new GemmArgs(1, 1, 1, 1), 132), Is.EqualTo(64));
    }
}
