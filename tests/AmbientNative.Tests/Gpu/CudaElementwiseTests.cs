using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>Unary ops, the residual junction (add_scaled), axpy, fill and copy on the CUDA backend against the float64 reference.</summary>
[Category("Gpu")]
public class CudaElementwiseTests
{
    private static IEnumerable<UnaryOp> All => Enum.GetValues<UnaryOp>();
    private const int N = 4099; // not a multiple of any block size

    [TestCaseSource(nameof(All))]
    public void Unary_forward_and_backward_match_float64(UnaryOp op)
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        var x = op is UnaryOp.Log or UnaryOp.Sqrt ? Rand.Uniform(rng, N, 0.2, 3.0) : Rand.Normal(rng, N, 1.5);
        var g = Rand.Normal(rng, N);
        var y64 = new double[N]; UnaryRef.Forward<double>(op, x, y64);
        var gx64 = new double[N]; UnaryRef.Backward<double>(op, x, y64, g, gx64);

        using var xt = Tensor.FromArray(Check.ToFloat(x), new Shape(N), dev);
        using var gt = Tensor.FromArray(Check.ToFloat(g), new Shape(N), dev);
        using var y = Gpu.Poisoned(new Shape(N), dev);
        dev.Backend.Unary(op, xt, y);
        Check.Close(y.ToArray(), y64, 1e-5, $"{op} forward");
        using var gx = Gpu.Poisoned(new Shape(N), dev);
        dev.Backend.UnaryBackward(op, xt, y, gt, gx);
        Check.Close(gx.ToArray(), gx64, 1e-5, $"{op} backward");
    }

    [Test]
    public void Unary_through_the_tape_accumulates_gradients()
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, 333);
        var g = Rand.Normal(rng, 333);
        // x feeds two ops, so its gradient is the sum of both: exercises AddInPlace (axpy) on the device.
        var s = new double[333]; UnaryRef.Forward<double>(UnaryOp.Silu, x, s);
        var gs = new double[333]; UnaryRef.Backward<double>(UnaryOp.Silu, x, s, g, gs);
        var q = new double[333]; UnaryRef.Forward<double>(UnaryOp.Square, x, q);
        var gq = new double[333]; UnaryRef.Backward<double>(UnaryOp.Square, x, q, g, gq);

        using var tape = new Tape();
        using var xt = Tensor.FromArray(Check.ToFloat(x), new Shape(333), dev).RequireGrad();
        var a = Ops_.Silu(xt);
        var b = Ops_.Square(xt);
        tape.Backward(a, Tensor.FromArray(Check.ToFloat(g), a.Shape, dev));
        tape.Backward(b, Tensor.FromArray(Check.ToFloat(g), b.Shape, dev));
        Check.Close(xt.Grad!.ToArray(), gs.Zip(gq, (u, v) => u + v).ToArray(), 1e-5, "accumulated grad");
    }

    [Test]
    public void AddScaled_forward_and_backward_match_float64()
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        var a = Rand.Normal(rng, N); var b = Rand.Normal(rng, N); var g = Rand.Normal(rng, N);
        const float scale = 0.70710677f;
        var y64 = new double[N]; BinaryRef.AddScaled<double>(a, b, scale, y64);
        var g64 = g.Select(v => scale * v).ToArray();
        Shape s = new(N);
        using var at = Tensor.FromArray(Check.ToFloat(a), s, dev);
        using var bt = Tensor.FromArray(Check.ToFloat(b), s, dev);
        using var gt = Tensor.FromArray(Check.ToFloat(g), s, dev);
        using var y = Gpu.Poisoned(s, dev);
        dev.Backend.AddScaled(at, bt, scale, y);
        Check.Close(y.ToArray(), y64, 1e-6, "add_scaled");
        using var ga = Gpu.Poisoned(s, dev);
        using var gb = Gpu.Poisoned(s, dev);
        dev.Backend.AddScaledBackward(gt, scale, ga, gb);
        Check.Close(ga.ToArray(), g64, 1e-6, "grad a");
        Check.Close(gb.ToArray(), g64, 1e-6, "grad b");
        // One gradient alone: the other pointer is null and must not be written.
        using var gbOnly = Gpu.Poisoned(s, dev);
        dev.Backend.AddScaledBackward(gt, scale, null, gbOnly);
        Check.Close(gbOnly.ToArray(), g64, 1e-6, "grad b alone");
    }

    [Test]
    public void Fill_copy_and_axpy()
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        var x = Rand.Normal(rng, N);
        var y = Rand.Normal(rng, N);
        using var xt = Tensor.FromArray(Check.ToFloat(x), new Shape(N), dev);
        using var yt = Tensor.FromArray(Check.ToFloat(y), new Shape(N), dev);
        dev.Backend.AddInPlace(yt, xt, -0.75f);
        Check.Close(yt.ToArray(), y.Zip(x, (b, a) => b - 0.75 * a).ToArray(), 1e-6, "axpy");

        using var c = Gpu.Poisoned(new Shape(N), dev);
        dev.Backend.Copy(xt, c);
        Assert.That(c.ToArray(), Is.EqualTo(Check.ToFloat(x)), "copy");
        dev.Backend.Fill(c, 2.5f);
        Assert.That(c.ToArray(), Is.All.EqualTo(2.5f), "fill");
    }
}
