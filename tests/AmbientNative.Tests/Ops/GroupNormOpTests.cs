using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Training;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

public class GroupNormOpTests
{
    private static readonly Device[] Devices = CpuDevices.All;

    // Awkward shapes: batch 1, odd channel counts, groups neither 1 nor C, one channel per group, 1-pixel images.
    public static readonly GroupNormArgs[] Shapes =
    [
        new(2, 6, 3 * 5, 3, 1e-5f),
        new(1, 9, 4 * 3, 3, 1e-5f),
        new(3, 5, 2 * 2, 5, 1e-5f),
        new(2, 4, 7 * 1, 1, 1e-3f),
        new(1, 3, 1 * 1, 1, 1e-5f),
    ];

    public static IEnumerable<TestCaseData> Cases() =>
        from a in Shapes
        from silu in new[] { false, true }
        from affine in new[] { true, false }
        select new TestCaseData(a with { Silu = silu }, affine);

    private static Shape XShape(GroupNormArgs a) => new(a.N, a.C, a.HW, 1);

    private static double[] Forward(double[] x, double[] w, double[] b, GroupNormArgs a, out double[] mean, out double[] rstd)
    {
        var y = new double[a.Size];
        mean = new double[a.StatsSize]; rstd = new double[a.StatsSize];
        GroupNormRef.Forward<double>(x, [], w, b, y, mean, rstd, a);
        return y;
    }

    private static double[][] Backward(double[] x, double[] w, double[] b, double[] gy, GroupNormArgs a)
    {
        Forward(x, w, b, a, out var mean, out var rstd);
        var gx = new double[a.Size]; var gw = new double[w.Length]; var gb = new double[b.Length];
        GroupNormRef.Backward<double>(x, [], w, b, mean, rstd, gy, gx, [], gw, gb, a);
        return [gx, gw, gb];
    }

    // Inputs with a non-zero mean and a non-unit scale, so the normalization has something to undo.
    private static double[] Input(Rng rng, int n)
    {
        var x = Rand.Normal(rng, n, 2.0);
        for (int i = 0; i < n; i++) x[i] += 0.7;
        return x;
    }

    [TestCaseSource(nameof(Cases))]
    public void Gradient_matches_finite_differences_in_float64(GroupNormArgs a, bool affine)
    {
        var rng = Rand.ForTest();
        double[][] inputs = affine
            ? [Input(rng, a.Size), Rand.Normal(rng, a.C), Rand.Normal(rng, a.C)]
            : [Input(rng, a.Size)];
        GradCheck.Run(
            i => Forward(i[0], affine ? i[1] : [], affine ? i[2] : [], a, out _, out _),
            (i, gy) => affine ? Backward(i[0], i[1], i[2], gy, a) : [Backward(i[0], [], [], gy, a)[0]],
            inputs, what: $"{a}, affine {affine}");
    }

    [TestCaseSource(nameof(Cases))]
    public void Float32_ops_match_float64(GroupNormArgs a, bool affine)
    {
        var rng = Rand.ForTest();
        var x = Input(rng, a.Size);
        var w = affine ? Rand.Normal(rng, a.C) : [];
        var b = affine ? Rand.Normal(rng, a.C) : [];
        var gy = Rand.Normal(rng, a.Size);
        var y64 = Forward(x, w, b, a, out _, out _);
        var g64 = Backward(x, w, b, gy, a);
        foreach (var device in Devices)
        {
            using var tape = new Tape();
            using var xt = Tensor.FromArray(Check.ToFloat(x), XShape(a), device).RequireGrad();
            using var wt = affine ? Tensor.FromArray(Check.ToFloat(w), new Shape(a.C), device).RequireGrad() : null;
            using var bt = affine ? Tensor.FromArray(Check.ToFloat(b), new Shape(a.C), device).RequireGrad() : null;
            var y = a.Silu ? Ops_.GroupNormSilu(xt, a.Groups, wt, bt, a.Eps) : Ops_.GroupNorm(xt, a.Groups, wt, bt, a.Eps);
            Check.Close(y.ToArray(), y64, 1e-5, $"forward on {device}");
            tape.Backward(y, Tensor.FromArray(Check.ToFloat(gy), y.Shape, device));
            Check.Close(xt.Grad!.ToArray(), g64[0], 1e-5, $"grad x on {device}");
            if (!affine) continue;
            Check.Close(wt!.Grad!.ToArray(), g64[1], 1e-5, $"grad weight on {device}");
            Check.Close(bt!.Grad!.ToArray(), g64[2], 1e-5, $"grad bias on {device}");
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void Fused_silu_equals_groupnorm_then_silu(GroupNormArgs a)
    {
        var rng = Rand.ForTest();
        var x = Input(rng, a.Size); var w = Rand.Normal(rng, a.C); var b = Rand.Normal(rng, a.C); var gy = Rand.Normal(rng, a.Size);

        // float64 references: the fused reference against GroupNormRef followed by UnaryRef's SiLU.
        var z = Forward(x, w, b, a, out _, out _);
        var y = new double[a.Size]; UnaryRef.Forward<double>(UnaryOp.Silu, z, y);
        var gz = new double[a.Size]; UnaryRef.Backward<double>(UnaryOp.Silu, z, y, gy, gz);
        var composed = Backward(x, w, b, gz, a);
        var fusedY = Forward(x, w, b, a with { Silu = true }, out _, out _);
        var fused = Backward(x, w, b, gy, a with { Silu = true });
        Check.Close(fusedY, y, 1e-13, "float64 forward");
        for (int k = 0; k < 3; k++) Check.Close(fused[k], composed[k], 1e-12, $"float64 gradient {k}");

        // float32 through the ops: Ops.GroupNormSilu against Ops.Silu(Ops.GroupNorm(...)).
        foreach (var device in Devices)
        {
            float[][] Run(bool fusedOp, out float[] yOut)
            {
                using var tape = new Tape();
                using var xt = Tensor.FromArray(Check.ToFloat(x), XShape(a), device).RequireGrad();
                using var wt = Tensor.FromArray(Check.ToFloat(w), new Shape(a.C), device).RequireGrad();
                using var bt = Tensor.FromArray(Check.ToFloat(b), new Shape(a.C), device).RequireGrad();
                var yt = fusedOp ? Ops_.GroupNormSilu(xt, a.Groups, wt, bt, a.Eps) : Ops_.Silu(Ops_.GroupNorm(xt, a.Groups, wt, bt, a.Eps));
                yOut = yt.ToArray();
                tape.Backward(yt, Tensor.FromArray(Check.ToFloat(gy), yt.Shape, device));
                return [xt.Grad!.ToArray(), wt.Grad!.ToArray(), bt.Grad!.ToArray()];
            }
            var f = Run(true, out var yf);
            var c = Run(false, out var yc);
            Check.Close(yf, yc, 1e-6, $"forward on {device}");
            for (int k = 0; k < 3; k++) Check.Close(f[k], c[k], 1e-5, $"gradient {k} on {device}");
        }
    }

    // GroupNorm(x + shift) with a per-sample, per-channel shift [N, C]: the U-Net's embedding bias folded into norm1.
    private static double[] ShiftedForward(double[] x, double[] s, double[] w, double[] b, GroupNormArgs a)
    {
        var y = new double[a.Size];
        GroupNormRef.Forward<double>(x, s, w, b, y, new double[a.StatsSize], new double[a.StatsSize], a);
        return y;
    }

    private static double[][] ShiftedBackward(double[] x, double[] s, double[] w, double[] b, double[] gy, GroupNormArgs a)
    {
        var mean = new double[a.StatsSize]; var rstd = new double[a.StatsSize];
        GroupNormRef.Forward<double>(x, s, w, b, new double[a.Size], mean, rstd, a);
        var gx = new double[a.Size]; var gs = new double[s.Length]; var gw = new double[a.C]; var gb = new double[a.C];
        GroupNormRef.Backward<double>(x, s, w, b, mean, rstd, gy, gx, gs, gw, gb, a);
        return [gx, gs, gw, gb];
    }

    // A group of one channel normalizes its shift away (its gradient is zero, relative errors meaningless): the shapes
    // with several channels per group.
    public static IEnumerable<TestCaseData> ShiftCases() =>
        from a in Shapes
        where a.ChannelsPerGroup > 1
        from silu in new[] { false, true }
        select new TestCaseData(a with { Silu = silu });

    [TestCaseSource(nameof(ShiftCases))]
    public void Shifted_gradient_matches_finite_differences_in_float64(GroupNormArgs a)
    {
        var rng = Rand.ForTest();
        double[][] inputs = [Input(rng, a.Size), Rand.Normal(rng, a.N * a.C, 1.5), Rand.Normal(rng, a.C), Rand.Normal(rng, a.C)];
        GradCheck.Run(
            i => ShiftedForward(i[0], i[1], i[2], i[3], a),
            (i, gy) => ShiftedBackward(i[0], i[1], i[2], i[3], gy, a),
            inputs, what: $"{a}, shifted");
    }

    [TestCaseSource(nameof(ShiftCases))]
    public void Shifted_float32_ops_match_float64_and_the_unfused_composition(GroupNormArgs a)
    {
        var rng = Rand.ForTest();
        var x = Input(rng, a.Size); var s = Rand.Normal(rng, a.N * a.C, 1.5);
        var w = Rand.Normal(rng, a.C); var b = Rand.Normal(rng, a.C); var gy = Rand.Normal(rng, a.Size);
        var y64 = ShiftedForward(x, s, w, b, a);
        var g64 = ShiftedBackward(x, s, w, b, gy, a);
        foreach (var device in Devices)
        {
            // fused: the shift is GroupNorm's; composed: x + shift as a broadcast add, then GroupNorm
            float[][] Run(bool fused)
            {
                using var tape = new Tape();
                using var xt = Tensor.FromArray(Check.ToFloat(x), XShape(a), device).RequireGrad();
                using var st = Tensor.FromArray(Check.ToFloat(s), new Shape(a.N, a.C), device).RequireGrad();
                using var wt = Tensor.FromArray(Check.ToFloat(w), new Shape(a.C), device).RequireGrad();
                using var bt = Tensor.FromArray(Check.ToFloat(b), new Shape(a.C), device).RequireGrad();
                var input = fused ? xt : xt + Ops_.Reshape(st, a.N, a.C, 1, 1);
                var shift = fused ? st : null;
                var y = a.Silu ? Ops_.GroupNormSilu(input, a.Groups, wt, bt, a.Eps, shift) : Ops_.GroupNorm(input, a.Groups, wt, bt, a.Eps, shift);
                var yv = y.ToArray();
                tape.Backward(y, Tensor.FromArray(Check.ToFloat(gy), y.Shape, device));
                return [yv, xt.Grad!.ToArray(), st.Grad!.ToArray(), wt.Grad!.ToArray(), bt.Grad!.ToArray()];
            }
            var f = Run(fused: true);
            string[] names = ["forward", "grad x", "grad shift", "grad weight", "grad bias"];
            double[][] refs = [y64, .. g64];
            for (int k = 0; k < 5; k++) Check.Close(f[k], refs[k], 1e-5, $"{names[k]} on {device}");
            // The reference and fast backends add the shift in float and sum its gradient in the broadcast add's
            // order: the fused op gives the composition's bits there. ILGPU's trees sum in another order.
            var c = Run(fused: false);
            bool bitwise = device != Device.CpuIlgpu;
            for (int k = 0; k < 5; k++)
                if (bitwise) Assert.That(f[k], Is.EqualTo(c[k]), $"{names[k]} on {device}: fused and composed differ");
                else Check.Close(f[k], c[k], 1e-5, $"{names[k]} on {device}, fused vs composed");
        }
    }

    // AccumulateGx: the backward adds its gx to the gradient x already has. It must give the bits of writing gx and
    // adding it with AddInPlace (reference and fast backends; ILGPU within rounding), leave the other outputs as
    // they were, and keep the shift's gradient this op's own.
    // One channel per group normalizes a shift away: the output and gx are those without it, and the shift's gradient
    // is zero up to rounding (checked absolutely; relative errors of a zero are meaningless). Also the shift's gradient
    // alone, when x needs none (the fast backend then forms gx in a temporary).
    [Test]
    public void A_shift_with_one_channel_per_group_cancels_and_its_gradient_works_without_gx()
    {
        var a = new GroupNormArgs(3, 5, 4, 5, 1e-5f, Silu: true);
        var b6 = new GroupNormArgs(2, 6, 5, 3, 1e-5f, Silu: true);
        var rng = Rand.ForTest();
        foreach (var device in Devices)
        {
            using var x = Tensor.Randn(XShape(a), rng, device);
            using var s = Tensor.Randn(new Shape(a.N, a.C), rng, device).RequireGrad();
            using var tape = new Tape();
            var shifted = Ops_.GroupNormSilu(x, a.Groups, shift: s);
            var plain = Ops_.GroupNormSilu(x, a.Groups);
            Check.Close(shifted.ToArray(), Array.ConvertAll(plain.ToArray(), v => (double)v), 1e-6, $"cancelled shift on {device}");
            tape.Backward(shifted, Tensor.Randn(shifted.Shape, rng, device));
            Assert.That(s.Grad!.ToArray().Select(Math.Abs).Max(), Is.LessThan(1e-5f), $"gradient of a cancelled shift on {device}");

            // Several channels per group, x without a gradient: gshift alone matches float64.
            var xv = Input(rng, b6.Size); var sv = Rand.Normal(rng, b6.N * b6.C); var gy = Rand.Normal(rng, b6.Size);
            var g64 = ShiftedBackward(xv, sv, [], [], gy, b6);
            using var x6 = Tensor.FromArray(Check.ToFloat(xv), XShape(b6), device);
            using var s6 = Tensor.FromArray(Check.ToFloat(sv), new Shape(b6.N, b6.C), device).RequireGrad();
            using var tape6 = new Tape();
            var y6 = Ops_.GroupNormSilu(x6, b6.Groups, shift: s6);
            tape6.Backward(y6, Tensor.FromArray(Check.ToFloat(gy), y6.Shape, device));
            Assert.That(x6.Grad, Is.Null);
            Check.Close(s6.Grad!.ToArray(), g64[1], 1e-5, $"shift gradient without gx on {device}");
        }
    }

    [TestCaseSource(nameof(ShiftCases))]
    public void Backward_accumulates_into_an_existing_gradient_as_a_separate_add_would(GroupNormArgs a)
    {
        var rng = Rand.ForTest();
        foreach (var device in Devices)
        foreach (bool shifted in new[] { false, true })
        {
            using var x = Tensor.Randn(XShape(a), rng, device);
            using var gy = Tensor.Randn(XShape(a), rng, device);
            using var w = Tensor.Randn(new Shape(a.C), rng, device);
            using var b = Tensor.Randn(new Shape(a.C), rng, device);
            using var s = shifted ? Tensor.Randn(new Shape(a.N, a.C), rng, device) : null;
            using var earlier = Tensor.Randn(XShape(a), rng, device);
            var stats = new Shape(a.N, a.Groups);
            using Tensor y = Tensor.Empty(XShape(a), device), mean = Tensor.Empty(stats, device), rstd = Tensor.Empty(stats, device);
            device.Backend.GroupNormForward(x, s, w, b, y, mean, rstd, a);

            float[][] Run(bool accumulate)
            {
                using var gx = accumulate ? Tensor.FromArray(earlier.ToArray(), XShape(a), device) : Tensor.Empty(XShape(a), device);
                using var gw = Tensor.Empty(new Shape(a.C), device);
                using var gb = Tensor.Empty(new Shape(a.C), device);
                using var gs = shifted ? Tensor.Empty(new Shape(a.N, a.C), device) : null;
                device.Backend.GroupNormBackward(x, s, w, b, mean, rstd, gy, gx, gs, gw, gb, a with { AccumulateGx = accumulate });
                if (!accumulate)
                {
                    using var sum = Tensor.FromArray(earlier.ToArray(), XShape(a), device);
                    device.Backend.AddInPlace(sum, gx, 1f);
                    return [sum.ToArray(), gw.ToArray(), gb.ToArray(), gs?.ToArray() ?? []];
                }
                return [gx.ToArray(), gw.ToArray(), gb.ToArray(), gs?.ToArray() ?? []];
            }
            var acc = Run(accumulate: true);
            var separate = Run(accumulate: false);
            string what = $"{a}, shifted {shifted} on {device}";
            for (int k = 0; k < 4; k++)
                if (device != Device.CpuIlgpu) Assert.That(acc[k], Is.EqualTo(separate[k]), $"output {k}, {what}");
                else if (acc[k].Length > 0) Check.Close(acc[k], Array.ConvertAll(separate[k], v => (double)v), 1e-6, $"output {k}, {what}");
        }
    }

    [Test]
    public void Through_the_tape_a_second_consumer_s_gradient_is_added_in_place()
    {
        var a = new GroupNormArgs(2, 6, 5, 3, 1e-5f, Silu: true);
        var rng = Rand.ForTest();
        var x = Input(rng, a.Size); var w = Rand.Normal(rng, a.C); var b = Rand.Normal(rng, a.C);
        var gy = Rand.Normal(rng, a.Size); var g2 = Rand.Normal(rng, a.Size);
        var gx64 = Backward(x, w, b, gy, a)[0];
        for (int i = 0; i < a.Size; i++) gx64[i] += 3 * g2[i]; // x also feeds 3·x
        foreach (var device in Devices)
        {
            using var tape = new Tape();
            using var xt = Tensor.FromArray(Check.ToFloat(x), XShape(a), device).RequireGrad();
            using var wt = Tensor.FromArray(Check.ToFloat(w), new Shape(a.C), device);
            using var bt = Tensor.FromArray(Check.ToFloat(b), new Shape(a.C), device);
            var y = Ops_.GroupNormSilu(xt, a.Groups, wt, bt, a.Eps);
            var z = xt * 3f; // recorded after the norm, so its gradient reaches x first and the norm's is added to it
            using var seedY = Tensor.FromArray(Check.ToFloat(gy), y.Shape, device);
            using var seedZ = Tensor.FromArray(Check.ToFloat(g2), z.Shape, device);
            var loss = Ops_.Sum(Ops_.Mul(y, seedY)) + Ops_.Sum(Ops_.Mul(z, seedZ));
            tape.Backward(loss);
            Check.Close(xt.Grad!.ToArray(), gx64, 1e-5, $"grad x on {device}");
        }
    }

    // Dropout folded into GroupNorm + SiLU: the output and every gradient are those of GroupNormSilu then Ops.Dropout
    // with the same rng position, bit for bit (the CPU backends mask in place with the same code), and the rng ends
    // where Ops.Dropout leaves it.
    [TestCaseSource(nameof(Shapes))]
    public void Dropout_folded_into_the_op_equals_dropout_after_it(GroupNormArgs a)
    {
        var rng = Rand.ForTest();
        var x = Input(rng, a.Size); var w = Rand.Normal(rng, a.C); var b = Rand.Normal(rng, a.C);
        var s = Rand.Normal(rng, a.N * a.C); var gy = Rand.Normal(rng, a.Size);
        foreach (var device in Devices)
        {
            float[][] Run(bool folded, out RngState end)
            {
                var drop = new Rng(77, 5);
                using var tape = new Tape();
                using var xt = Tensor.FromArray(Check.ToFloat(x), XShape(a), device).RequireGrad();
                using var wt = Tensor.FromArray(Check.ToFloat(w), new Shape(a.C), device).RequireGrad();
                using var bt = Tensor.FromArray(Check.ToFloat(b), new Shape(a.C), device).RequireGrad();
                using var st = Tensor.FromArray(Check.ToFloat(s), new Shape(a.N, a.C), device).RequireGrad();
                var y = folded
                    ? Ops_.GroupNormSilu(xt, a.Groups, wt, bt, a.Eps, st, DropoutMask.Draw(0.3f, drop, training: true, xt.Numel))
                    : Ops_.Dropout(Ops_.GroupNormSilu(xt, a.Groups, wt, bt, a.Eps, st), 0.3f, drop, training: true);
                end = RngState.Of(drop);
                var yv = y.ToArray();
                tape.Backward(y, Tensor.FromArray(Check.ToFloat(gy), y.Shape, device));
                return [yv, xt.Grad!.ToArray(), wt.Grad!.ToArray(), bt.Grad!.ToArray(), st.Grad!.ToArray()];
            }
            var f = Run(folded: true, out var endF);
            var c = Run(folded: false, out var endC);
            Assert.That(endF, Is.EqualTo(endC), $"rng after the mask on {device}");
            if (a.Size >= 20) Assert.That(f[0].Count(v => v == 0f), Is.InRange(1, a.Size - 1), "some elements dropped, not all");
            for (int k = 0; k < f.Length; k++) Assert.That(f[k], Is.EqualTo(c[k]), $"output {k} on {device}");
        }
    }

    [Test]
    public void Each_group_is_normalized_with_the_biased_variance()
    {
        var a = new GroupNormArgs(2, 6, 5, 3, 1e-2f); // a large eps makes var/(var + eps) visibly differ from 1
        var x = Input(Rand.ForTest(), a.Size);
        var y = Forward(x, [], [], a, out var mean, out var rstd);
        for (int grp = 0; grp < a.StatsSize; grp++)
        {
            var xs = x.AsSpan(grp * a.GroupSize, a.GroupSize);
            var ys = y.AsSpan(grp * a.GroupSize, a.GroupSize);
            double mu = 0, var = 0, ym = 0, y2 = 0;
            foreach (var v in xs) mu += v / a.GroupSize;
            foreach (var v in xs) var += (v - mu) * (v - mu) / a.GroupSize; // biased: divides by M, not M − 1
            foreach (var v in ys) { ym += v / a.GroupSize; y2 += v * v / a.GroupSize; }
            Assert.That(mean[grp], Is.EqualTo(mu).Within(1e-12));
            Assert.That(rstd[grp], Is.EqualTo(1 / Math.Sqrt(var + a.Eps)).Within(1e-12));
            Assert.That(ym, Is.EqualTo(0).Within(1e-12), "group mean of y");
            Assert.That(y2, Is.EqualTo(var / (var + a.Eps)).Within(1e-12), "group mean square of y");
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void Backend_outputs_are_fully_overwritten(GroupNormArgs a)
    {
        var rng = Rand.ForTest();
        foreach (var device in Devices)
        {
            Tensor Poisoned(Shape s) => Tensor.FromArray(Rand.Poison(s.Numel), s, device);
            using var x = Tensor.Randn(XShape(a), rng, device);
            using var gy = Tensor.Randn(XShape(a), rng, device);
            using var w = Tensor.Randn(new Shape(a.C), rng, device);
            using var b = Tensor.Randn(new Shape(a.C), rng, device);
            using var shift = Tensor.Randn(new Shape(a.N, a.C), rng, device);
            var stats = new Shape(a.N, a.Groups);
            using Tensor y = Poisoned(XShape(a)), mean = Poisoned(stats), rstd = Poisoned(stats);
            using Tensor gx = Poisoned(XShape(a)), gw = Poisoned(new Shape(a.C)), gb = Poisoned(new Shape(a.C));
            using Tensor gs = Poisoned(shift.Shape);
            device.Backend.GroupNormForward(x, shift, w, b, y, mean, rstd, a with { Silu = true });
            device.Backend.GroupNormBackward(x, shift, w, b, mean, rstd, gy, gx, gs, gw, gb, a with { Silu = true });
            foreach (var t in new[] { y, mean, rstd, gx, gs, gw, gb })
                Assert.That(t.ToArray().All(float.IsFinite), $"unwritten elements in a {t.Shape} output on {device}");
        }
    }

    [Test]
    public void Without_a_tape_the_op_just_computes()
    {
        using var x = Tensor.Randn(new Shape(1, 4, 3, 3), Rand.ForTest());
        using var y = Ops_.GroupNormSilu(x, 2);
        Assert.That(y.RequiresGrad, Is.False);
        Assert.That(y.ToArray().All(float.IsFinite));
    }

    [Test]
    public void Bad_arguments_give_clear_errors()
    {
        using var x = Tensor.Zeros(new Shape(2, 6, 3, 3));
        using var w = Tensor.Zeros(new Shape(6));
        using var w5 = Tensor.Zeros(new Shape(5));
        var e = Assert.Throws<ArgumentException>(() => Ops_.GroupNorm(x, 4))!;
        Assert.That(e.Message, Does.Contain("groupnorm").And.Contain("6 channels").And.Contain("[2, 6, 3, 3]").And.Contain("4"));
        e = Assert.Throws<ArgumentException>(() => Ops_.GroupNormSilu(x, 3, w, null))!;
        Assert.That(e.Message, Does.Contain("groupnorm+silu").And.Contain("both weight and bias"));
        e = Assert.Throws<ArgumentException>(() => Ops_.GroupNorm(x, 3, w5, w5))!;
        Assert.That(e.Message, Does.Contain("[5]").And.Contain("[6]"));
        Assert.Throws<ArgumentException>(() => Ops_.GroupNorm(x, 0));
        using var s23 = Tensor.Zeros(new Shape(2, 3));
        e = Assert.Throws<ArgumentException>(() => Ops_.GroupNormSilu(x, 3, shift: s23))!;
        Assert.That(e.Message, Does.Contain("shift [2, 3]").And.Contain("[2, 6]").And.Contain("[2, 6, 3, 3]"));
        using var x3 = Tensor.Zeros(new Shape(2, 6, 9));
        e = Assert.Throws<ArgumentException>(() => Ops_.GroupNorm(x3, 3))!;
        Assert.That(e.Message, Does.Contain("4-D").And.Contain("[2, 6, 9]"));
    }
}
