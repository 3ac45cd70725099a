using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>Sums, softmax, permute, concat/slice and resampling on CUDA against the float64 reference.</summary>
[Category("Gpu")]
public class CudaReduceShapeTests
{
    private const double Tol = 1e-4;

    // Rows (Inner = 1) and columns (Inner > 1), each short and long enough to be split into chunks, a whole-tensor
    // sum of a million elements, a size-1 axis.
    public static readonly AxisGeometry[] Sums =
    [
        new(1, 1_000_003, 1), new(7, 5000, 1), new(3, 11, 1), new(3, 11, 129), new(1, 20_000, 5), new(2, 1, 7), new(130, 4099, 3),
    ];

    [TestCaseSource(nameof(Sums))]
    public void Sum_and_its_backward_match_float64(AxisGeometry g)
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        var x = Gpu.F32(Rand.Uniform(rng, g.Numel, -0.5, 1.5)); // mean 0.5: no cancellation to 0 in long sums
        var gy = Gpu.F32(Rand.Normal(rng, g.Outer * g.Inner));
        double scale = 1.0 / g.Size;
        var y64 = new double[g.Outer * g.Inner];
        ReduceRef.Sum<double>(x, y64, g, (float)scale);
        var gx64 = new double[g.Numel];
        ReduceRef.SumBackward<double>(gy, gx64, g, (float)scale);
        Shape xs = new(g.Outer, g.Size, g.Inner), ys = new(g.Outer, g.Inner);
        using var xt = Gpu.Upload(x, xs, dev);
        using var gyt = Gpu.Upload(gy, ys, dev);
        using var y = Gpu.Poisoned(ys, dev);
        dev.Backend.Sum(xt, y, g, (float)scale);
        Check.Close(y.ToArray(), y64, Tol, $"sum {g}");
        using var gx = Gpu.Poisoned(xs, dev);
        dev.Backend.SumBackward(gyt, gx, g, (float)scale);
        Check.Close(gx.ToArray(), gx64, Tol, $"sum backward {g}");
    }

    [TestCase(11, 37)]
    [TestCase(5000, 70)]
    [TestCase(1, 5)]
    public void BroadcastRows_and_SumRows_match_float64(int rows, int n)
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        var bias = Gpu.F32(Rand.Normal(rng, n));
        var gy = Gpu.F32(Rand.Uniform(rng, rows * n, -0.5, 1.5));
        var y64 = new double[rows * n]; MatMulRef.BroadcastRows<double>(bias, y64);
        var gb64 = new double[n]; MatMulRef.SumRows<double>(gy, gb64);
        using var bt = Gpu.Upload(bias, new Shape(n), dev);
        using var gyt = Gpu.Upload(gy, new Shape(rows, n), dev);
        using var y = Gpu.Poisoned(new Shape(rows, n), dev);
        dev.Backend.BroadcastRows(bt, y);
        Check.Close(y.ToArray(), y64, Tol, "broadcast rows");
        using var gb = Gpu.Poisoned(new Shape(n), dev);
        dev.Backend.SumRows(gyt, gb);
        Check.Close(gb.ToArray(), gb64, Tol, "sum rows");
    }

    public static readonly int[][] SoftmaxShapes = [[3, 7], [2, 3, 5], [4, 1], [13], [64, 300], [5, 1025]];

    [TestCaseSource(nameof(SoftmaxShapes))]
    public void Softmax_and_its_backward_match_float64(int[] dims)
    {
        var dev = Gpu.Device();
        Shape s = dims;
        int n = s[-1];
        var rng = Rand.ForTest();
        var x = Gpu.F32(Rand.Normal(rng, s.Numel, 3));
        var gy = Gpu.F32(Rand.Normal(rng, s.Numel));
        var y64 = new double[s.Numel]; SoftmaxRef.Forward<double>(x, y64, n);
        var y32 = Gpu.F32(y64); // the backward reads the forward's float output
        var gx64 = new double[s.Numel]; SoftmaxRef.Backward<double>(y32, gy, gx64, n);
        using var xt = Gpu.Upload(x, s, dev);
        using var y = Gpu.Poisoned(s, dev);
        dev.Backend.Softmax(xt, y);
        Check.Close(y.ToArray(), y64, Tol, $"softmax {s}");
        using var yt = Gpu.Upload(y32, s, dev);
        using var gyt = Gpu.Upload(gy, s, dev);
        using var gx = Gpu.Poisoned(s, dev);
        dev.Backend.SoftmaxBackward(yt, gyt, gx);
        Check.Close(gx.ToArray(), gx64, Tol, $"softmax backward {s}");
    }

    public static readonly object[] Perms =
    [
        new object[] { new[] { 2, 3, 4, 5 }, new[] { 0, 2, 3, 1 } },
        new object[] { new[] { 4, 16, 37 }, new[] { 0, 2, 1 } },
        new object[] { new[] { 6, 1, 5 }, new[] { 2, 1, 0 } },
        new object[] { new[] { 1, 2, 1, 3 }, new[] { 3, 2, 1, 0 } },
        new object[] { new[] { 7 }, new[] { 0 } },
        new object[] { new[] { 2, 3, 4, 5, 6 }, new[] { 4, 0, 3, 1, 2 } },
        new object[] { new[] { 2, 3, 4, 5 }, new[] { 0, 1, 2, 3 } },
    ];

    [TestCaseSource(nameof(Perms))]
    public void Permute_matches_reference(int[] dims, int[] perm)
    {
        var dev = Gpu.Device();
        Shape s = dims, ps = perm.Select(p => dims[p]).ToArray();
        var x = Gpu.F32(Rand.Normal(Rand.ForTest(), s.Numel));
        var y64 = new double[s.Numel];
        ShapeRef.Permute<double>(x, s, perm, y64);
        using var xt = Gpu.Upload(x, s, dev);
        using var y = Gpu.Poisoned(ps, dev);
        dev.Backend.Permute(xt, y, perm);
        Assert.That(Check.ToDouble(y.ToArray()), Is.EqualTo(y64), $"permute {s} by [{string.Join(",", perm)}]");
    }

    public static readonly object[] Concats =
    [
        new object[] { 1, new[] { new[] { 2, 3, 4, 5 }, new[] { 2, 1, 4, 5 }, new[] { 2, 4, 4, 5 } } },
        new object[] { 0, new[] { new[] { 1, 3 }, new[] { 4, 3 } } },
        new object[] { 2, new[] { new[] { 2, 3, 1 }, new[] { 2, 3, 4 } } },
    ];

    [TestCaseSource(nameof(Concats))]
    public void Concat_slice_and_slice_backward_match_reference(int axis, int[][] shapes)
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        var parts = shapes.Select(s => Gpu.F32(Rand.Normal(rng, new Shape(s).Numel))).ToArray();
        var geoms = shapes.Select(s => AxisGeometry.Of(s, axis)).ToArray();
        int size = geoms.Sum(g => g.Size);
        var whole = shapes[0].ToArray(); whole[axis] = size;
        var y64 = new double[new Shape(whole).Numel];
        for (int t = 0, start = 0; t < parts.Length; start += geoms[t].Size, t++) ShapeRef.Insert<double>(parts[t], geoms[t], y64, size, start);

        var pt = parts.Select((p, t) => Gpu.Upload(p, shapes[t], dev)).ToArray();
        using var y = Gpu.Poisoned(whole, dev);
        dev.Backend.Concat(pt, y, axis);
        Assert.That(Check.ToDouble(y.ToArray()), Is.EqualTo(y64), "concat");

        for (int t = 0, start = 0; t < parts.Length; start += geoms[t].Size, t++)
        {
            using var s = Gpu.Poisoned(shapes[t], dev);
            dev.Backend.Slice(y, s, axis, start);
            Assert.That(Check.ToDouble(s.ToArray()), Is.EqualTo(parts[t]), $"slice {t}");
            using var g = Gpu.Poisoned(whole, dev);
            dev.Backend.SliceBackward(pt[t], g, axis, start);
            var g64 = new double[y64.Length];
            ShapeRef.Insert<double>(parts[t], geoms[t], g64, size, start);
            Assert.That(Check.ToDouble(g.ToArray()), Is.EqualTo(g64), $"slice backward {t}");

            // Added into an existing gradient: the part's range gains the part, the rest keeps its bits.
            var earlier = Gpu.F32(Rand.Normal(rng, y64.Length));
            using var acc = Gpu.Upload(earlier, whole, dev);
            dev.Backend.SliceBackwardAdd(pt[t], acc, axis, start);
            var want = earlier.Select((e, i) => (float)(e + g64[i])).ToArray(); // one float add each (the double sum is exact)
            Assert.That(acc.ToArray(), Is.EqualTo(want), $"slice backward added {t}");
        }
        foreach (var p in pt) p.Dispose();
    }

    public static readonly int[][] Images = [[1, 3, 4, 6], [2, 5, 5, 7], [3, 1, 2, 3], [1, 2, 7, 2], [2, 3, 33, 35], [2, 3, 1, 1]];

    [TestCaseSource(nameof(Images))]
    public void Resampling_matches_float64(int[] s)
    {
        var dev = Gpu.Device();
        var be = dev.Backend;
        var rng = Rand.ForTest();
        int planes = s[0] * s[1], h = s[2], w = s[3];
        Shape xs = s, up = new(s[0], s[1], 2 * h, 2 * w);
        var x = Gpu.F32(Rand.Normal(rng, xs.Numel));
        var gUp = Gpu.F32(Rand.Normal(rng, up.Numel));
        using var xt = Gpu.Upload(x, xs, dev);
        using var gUpT = Gpu.Upload(gUp, up, dev);

        var y64 = new double[up.Numel]; ResampleRef.Upsample2x<double>(x, y64, planes, h, w);
        using var y = Gpu.Poisoned(up, dev);
        be.Upsample2x(xt, y);
        Check.Close(y.ToArray(), y64, Tol, "upsample");
        var gx64 = new double[xs.Numel]; ResampleRef.Upsample2xBackward<double>(gUp, gx64, planes, h, w);
        using var gx = Gpu.Poisoned(xs, dev);
        be.Upsample2xBackward(gUpT, gx);
        Check.Close(gx.ToArray(), gx64, Tol, "upsample backward");

        if (h < 2 || w < 2) return;
        Shape down = new(s[0], s[1], h / 2, w / 2);
        var gDown = Gpu.F32(Rand.Normal(rng, down.Numel));
        using var gDownT = Gpu.Upload(gDown, down, dev);
        var p64 = new double[down.Numel]; ResampleRef.AvgPool2x<double>(x, p64, planes, h, w);
        using var p = Gpu.Poisoned(down, dev);
        be.AvgPool2x(xt, p);
        Check.Close(p.ToArray(), p64, Tol, "avgpool");
        var gp64 = new double[xs.Numel]; ResampleRef.AvgPool2xBackward<double>(gDown, gp64, planes, h, w);
        using var gp = Gpu.Poisoned(xs, dev);
        be.AvgPool2xBackward(gDownT, gp);
        Check.Close(gp.ToArray(), gp64, Tol, "avgpool backward");
    }
}
