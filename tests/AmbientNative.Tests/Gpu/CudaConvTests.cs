using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Backends.Cuda;
using AmbientNative.Tensors;
using AmbientNative.Tests.Ops;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>The CUDA conv2d kernels against the float64 reference, forward and both backward passes.</summary>
[Category("Gpu")]
public class CudaConvTests
{
    // The CPU op tests' awkward shapes, plus ones that cross the kernels' 128-wide tiles in every GEMM axis
    // (Cin, Cout > 128; pixel counts not multiples of 128), K = 5, and a long reduction that makes the weight
    // gradient split into many slices.
    public static readonly Conv2dGeometry[] Geometries =
    [
        .. Conv2dOpTests.Geometries,
        new(2, 130, 9, 11, 129, 3, 1, 1),
        new(3, 17, 33, 35, 19, 3, 2, 1),
        new(1, 200, 6, 5, 7, 1, 1, 0),
        new(4, 8, 16, 16, 136, 3, 1, 1),
        new(2, 3, 12, 10, 5, 5, 2, 2),
        new(8, 16, 20, 20, 24, 3, 1, 1),
    ];

    private const double Tol = 1e-4;

    [TestCaseSource(nameof(Geometries))]
    public void Kernels_match_float64_reference_on_poisoned_outputs(Conv2dGeometry g) => AllPassesMatch(Gpu.Device(), g, Tol);

    // TF32 keeps 10 mantissa bits: each product is off by up to ~1e-3 relative, and sums of random-signed terms
    // land near 5e-4 of their norm; a wrong fragment layout or a lost k-step gives O(1).
    private const double Tf32Tol = 3e-3;

    [TestCaseSource(nameof(Geometries))]
    public void Tf32_kernels_match_float64_reference_within_tf32_rounding(Conv2dGeometry g)
    {
        var dev = Gpu.Device();
        var be = CudaDevices.Backend(dev);
        if (be.Context.Info.Major < 8) Assert.Ignore($"TF32 tensor cores need sm_80; the device is {be.Context.Info.Arch}");
        be.ConvTf32 = true;
        be.KernelTimes = new(); // names every kernel launched
        try
        {
            AllPassesMatch(dev, g, Tf32Tol);
            Assert.That(be.KernelTimes.Keys, Is.SupersetOf(new[] { "conv2d_fwd_tf32", "conv2d_dgrad_tf32", "conv2d_wgrad_tf32" }));
            Assert.That(be.KernelTimes.Keys, Has.None.AnyOf("conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad"));
        }
        finally { be.ConvTf32 = false; be.KernelTimes = null; }
    }

    private static void AllPassesMatch(Device dev, Conv2dGeometry g, double tol)
    {
        var be = dev.Backend;
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, g.InputSize);
        var w = Rand.Normal(rng, g.WeightSize, 0.3);
        var b = Rand.Normal(rng, g.Cout);
        var gy = Rand.Normal(rng, g.OutputSize);
        var y64 = new double[g.OutputSize]; Conv2dRef.Forward<double>(x, w, b, y64, g);
        var y64nb = new double[g.OutputSize]; Conv2dRef.Forward<double>(x, w, default, y64nb, g);
        var gx64 = new double[g.InputSize]; Conv2dRef.BackwardData<double>(gy, w, gx64, g);
        var gw64 = new double[g.WeightSize]; var gb64 = new double[g.Cout];
        Conv2dRef.BackwardWeight<double>(x, gy, gw64, gb64, g);

        Shape xs = new(g.N, g.Cin, g.H, g.W), ws = new(g.Cout, g.Cin, g.K, g.K), ys = new(g.N, g.Cout, g.OutH, g.OutW);
        using var xt = Tensor.FromArray(Check.ToFloat(x), xs, dev);
        using var wt = Tensor.FromArray(Check.ToFloat(w), ws, dev);
        using var bt = Tensor.FromArray(Check.ToFloat(b), new Shape(g.Cout), dev);
        using var gyt = Tensor.FromArray(Check.ToFloat(gy), ys, dev);

        using var y = Gpu.Poisoned(ys, dev);
        be.Conv2dForward(xt, wt, bt, y, g);
        Check.Close(y.ToArray(), y64, tol, $"forward {g}");
        using var ynb = Gpu.Poisoned(ys, dev);
        be.Conv2dForward(xt, wt, null, ynb, g);
        Check.Close(ynb.ToArray(), y64nb, tol, $"forward without bias {g}");
        // The residual junction in the epilogue: (conv + bias + skip)·scale.
        var skip = Rand.Normal(rng, g.OutputSize);
        const float scale = 0.70710677f;
        var yres64 = new double[g.OutputSize]; BinaryRef.AddScaled<double>(y64, skip, scale, yres64);
        using var skipt = Tensor.FromArray(Check.ToFloat(skip), ys, dev);
        using var yres = Gpu.Poisoned(ys, dev);
        be.Conv2dForward(xt, wt, bt, yres, g, new ConvResidual(skipt, scale));
        Check.Close(yres.ToArray(), yres64, tol, $"forward with a residual {g}");

        using var gx = Gpu.Poisoned(xs, dev);
        be.Conv2dBackwardData(gyt, wt, gx, g);
        Check.Close(gx.ToArray(), gx64, tol, $"data grad {g}");

        using var gw = Gpu.Poisoned(ws, dev);
        using var gb = Gpu.Poisoned(new Shape(g.Cout), dev);
        be.Conv2dBackwardWeight(xt, gyt, gw, gb, g);
        Check.Close(gw.ToArray(), gw64, tol, $"weight grad {g}");
        Check.Close(gb.ToArray(), gb64, tol, $"bias grad {g}");
        using var gw2 = Gpu.Poisoned(ws, dev);
        be.Conv2dBackwardWeight(xt, gyt, gw2, null, g);
        Check.Close(gw2.ToArray(), gw64, tol, $"weight grad without bias {g}");
    }

    // The epilogue's junction rounds the conv first, as the separate add_scaled pass did: the same bits, both ways.
    [TestCaseSource(typeof(Conv2dAddScaledOpTests), nameof(Conv2dAddScaledOpTests.Geometries))]
    public void Conv2dAddScaled_gives_the_bits_of_conv2d_then_add_scaled(Conv2dGeometry g)
    {
        Conv2dAddScaledOpTests.FusedEqualsComposition(Gpu.Device(), g, skipIsInput: false);
        if (g.Cin == g.Cout && g.Stride == 1 && g.Pad == g.K / 2) // x can be its own skip
            Conv2dAddScaledOpTests.FusedEqualsComposition(Gpu.Device(), g, skipIsInput: true);
    }

    [Test]
    public void Autograd_through_ops_on_cuda_matches_reference()
    {
        var dev = Gpu.Device();
        var g = new Conv2dGeometry(2, 5, 7, 6, 4, 3, 2, 1);
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, g.InputSize);
        var w = Rand.Normal(rng, g.WeightSize, 0.3);
        var b = Rand.Normal(rng, g.Cout);
        var gy = Rand.Normal(rng, g.OutputSize);
        var y64 = new double[g.OutputSize]; Conv2dRef.Forward<double>(x, w, b, y64, g);
        var gx64 = new double[g.InputSize]; Conv2dRef.BackwardData<double>(gy, w, gx64, g);
        var gw64 = new double[g.WeightSize]; var gb64 = new double[g.Cout];
        Conv2dRef.BackwardWeight<double>(x, gy, gw64, gb64, g);

        using var tape = new Tape();
        using var xt = Tensor.FromArray(Check.ToFloat(x), new Shape(g.N, g.Cin, g.H, g.W), dev).RequireGrad();
        using var wt = Tensor.FromArray(Check.ToFloat(w), new Shape(g.Cout, g.Cin, g.K, g.K), dev).RequireGrad();
        using var bt = Tensor.FromArray(Check.ToFloat(b), new Shape(g.Cout), dev).RequireGrad();
        var yt = Ops_.Conv2d(xt, wt, bt, g.Stride, g.Pad);
        Check.Close(yt.ToArray(), y64, Tol, "forward");
        tape.Backward(yt, Tensor.FromArray(Check.ToFloat(gy), yt.Shape, dev));
        Check.Close(xt.Grad!.ToArray(), gx64, Tol, "grad x");
        Check.Close(wt.Grad!.ToArray(), gw64, Tol, "grad w");
        Check.Close(bt.Grad!.ToArray(), gb64, Tol, "grad bias");
    }
}
