using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Backends.Cuda;
using AmbientNative.Tensors;
using AmbientNative.Tests.Ops;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>The CUDA SGEMM (both tile sizes, every transpose) and group norm against the float64 reference.</summary>
[Category("Gpu")]
public class CudaGemmGroupNormTests
{
    private const double Tol = 1e-4;

    // Sizes that cross both tiles' edges (64, 128) and BK (8, 16) in every dimension, batch 1, M or N = 1, several
    // batches; each with both block tiles, whichever GemmTile would choose.
    public static IEnumerable<TestCaseData> Gemms()
    {
        foreach (int tile in new[] { 64, 128 })
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        {
            yield return new TestCaseData(new GemmArgs(1, 1, 1, 1, ta, tb), tile);
            yield return new TestCaseData(new GemmArgs(3, 67, 45, 19, ta, tb, Alpha: 0.75f), tile);
            yield return new TestCaseData(new GemmArgs(2, 130, 129, 37, ta, tb), tile);
            yield return new TestCaseData(new GemmArgs(1, 1, 200, 17, ta, tb), tile);
            yield return new TestCaseData(new GemmArgs(5, 200, 150, 33, ta, tb, Alpha: 1.25f), tile);
        }
    }

    [TestCaseSource(nameof(Gemms))]
    public void Gemm_matches_float64_and_beta_zero_never_reads_c(GemmArgs g, int tile)
    {
        var dev = Gpu.Device();
        var be = CudaDevices.Backend(dev);
        var rng = Rand.ForTest();
        var a = Gpu.F32(Rand.Normal(rng, g.ASize));
        var b = Gpu.F32(Rand.Normal(rng, g.BSize));
        var c0 = Gpu.F32(Rand.Normal(rng, g.CSize));
        var c64 = new double[g.CSize];
        MatMulRef.Gemm<double>(a, b, c64, g);
        Shape sa = new(g.ASize), sb = new(g.BSize), sc = new(g.CSize);
        using var at = Gpu.Upload(a, sa, dev);
        using var bt = Gpu.Upload(b, sb, dev);
        using var c = Gpu.Poisoned(sc, dev); // Beta = 0: the NaNs must not leak in
        be.Gemm(at, bt, c, g, tile);
        Check.Close(c.ToArray(), c64, Tol, $"{g}, tile {tile}");

        var gb = g with { Beta = -0.5f };
        var cb64 = (double[])c0.Clone();
        MatMulRef.Gemm<double>(a, b, cb64, gb);
        using var cb = Gpu.Upload(c0, sc, dev);
        be.Gemm(at, bt, cb, gb, tile);
        Check.Close(cb.ToArray(), cb64, Tol, $"{gb}, tile {tile}");
    }

    [Test]
    public void Gemm_with_more_batches_than_one_grid_holds()
    {
        var dev = Gpu.Device();
        var g = new GemmArgs(65537, 2, 1, 3, TransB: true);
        var rng = Rand.ForTest();
        var a = Gpu.F32(Rand.Normal(rng, g.ASize));
        var b = Gpu.F32(Rand.Normal(rng, g.BSize));
        var c64 = new double[g.CSize];
        MatMulRef.Gemm<double>(a, b, c64, g);
        using var at = Gpu.Upload(a, new Shape(g.ASize), dev);
        using var bt = Gpu.Upload(b, new Shape(g.BSize), dev);
        using var c = Gpu.Poisoned(new Shape(g.CSize), dev);
        dev.Backend.Gemm(at, bt, c, g);
        Check.Close(c.ToArray(), c64, Tol, $"{g}");
    }

    // The CPU tests' awkward shapes plus U-Net-like ones: 32 groups of 2 and 4 channels at 32x32 and 8x8, an H*W below
    // the backward's minimum block, and groups wider than its per-barrier chunk of channels.
    public static IEnumerable<TestCaseData> GroupNorms() =>
        from a in GroupNormOpTests.Shapes.Concat([new GroupNormArgs(2, 64, 1024, 32, 1e-5f), new GroupNormArgs(3, 128, 64, 32, 1e-6f), new GroupNormArgs(2, 6, 35, 3, 1e-5f),
                // more samples than the parameter gradient's 8 slices (23: slices of 3, the last of 2), and channels
                // that leave the second 32-channel block partly empty
                new GroupNormArgs(23, 40, 9, 8, 1e-5f),
                // groups of more channels than the backward sums per barrier (16): 40 = 16 + 16 + 8, and 18 = 16 + 2
                new GroupNormArgs(2, 40, 9, 1, 1e-5f), new GroupNormArgs(1, 36, 256, 2, 1e-5f)])
        from silu in new[] { false, true }
        from v in new[] { (Affine: true, Shifted: false), (Affine: false, Shifted: false), (Affine: true, Shifted: true) }
        where !v.Shifted || a.ChannelsPerGroup > 1 // one channel per group normalizes the shift away: its gradient is 0
        select new TestCaseData(a with { Silu = silu }, v.Affine, v.Shifted);

    [TestCaseSource(nameof(GroupNorms))]
    public void GroupNorm_forward_and_backward_match_float64(GroupNormArgs a, bool affine, bool shifted)
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        var x = Gpu.F32(Rand.Normal(rng, a.Size, 2.0).Select(v => v + 0.7).ToArray());
        var w = affine ? Gpu.F32(Rand.Normal(rng, a.C)) : [];
        var b = affine ? Gpu.F32(Rand.Normal(rng, a.C)) : [];
        var shift = shifted ? Gpu.F32(Rand.Normal(rng, a.N * a.C, 3.0)) : [];
        var gy = Gpu.F32(Rand.Normal(rng, a.Size));
        var y64 = new double[a.Size];
        var mean64 = new double[a.StatsSize];
        var rstd64 = new double[a.StatsSize];
        GroupNormRef.Forward<double>(x, shift, w, b, y64, mean64, rstd64, a);
        var gx64 = new double[a.Size];
        var gs64 = new double[shift.Length];
        var gw64 = new double[w.Length];
        var gb64 = new double[b.Length];
        GroupNormRef.Backward<double>(x, shift, w, b, mean64, rstd64, gy, gx64, gs64, gw64, gb64, a);

        Shape xs = new(a.N, a.C, a.HW, 1), cs = new(a.C), ss = new(a.N, a.Groups), ns = new(a.N, a.C);
        using var xt = Gpu.Upload(x, xs, dev);
        using var st = shifted ? Gpu.Upload(shift, ns, dev) : null;
        using var wt = affine ? Gpu.Upload(w, cs, dev) : null;
        using var bt = affine ? Gpu.Upload(b, cs, dev) : null;
        using var gyt = Gpu.Upload(gy, xs, dev);
        using var y = Gpu.Poisoned(xs, dev);
        using var mean = Gpu.Poisoned(ss, dev);
        using var rstd = Gpu.Poisoned(ss, dev);
        dev.Backend.GroupNormForward(xt, st, wt, bt, y, mean, rstd, a);
        Check.Close(y.ToArray(), y64, Tol, "y");
        Check.Close(mean.ToArray(), mean64, Tol, "mean");
        Check.Close(rstd.ToArray(), rstd64, Tol, "rstd");

        using var gx = Gpu.Poisoned(xs, dev);
        using var gw = affine ? Gpu.Poisoned(cs, dev) : null;
        using var gb = affine ? Gpu.Poisoned(cs, dev) : null;
        using var gs = shifted ? Gpu.Poisoned(ns, dev) : null;
        dev.Backend.GroupNormBackward(xt, st, wt, bt, mean, rstd, gyt, gx, gs, gw, gb, a);
        Check.Close(gx.ToArray(), gx64, Tol, "gx");

        // AccumulateGx: gx += this op's gradient (x had one from another consumer); the shift's stays this op's own.
        var earlier = Gpu.F32(Rand.Normal(rng, a.Size));
        using var gxAcc = Gpu.Upload(earlier, xs, dev);
        using var gsAcc = shifted ? Gpu.Poisoned(ns, dev) : null;
        dev.Backend.GroupNormBackward(xt, st, wt, bt, mean, rstd, gyt, gxAcc, gsAcc, null, null, a with { AccumulateGx = true });
        Check.Close(gxAcc.ToArray(), earlier.Zip(gx64, (e, v) => e + v).ToArray(), Tol, "gx accumulated");
        if (shifted) Check.Close(gsAcc!.ToArray(), gs64, Tol, "gshift while accumulating gx");
        if (shifted)
        {
            Check.Close(gs!.ToArray(), gs64, Tol, "gshift");
            using var gsOnly = Gpu.Poisoned(ns, dev); // without gx: the kernel computes it but writes only the sums
            dev.Backend.GroupNormBackward(xt, st, wt, bt, mean, rstd, gyt, null, gsOnly, null, null, a);
            Check.Close(gsOnly.ToArray(), gs64, Tol, "gshift alone");
        }
        if (!affine) return;
        Check.Close(gw!.ToArray(), gw64, Tol, "gweight");
        Check.Close(gb!.ToArray(), gb64, Tol, "gbias");

        // Each output alone: the others' pointers are null.
        using var gxOnly = Gpu.Poisoned(xs, dev);
        dev.Backend.GroupNormBackward(xt, st, wt, bt, mean, rstd, gyt, gxOnly, null, null, null, a);
        Check.Close(gxOnly.ToArray(), gx64, Tol, "gx alone");
        using var gbOnly = Gpu.Poisoned(cs, dev);
        dev.Backend.GroupNormBackward(xt, st, wt, bt, mean, rstd, gyt, null, null, null, gbOnly, a);
        Check.Close(gbOnly.ToArray(), gb64, Tol, "gbias alone");
    }

    // Dropout in the forward's epilogue: the mask of DropoutRef exactly (Philox blocks of the whole tensor, also
    // when a group does not start on a block boundary), the kept values within float rounding of float64.
    [TestCase(2, 64, 256, 32)] // groups of 512: whole blocks per thread
    [TestCase(3, 6, 35, 3)]    // groups of 70: 70 % 4 != 0, each element draws its block
    [TestCase(2, 8, 3, 2)]     // groups of 12 of 3-pixel channels: whole blocks that straddle channels
    public void GroupNorm_with_dropout_masks_like_DropoutRef(int n, int c, int hw, int groups)
    {
        var dev = Gpu.Device();
        var a = new GroupNormArgs(n, c, hw, groups, 1e-5f, Silu: true);
        var rng = Rand.ForTest();
        var x = Gpu.F32(Rand.Normal(rng, a.Size, 2.0));
        var w = Gpu.F32(Rand.Normal(rng, a.C));
        var b = Gpu.F32(Rand.Normal(rng, a.C));
        var mask = new DropoutMask(0.25f, 123, 4567);
        var y64 = new double[a.Size]; var mean64 = new double[a.StatsSize]; var rstd64 = new double[a.StatsSize];
        GroupNormRef.Forward<double>(x, [], w, b, y64, mean64, rstd64, a);
        var masked64 = new double[a.Size];
        DropoutRef.Apply<double>(y64, masked64, mask.P, mask.Seed, mask.Counter);

        Shape xs = new(a.N, a.C, a.HW, 1), cs = new(a.C), ss = new(a.N, a.Groups);
        using var xt = Gpu.Upload(x, xs, dev);
        using var wt = Gpu.Upload(w, cs, dev);
        using var bt = Gpu.Upload(b, cs, dev);
        using var y = Gpu.Poisoned(xs, dev);
        using var mean = Gpu.Poisoned(ss, dev);
        using var rstd = Gpu.Poisoned(ss, dev);
        dev.Backend.GroupNormForward(xt, null, wt, bt, y, mean, rstd, a with { Dropout = mask });
        var got = y.ToArray();
        for (int i = 0; i < a.Size; i++)
            Assert.That(got[i] == 0f, Is.EqualTo(masked64[i] == 0), $"element {i}: dropped on one side only");
        Check.Close(got, masked64, Tol, "masked y");
    }

    // Through the tape: x already has a gradient (from 3·x, recorded later) when GroupNorm's backward runs, so the
    // backward adds into it and no axpy is launched; the sum matches float64.
    [Test]
    public void GroupNorm_adds_into_an_existing_gradient_without_an_axpy()
    {
        var dev = Gpu.Device();
        var be = CudaDevices.Backend(dev);
        var a = new GroupNormArgs(2, 8, 9, 4, 1e-5f, Silu: true);
        var rng = Rand.ForTest();
        var x = Gpu.F32(Rand.Normal(rng, a.Size, 2.0));
        var gy = Gpu.F32(Rand.Normal(rng, a.Size));
        var g3 = Gpu.F32(Rand.Normal(rng, a.Size));
        var y64 = new double[a.Size]; var mean64 = new double[a.StatsSize]; var rstd64 = new double[a.StatsSize];
        GroupNormRef.Forward<double>(x, [], [], [], y64, mean64, rstd64, a);
        var gx64 = new double[a.Size];
        GroupNormRef.Backward<double>(x, [], [], [], mean64, rstd64, gy, gx64, [], [], [], a);
        for (int i = 0; i < a.Size; i++) gx64[i] += 3 * g3[i];

        Shape xs = new(a.N, a.C, a.HW, 1);
        using var tape = new Tape();
        using var xt = Gpu.Upload(x, xs, dev).RequireGrad();
        var y = Ops_.GroupNormSilu(xt, a.Groups);
        var z = xt * 3f;
        using var seedZ = Gpu.Upload(g3, xs, dev);
        using var seedY = Gpu.Upload(gy, xs, dev);
        be.KernelTimes = new();
        try
        {
            tape.Backward(z, seedZ);
            tape.Backward(y, seedY);
            Assert.That(be.KernelTimes.Keys, Does.Contain("groupnorm_backward"));
            Assert.That(be.KernelTimes.Keys, Has.None.EqualTo("axpy"), "GroupNorm's gradient should be added in place");
        }
        finally { be.KernelTimes = null; }
        Check.Close(xt.Grad!.ToArray(), gx64, Tol, "accumulated grad x");
    }
}
