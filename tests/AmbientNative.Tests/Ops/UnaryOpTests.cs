using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>Pattern for every op family: float64 gradient check of the reference, float32 vs float64, autograd wiring.</summary>
public class UnaryOpTests
{
    private static IEnumerable<UnaryOp> All => Enum.GetValues<UnaryOp>();

    // Log and Sqrt need positive inputs; everything else gets signed ones.
    private static double[] Input(UnaryOp op, Rng rng, int n) =>
        op is UnaryOp.Log or UnaryOp.Sqrt ? Rand.Uniform(rng, n, 0.2, 3.0) : Rand.Normal(rng, n, 1.5);

    [TestCaseSource(nameof(All))]
    public void Gradient_matches_finite_differences_in_float64(UnaryOp op)
    {
        var x = Input(op, Rand.ForTest(), 37);
        GradCheck.Run(
            xs => { var y = new double[xs[0].Length]; UnaryRef.Forward<double>(op, xs[0], y); return y; },
            (xs, g) =>
            {
                var y = new double[xs[0].Length]; UnaryRef.Forward<double>(op, xs[0], y);
                var gx = new double[y.Length]; UnaryRef.Backward<double>(op, xs[0], y, g, gx);
                return [gx];
            },
            [x], what: op.ToString());
    }

    [TestCaseSource(nameof(All))]
    public void Float32_forward_and_backward_match_float64(UnaryOp op)
    {
        var rng = Rand.ForTest();
        var x = Input(op, rng, 101);
        var g = Rand.Normal(rng, 101);
        var y64 = new double[x.Length]; UnaryRef.Forward<double>(op, x, y64);
        var gx64 = new double[x.Length]; UnaryRef.Backward<double>(op, x, y64, g, gx64);

        foreach (var device in CpuDevices.All)
        {
            using var tape = new Tape();
            var xt = Tensor.FromArray(Check.ToFloat(x), new Shape(x.Length), device).RequireGrad();
            var yt = Ops_.Unary(op, xt);
            Check.Close(yt.ToArray(), y64, 1e-5, $"{op} forward on {device}");
            tape.Backward(yt, Tensor.FromArray(Check.ToFloat(g), yt.Shape, device));
            Check.Close(xt.Grad!.ToArray(), gx64, 1e-5, $"{op} backward on {device}");
            xt.Dispose();
        }
    }
}
