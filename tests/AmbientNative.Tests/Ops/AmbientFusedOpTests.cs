using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// The fused ambient input and loss against the float64 reference and against the unfused op chain they replace
/// (the composition EdmPreconditioner and AmbientLoss used before), on both CPU backends.
/// </summary>
public class AmbientFusedOpTests
{
    private static readonly Device[] Devices = CpuDevices.All;
    private const double Sd = 0.5;

    // (N, C, mask channels, mask channels in the input, H, W): shared mask, per-channel, a C-channel mask feeding one
    // input channel (as EdmPreconditioner does with expanded masks), one channel, batch 1, and an image larger than one
    // 128-thread group of the GPU loss reduction.
    private static readonly int[][] Cases = [[2, 3, 1, 1, 5, 7], [1, 3, 3, 3, 4, 3], [3, 3, 3, 1, 5, 5], [2, 1, 1, 1, 9, 2], [2, 3, 1, 1, 9, 7]];

    /// <summary>Test data: y, noise ~ N(0, 1), σ in [0.05, 5], λ in [0.5, 3], 0/1 masks (about 70 % ones).</summary>
    internal sealed record Data(int N, int C, int Cm, int Ck, int H, int W, double[] Y, double[] Noise, double[] Sigma, double[] Mask, double[] Weight)
    {
        public Shape Image => new(N, C, H, W);
        public Shape MaskShape => new(N, Cm, H, W);
        public Shape InputShape => new(N, C + Ck, H, W);

        public static Data Make(Rng rng, int[] k)
        {
            int n = k[0], c = k[1], cm = k[2], hw = k[4] * k[5];
            var mask = Rand.Uniform(rng, n * cm * hw, 0, 1).Select(u => u < 0.7 ? 1.0 : 0.0).ToArray();
            return new Data(n, c, cm, k[3], k[4], k[5], F(Rand.Normal(rng, n * c * hw)), F(Rand.Normal(rng, n * c * hw)),
                F(Rand.Uniform(rng, n, 0.05, 5)), mask, F(Rand.Uniform(rng, n, 0.5, 3)));
        }

        private static double[] F(double[] x) => Check.ToDouble(Check.ToFloat(x)); // what a float32 tensor holds
    }

    private static Tensor T(double[] x, Shape s, Device d) => Tensor.FromArray(Check.ToFloat(x), s, d);

    [Test]
    public void Loss_gradient_of_reference_matches_finite_differences_in_float64()
    {
        foreach (var k in Cases)
        {
            var rng = Rand.ForTest(k[0] * 100 + k[2]);
            var x = Data.Make(rng, k);
            // Fractional mask values too: the reference's gradient is that of Σ A⊙(D − y)² for any A.
            var mask = Rand.Uniform(rng, x.Mask.Length, 0.1, 1);
            var d = Rand.Normal(rng, x.Y.Length);
            int hw = x.H * x.W;
            GradCheck.Run(
                v => [AmbientFusedRef.Loss<double>(v[0], v[1], mask, x.Weight, x.N, x.C, x.Cm, hw)],
                (v, g) =>
                {
                    var gd = new double[v[0].Length];
                    AmbientFusedRef.LossBackward<double>(v[0], v[1], mask, x.Weight, g[0], gd, x.N, x.C, x.Cm, hw);
                    return [gd, null];
                },
                [d, x.Y], what: $"ambient loss {x.Image} mask {x.MaskShape}");
        }
    }

    [Test]
    public void Input_matches_float64_reference_and_unfused_chain()
    {
        foreach (var k in Cases)
        {
            var x = Data.Make(Rand.ForTest(k[0] * 100 + k[2]), k);
            var masked64 = new double[x.Y.Length];
            var input64 = new double[x.InputShape.Numel];
            AmbientFusedRef.Input<double>(x.Y, x.Noise, x.Sigma, x.Mask, masked64, input64, x.N, x.C, x.Cm, x.Ck, x.H * x.W, Sd);
            foreach (var dev in Devices)
            {
                using var tape = new Tape();
                var y = Tape.Own(T(x.Y, x.Image, dev));
                var noise = Tape.Own(T(x.Noise, x.Image, dev));
                var sigma = Tape.Own(T(x.Sigma, new Shape(x.N), dev));
                var mask = Tape.Own(T(x.Mask, x.MaskShape, dev));
                var (masked, input) = Ops_.AmbientInput(y, noise, sigma, mask, x.Ck, (float)Sd);
                string what = $"{dev.Name} {x.Image} mask {x.MaskShape} → {x.InputShape}";
                Check.Close(masked.ToArray(), masked64, 1e-6, $"{what}: masked vs float64");
                Check.Close(input.ToArray(), input64, 1e-6, $"{what}: input vs float64");

                // The chain EdmPreconditioner.Denoise runs on x = y + σ·n.
                var s = Ops_.Reshape(sigma, x.N, 1, 1, 1);
                var chainMasked = (y + s * noise) * mask;
                var cIn = Ops_.PowScalar(Ops_.Square(s) + (float)(Sd * Sd), -0.5f);
                var maskIn = x.Ck == x.Cm ? mask : Ops_.Slice(mask, 1, 0, x.Ck);
                var chainInput = Ops_.Concat(1, chainMasked * cIn, maskIn);
                Check.Close(masked.ToArray(), chainMasked.ToArray(), 1e-5, $"{what}: masked vs unfused");
                Check.Close(input.ToArray(), chainInput.ToArray(), 1e-5, $"{what}: input vs unfused");
            }
        }
    }

    [Test]
    public void Loss_and_gradient_match_float64_reference_and_unfused_chain()
    {
        foreach (var k in Cases)
        {
            var rng = Rand.ForTest(k[0] * 100 + k[2]);
            var x = Data.Make(rng, k);
            var d = Check.ToDouble(Check.ToFloat(Rand.Normal(rng, x.Y.Length)));
            double gl = 0.5 + rng.NextFloat(); // an upstream gradient other than 1, so its scaling is checked
            int hw = x.H * x.W;
            double loss64 = AmbientFusedRef.Loss<double>(d, x.Y, x.Mask, x.Weight, x.N, x.C, x.Cm, hw);
            var gd64 = new double[d.Length];
            AmbientFusedRef.LossBackward<double>(d, x.Y, x.Mask, x.Weight, gl, gd64, x.N, x.C, x.Cm, hw);
            foreach (var dev in Devices)
            {
                string what = $"{dev.Name} {x.Image} mask {x.MaskShape}";
                float fused, chain;
                float[] gFused, gChain;
                using (var tape = new Tape())
                {
                    var (dt, y, mask, w, seed) = Operands(x, d, gl, dev);
                    var loss = Ops_.AmbientLossFused(dt, y, mask, w);
                    Assert.That(loss.Shape, Is.EqualTo(new Shape(Array.Empty<int>())), $"{what}: a scalar loss");
                    fused = loss.Item();
                    tape.Backward(loss, seed);
                    gFused = dt.Grad!.ToArray();
                }
                using (var tape = new Tape())
                {
                    var (dt, y, mask, w, seed) = Operands(x, d, gl, dev);
                    // AmbientLoss's unfused loss: Σ λ·(A⊙(D − y))² / N.
                    var loss = Ops_.Sum(Ops_.Reshape(w, x.N, 1, 1, 1) * Ops_.Square(mask * (dt - y))) * (1f / x.N);
                    chain = loss.Item();
                    tape.Backward(loss, seed);
                    gChain = dt.Grad!.ToArray();
                }
                Check.Close([fused], [loss64], 1e-5, $"{what}: loss vs float64");
                Check.Close(gFused, gd64, 1e-5, $"{what}: gD vs float64");
                Check.Close([fused], [chain], 1e-5, $"{what}: loss vs unfused");
                Check.Close(gFused, gChain, 1e-5, $"{what}: gD vs unfused");
            }
        }
    }

    private static (Tensor D, Tensor Y, Tensor Mask, Tensor W, Tensor Seed) Operands(Data x, double[] d, double gl, Device dev) => (
        Tape.Own(T(d, x.Image, dev).RequireGrad()), Tape.Own(T(x.Y, x.Image, dev)), Tape.Own(T(x.Mask, x.MaskShape, dev)),
        Tape.Own(T(x.Weight, new Shape(x.N), dev)), Tape.Own(Tensor.FromArray([(float)gl], new Shape(Array.Empty<int>()), dev)));

    [Test]
    public void Bad_shapes_and_gradient_requiring_data_are_named()
    {
        using var tape = new Tape();
        Tensor Z(params int[] s) => Tape.Own(Tensor.Full(new Shape(s), 0.5f));
        var y = Z(2, 3, 4, 4);
        Assert.That(() => Ops_.AmbientInput(y, Z(2, 3, 4, 5), Z(2), Z(2, 1, 4, 4), 1, 0.5f),
            Throws.ArgumentException.With.Message.Contains("AmbientInput: noise [2, 3, 4, 5]"));
        Assert.That(() => Ops_.AmbientInput(y, y, Z(3), Z(2, 1, 4, 4), 1, 0.5f),
            Throws.ArgumentException.With.Message.Contains("AmbientInput: sigma [3] must be [2]"));
        Assert.That(() => Ops_.AmbientInput(y, y, Z(2), Z(2, 2, 4, 4), 1, 0.5f),
            Throws.ArgumentException.With.Message.Contains("AmbientInput: mask [2, 2, 4, 4]"));
        Assert.That(() => Ops_.AmbientInput(y, y, Z(2), Z(2, 1, 4, 4), 3, 0.5f),
            Throws.ArgumentException.With.Message.Contains("AmbientInput: 3 mask channels"));
        Assert.That(() => Ops_.AmbientInput(Z(2, 3, 4, 4).RequireGrad(), y, Z(2), Z(2, 1, 4, 4), 1, 0.5f),
            Throws.InvalidOperationException.With.Message.Contains("AmbientInput: y, noise, sigma and mask are data"));

        Assert.That(() => Ops_.AmbientLossFused(y, Z(2, 3, 4, 3), Z(2, 1, 4, 4), Z(2)),
            Throws.ArgumentException.With.Message.Contains("AmbientLossFused: target [2, 3, 4, 3]"));
        Assert.That(() => Ops_.AmbientLossFused(y, y, Z(1, 1, 4, 4), Z(2)),
            Throws.ArgumentException.With.Message.Contains("AmbientLossFused: mask [1, 1, 4, 4]"));
        Assert.That(() => Ops_.AmbientLossFused(y, y, Z(2, 1, 4, 4), Z(2, 1)),
            Throws.ArgumentException.With.Message.Contains("AmbientLossFused: weight [2, 1] must be [2]"));
        Assert.That(() => Ops_.AmbientLossFused(y, y, Z(2, 1, 4, 4), Z(2).RequireGrad()),
            Throws.InvalidOperationException.With.Message.Contains("AmbientLossFused: the target, mask and weight are data"));
    }
}
