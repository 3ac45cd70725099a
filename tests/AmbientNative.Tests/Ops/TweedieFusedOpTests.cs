using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// The fused Tweedie loss against finite differences (its float64 reference), against the unfused op chain it
/// replaces (the one TweedieLoss used before) on every CPU backend, and called directly on each backend with poisoned
/// outputs at awkward sizes.
/// </summary>
public class TweedieFusedOpTests
{
    private const double SigmaN = 0.2;

    // (N, C, H, W): batch 1, more images than a 128-thread group (the mean loops), an image larger than a group.
    private static readonly int[][] Shapes = [[1, 3, 4, 5], [130, 1, 1, 2], [3, 3, 9, 7], [2, 2, 5, 5]];

    private static Tensor T(double[] x, Shape s, Device d) => Tensor.FromArray(Check.ToFloat(x), s, d);
    private static double[] F32(double[] x) => Check.ToDouble(Check.ToFloat(x));

    [Test]
    public void Loss_gradient_of_reference_matches_finite_differences_in_float64()
    {
        foreach (var k in Shapes)
        {
            int n = k[0], size = k[1] * k[2] * k[3];
            var rng = Rand.ForTest(n * 10 + size);
            var coefficients = TweedieFusedCheck.Coefficients(Rand.Uniform(rng, n, SigmaN, 0.6), SigmaN);
            var xt = Rand.Normal(rng, n * size);
            var xtn = Rand.Normal(rng, n * size);
            GradCheck.Run(
                v => [TweedieFusedRef.Loss<double>(v[0], xt, xtn, coefficients, n, size)],
                (v, g) =>
                {
                    var gd = new double[v[0].Length];
                    TweedieFusedRef.LossBackward<double>(v[0], xt, xtn, coefficients, g[0], gd, n, size);
                    return [gd];
                },
                [Rand.Normal(rng, n * size)], what: $"Tweedie loss N={n} size={size}");
        }
    }

    [Test]
    public void Loss_and_gradient_match_float64_reference_and_unfused_chain()
    {
        foreach (var k in Shapes)
        {
            var shape = new Shape(k);
            int n = k[0], size = shape.Numel / n;
            var rng = Rand.ForTest(n * 10 + size);
            var sigma = Rand.Uniform(rng, n, SigmaN, 0.6);
            var coefficients = F32(TweedieFusedCheck.Coefficients(sigma, SigmaN));
            var d = F32(Rand.Normal(rng, shape.Numel));
            var xt = F32(Rand.Normal(rng, shape.Numel));
            var xtn = F32(Rand.Normal(rng, shape.Numel));
            double gl = F32([0.5 + rng.NextFloat()])[0];
            double loss64 = TweedieFusedRef.Loss<double>(d, xt, xtn, coefficients, n, size);
            var gd64 = new double[d.Length];
            TweedieFusedRef.LossBackward<double>(d, xt, xtn, coefficients, gl, gd64, n, size);
            foreach (var dev in CpuDevices.All)
            {
                string what = $"{dev.Name} {shape}";
                (float Loss, float[] Grad) Run(Func<Tensor, Tensor, Tensor, Tensor, Tensor> loss)
                {
                    using var tape = new Tape();
                    var td = Tape.Own(T(d, shape, dev).RequireGrad());
                    var l = loss(td, Tape.Own(T(xt, shape, dev)), Tape.Own(T(xtn, shape, dev)), Tape.Own(T(coefficients, new Shape(n, 3), dev)));
                    Assert.That(l.Shape, Is.EqualTo(new Shape(Array.Empty<int>())), $"{what}: a scalar loss");
                    tape.Backward(l, Tape.Own(Tensor.FromArray([(float)gl], new Shape(Array.Empty<int>()), dev)));
                    return (l.Item(), td.Grad!.ToArray());
                }
                var fused = Run(Ops_.TweedieLossFused);
                // TweedieLoss's unfused chain: Σ λ·(a·D + b·xt − x_tn)² / N, with a, b, λ as [N, 1, …] columns.
                var chain = Run((td, txt, txtn, tc) =>
                {
                    Tensor Col(int j) => Ops_.Reshape(Ops_.Slice(tc, 1, j, 1), [n, .. Enumerable.Repeat(1, shape.Rank - 1)]);
                    return Ops_.Sum(Col(2) * Ops_.Square(Col(0) * td + Col(1) * txt - txtn)) * (1f / n);
                });
                Check.Close([fused.Loss], [loss64], 1e-5, $"{what}: loss vs float64");
                Check.Close(fused.Grad, gd64, 1e-5, $"{what}: gD vs float64");
                Check.Close([fused.Loss], [chain.Loss], 1e-5, $"{what}: loss vs unfused");
                Check.Close(fused.Grad, chain.Grad, 1e-5, $"{what}: gD vs unfused");
            }
        }
    }

    // Direct backend calls, outputs poisoned: the reference, and the ILGPU kernels on the CPU accelerator.
    [TestCase(1, 60)]
    [TestCase(130, 2)]
    [TestCase(3, 300)]
    public void Every_cpu_backend_writes_every_element(int n, int size)
    {
        foreach (var dev in CpuDevices.All)
            TweedieFusedCheck.Run(dev.Backend, dev, Rand.ForTest(n + size), n, size, elementTol: 1e-6, lossTol: 1e-5, dev.Name);
    }

    [Test]
    public void Bad_shapes_and_gradient_requiring_data_are_named()
    {
        using var tape = new Tape();
        Tensor Z(params int[] s) => Tape.Own(Tensor.Full(new Shape(s), 0.5f));
        var d = Z(2, 3, 4, 4);
        Assert.That(() => Ops_.TweedieLossFused(d, Z(2, 3, 4, 3), d, Z(2, 3)),
            Throws.ArgumentException.With.Message.Contains("TweedieLossFused: xt [2, 3, 4, 3]"));
        Assert.That(() => Ops_.TweedieLossFused(d, d, Z(1, 3, 4, 4), Z(2, 3)),
            Throws.ArgumentException.With.Message.Contains("TweedieLossFused: x_tn [1, 3, 4, 4]"));
        Assert.That(() => Ops_.TweedieLossFused(d, d, d, Z(2)),
            Throws.ArgumentException.With.Message.Contains("TweedieLossFused: coefficients [2] must be [2, 3]"));
        Assert.That(() => Ops_.TweedieLossFused(d, Z(2, 3, 4, 4).RequireGrad(), d, Z(2, 3)),
            Throws.InvalidOperationException.With.Message.Contains("TweedieLossFused: xt, x_tn and the coefficients are data"));
    }
}
