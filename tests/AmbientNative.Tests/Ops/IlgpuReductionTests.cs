using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// The ILGPU reduction kernels (group norm, softmax, axis sums, the optimizer's Σx² and finiteness check) called
/// directly on the ILGPU CPU accelerator's backend, at sizes that stress the group logic: rows and groups longer
/// than one group of threads and not multiples of it, batch 1, odd channel counts. Outputs are poisoned with NaN
/// first, so an element a kernel forgets to write fails the comparison; the references run in float64 on the same
/// float inputs. Sizes stay small: the CPU accelerator is an emulator, and each grouped launch is costly there.
/// </summary>
public class IlgpuReductionTests
{
    private static IBackend B => Device.CpuIlgpu.Backend;

    private static float[] Normal(Rng rng, int n, double std = 1, double shift = 0) =>
        Check.ToFloat(Rand.Normal(rng, n, std).Select(v => v + shift).ToArray());

    private static Tensor T(float[] data, Shape s) => Tensor.FromArray(data, s, Device.CpuIlgpu);
    private static Tensor Poisoned(Shape s) => T(Rand.Poison(s.Numel), s);

    public sealed record GnCase(GroupNormArgs A, bool Affine, bool Gx, bool Gw, bool Gb)
    {
        public override string ToString() =>
            $"{A.N}x{A.C}x{A.HW} G{A.Groups}{(A.Silu ? " silu" : "")}{(Affine ? " affine" : "")} grads:{(Gx ? " x" : "")}{(Gw ? " w" : "")}{(Gb ? " b" : "")}";
    }

    public static readonly GnCase[] GnCases =
    [
        new(new(1, 3, 67, 1, 1e-5f, Silu: true), true, true, true, true),    // batch 1, 201 elements per group
        new(new(2, 6, 45, 3, 1e-5f), true, false, true, true),                // 90 per group (< one group), no gx
        new(new(3, 10, 13, 5, 1e-3f, Silu: true), false, true, false, false), // no affine, gx only
        new(new(2, 7, 150, 7, 1e-5f), true, true, false, true),               // a channel per group, longer than 128
    ];

    [TestCaseSource(nameof(GnCases))]
    public void GroupNorm_matches_the_reference(GnCase k)
    {
        var a = k.A;
        var rng = Rand.ForTest();
        var x = Normal(rng, a.Size, 2, 0.7);
        var w = k.Affine ? Normal(rng, a.C) : [];
        var b = k.Affine ? Normal(rng, a.C) : [];
        var gy = Normal(rng, a.Size);

        double[] x64 = Check.ToDouble(x), w64 = Check.ToDouble(w), b64 = Check.ToDouble(b), gy64 = Check.ToDouble(gy);
        var y64 = new double[a.Size];
        double[] mean64 = new double[a.StatsSize], rstd64 = new double[a.StatsSize];
        GroupNormRef.Forward<double>(x64, default, w64, b64, y64, mean64, rstd64, a);
        double[] gx64 = new double[a.Size], gw64 = new double[a.C], gb64 = new double[a.C];
        GroupNormRef.Backward<double>(x64, default, w64, b64, mean64, rstd64, gy64, gx64, default, gw64, gb64, a);

        Shape xs = new(a.N, a.C, a.HW, 1), cs = new(a.C), stats = new(a.N, a.Groups);
        using var xt = T(x, xs);
        using var gyt = T(gy, xs);
        using var wt = k.Affine ? T(w, cs) : null;
        using var bt = k.Affine ? T(b, cs) : null;
        using Tensor y = Poisoned(xs), mean = Poisoned(stats), rstd = Poisoned(stats);
        using var gx = k.Gx ? Poisoned(xs) : null;
        using var gw = k.Gw ? Poisoned(cs) : null;
        using var gb = k.Gb ? Poisoned(cs) : null;

        B.GroupNormForward(xt, null, wt, bt, y, mean, rstd, a);
        Check.Close(y.ToArray(), y64, 1e-5, "y");
        Check.Close(mean.ToArray(), mean64, 1e-5, "mean");
        Check.Close(rstd.ToArray(), rstd64, 1e-5, "rstd");

        B.GroupNormBackward(xt, null, wt, bt, mean, rstd, gyt, gx, null, gw, gb, a);
        if (gx != null) Check.Close(gx.ToArray(), gx64, 1e-5, "gx");
        if (gw != null) Check.Close(gw.ToArray(), gw64, 1e-5, "gweight");
        if (gb != null) Check.Close(gb.ToArray(), gb64, 1e-5, "gbias");
    }

    // Rows of 300 span three strides of a 128-thread group; 129 leaves one thread a second element; 1 is a single
    // element per row (softmax 1, gradient 0 up to rounding: compared as part of the whole).
    public static readonly int[][] SoftmaxShapes = [[3, 300], [2, 129], [5, 1, 7], [1, 1]];

    [TestCaseSource(nameof(SoftmaxShapes))]
    public void Softmax_matches_the_reference(int[] dims)
    {
        Shape s = dims;
        int n = s[-1];
        var rng = Rand.ForTest();
        var x = Normal(rng, s.Numel, 3);
        var gy = Normal(rng, s.Numel);
        var y64 = new double[s.Numel];
        SoftmaxRef.Forward<double>(Check.ToDouble(x), y64, n);

        using var xt = T(x, s);
        using Tensor y = Poisoned(s), gx = Poisoned(s);
        B.Softmax(xt, y);
        Check.Close(y.ToArray(), y64, 1e-5, "softmax");

        // The backward from the kernel's own y, so the comparison isolates the backward kernel.
        var yk = y.ToArray();
        var gx64 = new double[s.Numel];
        SoftmaxRef.Backward<double>(Check.ToDouble(yk), Check.ToDouble(gy), gx64, n);
        using var gyt = T(gy, s);
        B.SoftmaxBackward(y, gyt, gx);
        if (n == 1) Assert.That(gx.ToArray(), Is.All.EqualTo(0f), "a one-element row has no gradient");
        else Check.Close(gx.ToArray(), gx64, 1e-5, "softmax backward");
    }

    public static readonly object[] SumCases =
    [
        new object[] { new AxisGeometry(1, 1001, 1), 1f },         // whole tensor, one long row
        new object[] { new AxisGeometry(3, 257, 1), 1f / 257 },    // per-row means, rows of 2 strides + 1
        new object[] { new AxisGeometry(2, 5, 7), 0.37f },         // a middle axis: one thread per output
        new object[] { new AxisGeometry(1, 1, 9), 1f },            // a size-1 axis
    ];

    [TestCaseSource(nameof(SumCases))]
    public void Sum_and_its_backward_match_the_reference(AxisGeometry g, float scale)
    {
        var rng = Rand.ForTest();
        var x = Normal(rng, g.Numel, 1, 0.3);
        var gy = Normal(rng, g.Outer * g.Inner);
        var y64 = new double[g.Outer * g.Inner];
        ReduceRef.Sum<double>(Check.ToDouble(x), y64, g, scale);
        var gx64 = new double[g.Numel];
        ReduceRef.SumBackward<double>(Check.ToDouble(gy), gx64, g, scale);

        Shape xs = new(g.Outer, g.Size, g.Inner), ys = new(g.Outer, g.Inner);
        using var xt = T(x, xs);
        using var gyt = T(gy, ys);
        using Tensor y = Poisoned(ys), gx = Poisoned(xs);
        B.Sum(xt, y, g, scale);
        Check.Close(y.ToArray(), y64, 1e-5, "sum");
        B.SumBackward(gyt, gx, g, scale);
        Check.Close(gx.ToArray(), gx64, 1e-5, "sum backward");
    }

    // One element; exactly one group's worth of elements (128·8) plus one, so the last partial holds a single one;
    // several partials.
    [TestCase(1)]
    [TestCase(1025)]
    [TestCase(5003)]
    public void SumOfSquares_matches_the_reference_in_double(int n)
    {
        var x = Normal(Rand.ForTest(), n, 2);
        using var xt = T(x, new Shape(n));
        double expected = OptimRef.SumOfSquares<float>(x);
        // Both sides add float64 squares, in different orders: they agree far beyond what a float sum would give.
        Check.Close([B.SumOfSquares(xt)], [expected], 1e-12, "Σx²");
    }

    [TestCase(1, 0)]
    [TestCase(1025, 1024)]  // the last element, alone in the last partial
    [TestCase(5003, 2222)]
    public void AllFinite_finds_a_planted_NaN_or_Inf(int n, int at)
    {
        var x = Normal(Rand.ForTest(), n);
        x[n / 2] = 3e38f; // finite, though its square overflows float
        using (var clean = T(x, new Shape(n)))
            Assert.That(B.AllFinite(clean), Is.True, "all finite");
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var xb = (float[])x.Clone();
            xb[at] = bad;
            using var t = T(xb, new Shape(n));
            Assert.That(B.AllFinite(t), Is.False, $"{bad} at {at} of {n}");
        }
    }
}
