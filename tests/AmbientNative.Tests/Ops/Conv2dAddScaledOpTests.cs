using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// Ops.Conv2dAddScaled, the residual junction inside its convolution, promises the bits of Conv2d followed by
/// AddScaled (whose gradients are checked by finite differences), forward and every gradient, skip's included.
/// </summary>
public class Conv2dAddScaledOpTests
{
    // Same-size 3×3 (conv1), stride 2 with an odd input, 1×1 (the attention's proj), batch 1.
    public static readonly Conv2dGeometry[] Geometries =
    [
        new(2, 5, 6, 7, 5, 3, 1, 1),
        new(1, 3, 7, 5, 4, 3, 2, 1),
        new(3, 4, 5, 5, 6, 1, 1, 0),
    ];

    private static readonly float Scale = MathF.Sqrt(0.5f);

    private static IEnumerable<TestCaseData> Cases() =>
        from g in Geometries
        from d in new[] { "reference", "fast" }
        select new TestCaseData(g, d);

    [TestCaseSource(nameof(Cases))]
    public void Every_cpu_backend_gives_the_bits_of_conv2d_then_add_scaled(Conv2dGeometry g, string backend) =>
        FusedEqualsComposition(backend == "fast" ? Device.Cpu : Device.CpuReference, g, skipIsInput: false);

    [Test]
    public void A_skip_that_is_the_convolutions_input_gets_both_gradients()
    {
        var g = Geometries[0]; // Cin = Cout, stride 1, same padding: x can be its own skip
        foreach (var device in new[] { Device.CpuReference, Device.Cpu }) FusedEqualsComposition(device, g, skipIsInput: true);
    }

    [TestCaseSource(nameof(Geometries))]
    public void Forward_matches_float64(Conv2dGeometry g)
    {
        var rng = Rand.ForTest();
        double[] x = Rand.Normal(rng, g.InputSize), w = Rand.Normal(rng, g.WeightSize, 0.3), b = Rand.Normal(rng, g.Cout),
            skip = Rand.Normal(rng, g.OutputSize);
        var y64 = new double[g.OutputSize];
        Conv2dRef.Forward<double>(x, w, b, y64, g);
        BinaryRef.AddScaled<double>(y64, skip, Scale, y64);
        foreach (var device in new[] { Device.CpuReference, Device.Cpu })
        {
            using var xt = Tensor.FromArray(Check.ToFloat(x), Input(g), device);
            using var wt = Tensor.FromArray(Check.ToFloat(w), Weight(g), device);
            using var bt = Tensor.FromArray(Check.ToFloat(b), new Shape(g.Cout), device);
            using var st = Tensor.FromArray(Check.ToFloat(skip), Output(g), device);
            using var y = Ops_.Conv2dAddScaled(xt, wt, bt, g.Stride, g.Pad, st, Scale);
            Check.Close(y.ToArray(), y64, 1e-5, $"{device} {g}");
        }
    }

    [Test]
    public void A_backend_refuses_a_residual_that_is_the_output_itself()
    {
        var g = Geometries[0];
        foreach (var device in new[] { Device.CpuReference, Device.Cpu })
        {
            using var x = Tensor.Zeros(Input(g), device);
            using var w = Tensor.Zeros(Weight(g), device);
            using var y = Tensor.Zeros(Output(g), device);
            var e = Assert.Throws<ArgumentException>(() => device.Backend.Conv2dForward(x, w, null, y, g, new ConvResidual(y, Scale)))!;
            Assert.That(e.Message, Does.Contain("must not be the output"));
        }
    }

    [Test]
    public void A_skip_of_another_shape_is_refused_with_both_shapes_named()
    {
        var g = Geometries[1];
        using var x = Tensor.Zeros(Input(g), Device.Cpu);
        using var w = Tensor.Zeros(Weight(g), Device.Cpu);
        using var skip = Tensor.Zeros(Input(g), Device.Cpu);
        var e = Assert.Throws<ArgumentException>(() => Ops_.Conv2dAddScaled(x, w, null, g.Stride, g.Pad, skip, Scale))!;
        Assert.That(e.Message, Does.Contain($"skip {Input(g)}").And.Contain(Output(g).ToString()));
    }

    /// <summary>Forward and all four gradients of the fused op equal, bit for bit, those of Conv2d then AddScaled.</summary>
    public static void FusedEqualsComposition(Device device, Conv2dGeometry g, bool skipIsInput)
    {
        var rng = Rand.ForTest();
        var x = Check.ToFloat(Rand.Normal(rng, g.InputSize));
        var w = Check.ToFloat(Rand.Normal(rng, g.WeightSize, 0.3));
        var b = Check.ToFloat(Rand.Normal(rng, g.Cout));
        var skip = Check.ToFloat(Rand.Normal(rng, g.OutputSize));
        var gy = Check.ToFloat(Rand.Normal(rng, g.OutputSize));

        float[][] Run(bool fused)
        {
            using var tape = new Tape();
            using var xt = Tensor.FromArray(x, Input(g), device).RequireGrad();
            using var wt = Tensor.FromArray(w, Weight(g), device).RequireGrad();
            using var bt = Tensor.FromArray(b, new Shape(g.Cout), device).RequireGrad();
            using var own = Tensor.FromArray(skip, Output(g), device).RequireGrad();
            var st = skipIsInput ? xt : own;
            var y = fused
                ? Ops_.Conv2dAddScaled(xt, wt, bt, g.Stride, g.Pad, st, Scale)
                : Ops_.AddScaled(Ops_.Conv2d(xt, wt, bt, g.Stride, g.Pad), st, Scale);
            using var seed = Tensor.FromArray(gy, y.Shape, device);
            tape.Backward(y, seed);
            return [y.ToArray(), xt.Grad!.ToArray(), wt.Grad!.ToArray(), bt.Grad!.ToArray(), skipIsInput ? [] : own.Grad!.ToArray()];
        }

        var expected = Run(fused: false);
        var actual = Run(fused: true);
        string[] names = ["y", "grad x", "grad w", "grad bias", "grad skip"];
        for (int i = 0; i < names.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]), $"{names[i]}, {device} {g}, skip is x: {skipIsInput}");
    }

    private static Shape Input(Conv2dGeometry g) => new(g.N, g.Cin, g.H, g.W);
    private static Shape Weight(Conv2dGeometry g) => new(g.Cout, g.Cin, g.K, g.K);
    private static Shape Output(Conv2dGeometry g) => new(g.N, g.Cout, g.OutH, g.OutW);
}
