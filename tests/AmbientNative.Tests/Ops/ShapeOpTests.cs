using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>Permute / transpose, concat / slice / split and reshape. Pure data movement, so float32 must match exactly.</summary>
public class ShapeOpTests
{
    private static readonly Device[] Devices = [Device.CpuReference, Device.Cpu];

    // ---- permute ------------------------------------------------------------------------------------------

    public static readonly object[] Perms =
    [
        new object[] { new[] { 2, 3, 4 }, new[] { 2, 0, 1 } },
        new object[] { new[] { 2, 3, 4, 5 }, new[] { 0, 2, 3, 1 } },  // NCHW → NHWC
        new object[] { new[] { 3, 5 }, new[] { 1, 0 } },
        new object[] { new[] { 1, 2, 1, 3 }, new[] { 3, 2, 1, 0 } },
        new object[] { new[] { 4 }, new[] { 0 } },
    ];

    private static Shape Permuted(Shape s, int[] perm) => new(perm.Select(p => s[p]).ToArray());

    private static double[] PermuteRef(double[] x, Shape s, int[] perm)
    {
        var y = new double[x.Length];
        ShapeRef.Permute<double>(x, s, perm, y);
        return y;
    }

    [TestCaseSource(nameof(Perms))]
    public void Permute_gradient_matches_finite_differences_in_float64(int[] dims, int[] perm)
    {
        Shape s = dims;
        var x = Rand.Normal(Rand.ForTest(), s.Numel);
        GradCheck.Run(v => PermuteRef(v[0], s, perm),
            (v, g) => [PermuteRef(g, Permuted(s, perm), ShapeRef.Inverse(perm))], [x], what: $"{s} {string.Join(",", perm)}");
    }

    [TestCaseSource(nameof(Perms))]
    public void Permute_float32_matches_float64(int[] dims, int[] perm)
    {
        Shape s = dims;
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, s.Numel);
        var g = Rand.Normal(rng, s.Numel);
        var y64 = PermuteRef(x, s, perm);
        var gx64 = PermuteRef(g, Permuted(s, perm), ShapeRef.Inverse(perm));
        foreach (var device in Devices)
        {
            using var tape = new Tape();
            using var xt = Tensor.FromArray(Check.ToFloat(x), s, device).RequireGrad();
            var yt = Ops_.Permute(xt, perm);
            Assert.That(yt.Shape, Is.EqualTo(Permuted(s, perm)));
            Assert.That(yt.ToArray(), Is.EqualTo(Check.ToFloat(y64)), $"forward on {device}");
            tape.Backward(yt, Tensor.FromArray(Check.ToFloat(g), yt.Shape, device));
            Assert.That(xt.Grad!.ToArray(), Is.EqualTo(Check.ToFloat(gx64)), $"backward on {device}");
        }
    }

    [Test]
    public void Transpose_swaps_two_axes()
    {
        using var x = Tensor.Randn(new Shape(2, 3, 4), Rand.ForTest());
        using var t = Ops_.Transpose(x, -1, 0);
        Assert.That(t.Shape, Is.EqualTo(new Shape(4, 3, 2)));
        var xs = x.ToArray(); var ts = t.ToArray();
        for (int a = 0; a < 2; a++) for (int b = 0; b < 3; b++) for (int c = 0; c < 4; c++)
            Assert.That(ts[(c * 3 + b) * 2 + a], Is.EqualTo(xs[(a * 3 + b) * 4 + c]));
    }

    // ---- concat / slice / split ---------------------------------------------------------------------------

    public static readonly object[] Concats =
    [
        new object[] { 1, new[] { new[] { 2, 3, 4, 5 }, new[] { 2, 1, 4, 5 }, new[] { 2, 2, 4, 5 } } },  // U-Net skip: channels
        new object[] { 0, new[] { new[] { 1, 3 }, new[] { 4, 3 } } },
        new object[] { -1, new[] { new[] { 2, 3, 1 }, new[] { 2, 3, 4 } } },
        new object[] { 2, new[] { new[] { 1, 2, 3, 2 }, new[] { 1, 2, 1, 2 }, new[] { 1, 2, 2, 2 } } },
        new object[] { 0, new[] { new[] { 5 } } },
    ];

    private static (AxisGeometry[] G, int Size) Layout(int[][] shapes, int axis) =>
        (shapes.Select(s => AxisGeometry.Of(s, axis)).ToArray(), shapes.Sum(s => new Shape(s)[axis]));

    private static double[] ConcatRef(double[][] parts, int[][] shapes, int axis)
    {
        var (g, size) = Layout(shapes, axis);
        var y = new double[g.Sum(p => p.Numel)];
        for (int t = 0, start = 0; t < parts.Length; start += g[t].Size, t++) ShapeRef.Insert<double>(parts[t], g[t], y, size, start);
        return y;
    }

    private static double[][] ConcatBackwardRef(double[] gy, int[][] shapes, int axis)
    {
        var (g, size) = Layout(shapes, axis);
        var gx = g.Select(p => new double[p.Numel]).ToArray();
        for (int t = 0, start = 0; t < gx.Length; start += g[t].Size, t++) ShapeRef.Extract<double>(gy, size, start, gx[t], g[t]);
        return gx;
    }

    [TestCaseSource(nameof(Concats))]
    public void Concat_gradient_matches_finite_differences_in_float64(int axis, int[][] shapes)
    {
        var rng = Rand.ForTest();
        var parts = shapes.Select(s => Rand.Normal(rng, new Shape(s).Numel)).ToArray();
        GradCheck.Run(v => ConcatRef(v, shapes, axis), (v, g) => ConcatBackwardRef(g, shapes, axis), parts, what: $"axis {axis}");
    }

    [TestCaseSource(nameof(Concats))]
    public void Concat_and_split_float32_match_float64(int axis, int[][] shapes)
    {
        var rng = Rand.ForTest();
        var parts = shapes.Select(s => Rand.Normal(rng, new Shape(s).Numel)).ToArray();
        var y64 = ConcatRef(parts, shapes, axis);
        var g = Rand.Normal(rng, y64.Length);
        var gx64 = ConcatBackwardRef(g, shapes, axis);
        foreach (var device in Devices)
        {
            using var tape = new Tape();
            var xs = parts.Select((p, t) => Tensor.FromArray(Check.ToFloat(p), shapes[t], device).RequireGrad()).ToArray();
            var yt = Ops_.Concat(axis, xs);
            Assert.That(yt.ToArray(), Is.EqualTo(Check.ToFloat(y64)), $"concat forward on {device}");
            tape.Backward(yt, Tensor.FromArray(Check.ToFloat(g), yt.Shape, device));
            for (int t = 0; t < xs.Length; t++)
                Assert.That(xs[t].Grad!.ToArray(), Is.EqualTo(Check.ToFloat(gx64[t])), $"concat grad {t} on {device}");

            // Split is the inverse: pieces equal the parts, and their gradients reassemble into x's.
            using var whole = Tensor.FromArray(Check.ToFloat(y64), yt.Shape, device).RequireGrad();
            var sizes = shapes.Select(s => new Shape(s)[axis]).ToArray();
            var pieces = Ops_.Split(whole, axis, sizes);
            for (int t = 0; t < pieces.Length; t++)
            {
                Assert.That(pieces[t].ToArray(), Is.EqualTo(Check.ToFloat(parts[t])), $"split piece {t} on {device}");
                tape.Backward(pieces[t], Tensor.FromArray(Check.ToFloat(gx64[t]), pieces[t].Shape, device));
            }
            Assert.That(whole.Grad!.ToArray(), Is.EqualTo(Check.ToFloat(g)), $"split grad on {device}");
            foreach (var x in xs) x.Dispose();
        }
    }

    // The pieces of a split whose input already has a gradient add into their parts of it (SliceBackwardAdd): the
    // result is that gradient plus the pieces' gradients, one float add per element, outside them untouched.
    [Test]
    public void Split_pieces_add_into_an_existing_gradient()
    {
        var rng = Rand.ForTest();
        Shape shape = new(2, 6, 3);
        var x = Rand.Normal(rng, shape.Numel); var gOther = Rand.Normal(rng, shape.Numel);
        int[] sizes = [1, 3, 2];
        foreach (var device in Devices)
        {
            using var tape = new Tape();
            using var xt = Tensor.FromArray(Check.ToFloat(x), shape, device).RequireGrad();
            var pieces = Ops_.Split(xt, 1, sizes);
            var other = xt * 1f; // recorded after the split: its gradient reaches x first
            tape.Backward(other, Tensor.FromArray(Check.ToFloat(gOther), shape, device));
            var gPieces = new float[shape.Numel];
            foreach (int t in new[] { 2, 0 }) // piece 1 gets no gradient: its part keeps the earlier gradient's bits
            {
                var g = Check.ToFloat(Rand.Normal(rng, pieces[t].Numel));
                tape.Backward(pieces[t], Tensor.FromArray(g, pieces[t].Shape, device));
                int start = sizes.Take(t).Sum();
                for (int o = 0; o < 2; o++)
                    for (int k = 0; k < sizes[t]; k++)
                        for (int i = 0; i < 3; i++)
                            gPieces[(o * 6 + start + k) * 3 + i] = g[(o * sizes[t] + k) * 3 + i];
            }
            var want = Check.ToFloat(gOther).Select((v, i) => v + gPieces[i]).ToArray();
            Assert.That(xt.Grad!.ToArray(), Is.EqualTo(want), $"on {device}");
        }
    }

    [Test]
    public void Slice_gradient_is_zero_outside_the_slice()
    {
        using var tape = new Tape();
        using var x = Tensor.Randn(new Shape(2, 5), Rand.ForTest()).RequireGrad();
        var y = Ops_.Slice(x, 1, 1, 3);
        Assert.That(y.ToArray(), Is.EqualTo(x.ToArray().Where((_, i) => i % 5 is >= 1 and <= 3).ToArray()));
        tape.Backward(y, Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3));
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 0f, 1f, 2f, 3f, 0f, 0f, 4f, 5f, 6f, 0f }));
    }

    // ---- reshape ------------------------------------------------------------------------------------------

    [Test]
    public void Reshape_is_a_view_and_its_gradient_is_reshaped_back()
    {
        var rng = Rand.ForTest();
        using var tape = new Tape();
        using var x = Tensor.Randn(new Shape(2, 3, 4), rng).RequireGrad();
        var y = Ops_.Reshape(x, 6, -1);
        Assert.That(y.Shape, Is.EqualTo(new Shape(6, 4)));
        Assert.That(y.Storage, Is.SameAs(x.Storage), "reshape must not copy");
        var g = Check.ToFloat(Rand.Normal(rng, 24));
        tape.Backward(y, Tensor.FromArray(g, y.Shape));
        Assert.That(x.Grad!.Shape, Is.EqualTo(x.Shape));
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(g));
        tape.Dispose();
        Assert.That(x.Storage.IsReleased, Is.False, "disposing the view must leave x alive");
        Assert.That(x.ToArray(), Has.Length.EqualTo(24));
    }

    // ---- errors -------------------------------------------------------------------------------------------

    [Test]
    public void Bad_shapes_are_clear_errors()
    {
        var rng = Rand.ForTest();
        using var a = Tensor.Randn(new Shape(2, 3, 4), rng);
        using var b = Tensor.Randn(new Shape(2, 5, 5), rng);

        var e = Assert.Throws<ArgumentException>(() => Ops_.Concat(1, a, b))!;
        Assert.That(e.Message, Does.Contain("concat").And.Contain("[2, 3, 4]").And.Contain("[2, 5, 5]"));
        e = Assert.Throws<ArgumentException>(() => Ops_.Split(a, 1, [1, 1]))!;
        Assert.That(e.Message, Does.Contain("split").And.Contain("[2, 3, 4]"));
        e = Assert.Throws<ArgumentException>(() => Ops_.Permute(a, 0, 0, 1))!;
        Assert.That(e.Message, Does.Contain("permute").And.Contain("[2, 3, 4]"));
        Assert.Throws<ArgumentException>(() => Ops_.Permute(a, 0, 1));
        Assert.Throws<ArgumentException>(() => Ops_.Permute(a, 0, 1, 3));
        e = Assert.Throws<ArgumentException>(() => Ops_.Reshape(a, new Shape(5, 5)))!;
        Assert.That(e.Message, Does.Contain("reshape").And.Contain("[2, 3, 4]").And.Contain("[5, 5]"));
        Assert.Throws<ArgumentException>(() => Ops_.Reshape(a, -1, -1));
        Assert.Throws<ArgumentException>(() => Ops_.Reshape(a, 5, -1));
        e = Assert.Throws<ArgumentException>(() => Ops_.Slice(a, 2, 3, 2))!;
        Assert.That(e.Message, Does.Contain("slice").And.Contain("[2, 3, 4]"));
        Assert.Throws<ArgumentException>(() => Ops_.Concat(0));
    }
}
