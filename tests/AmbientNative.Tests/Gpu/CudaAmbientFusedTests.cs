using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Diffusion;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>The fused ambient input and loss kernels (kernels/ambient_fused.cu) against the float64 reference, with poisoned outputs.</summary>
[Category("Gpu")]
public class CudaAmbientFusedTests
{
    private const double Tol = 1e-4;
    private const float Sd = 0.5f;

    // (N, C, Cm, Ck, H, W): shared and per-channel masks, an expanded mask feeding one channel, a batch of 1, an image
    // of more elements than a block has threads (3·33·35), and the benchmark's batch (more images than SMs).
    private static readonly int[][] Cases =
        [[2, 3, 1, 1, 5, 7], [1, 3, 3, 3, 4, 3], [3, 3, 3, 1, 5, 5], [2, 1, 1, 1, 9, 2], [5, 3, 1, 1, 33, 35], [256, 3, 1, 1, 32, 32]];

    private static Tensor Up(double[] x, Shape s, Device d) => Gpu.Upload(x, s, d);

    [TestCaseSource(nameof(Cases))]
    public void Input_loss_and_gradient_match_float64(int[] k)
    {
        var dev = Gpu.Device();
        int n = k[0], c = k[1], cm = k[2], ck = k[3], hw = k[4] * k[5];
        var g = new AmbientGeometry(n, c, cm, ck, hw);
        var rng = Rand.ForTest();
        var y = Gpu.F32(Rand.Normal(rng, n * c * hw));
        var noise = Gpu.F32(Rand.Normal(rng, y.Length));
        var sigma = Gpu.F32(Rand.Uniform(rng, n, 0.05, 5));
        var mask = Rand.Uniform(rng, n * cm * hw, 0, 1).Select(u => u < 0.7 ? 1.0 : 0.0).ToArray();
        var d = Gpu.F32(Rand.Normal(rng, y.Length));
        var weight = Gpu.F32(Rand.Uniform(rng, n, 0.5, 3));
        double gl = Gpu.F32([0.5 + rng.NextFloat()])[0];
        Shape image = new(n, c, k[4], k[5]), maskShape = new(n, cm, k[4], k[5]), inputShape = new(n, c + ck, k[4], k[5]);

        var masked64 = new double[y.Length];
        var input64 = new double[inputShape.Numel];
        AmbientFusedRef.Input<double>(y, noise, sigma, mask, masked64, input64, n, c, cm, ck, hw, Sd);
        double loss64 = AmbientFusedRef.Loss<double>(d, y, mask, weight, n, c, cm, hw);
        var gd64 = new double[y.Length];
        AmbientFusedRef.LossBackward<double>(d, y, mask, weight, gl, gd64, n, c, cm, hw);

        using var ty = Up(y, image, dev); using var tn = Up(noise, image, dev); using var ts = Up(sigma, new Shape(n), dev);
        using var tm = Up(mask, maskShape, dev); using var td = Up(d, image, dev); using var tw = Up(weight, new Shape(n), dev);
        using var tgl = Up([gl], new Shape(1), dev);
        using var masked = Gpu.Poisoned(image, dev);
        using var input = Gpu.Poisoned(inputShape, dev);
        dev.Backend.AmbientInput(ty, tn, ts, tm, masked, input, g, Sd);
        string what = $"{image} mask {maskShape} → {inputShape}";
        Check.Close(masked.ToArray(), masked64, Tol, $"{what}: masked");
        Check.Close(input.ToArray(), input64, Tol, $"{what}: input");

        using var loss = Gpu.Poisoned(new Shape(1), dev);
        dev.Backend.AmbientLoss(td, ty, tm, tw, loss, g with { InputMaskChannels = 0 });
        float first = loss.ToArray()[0];
        Check.Close([first], [loss64], Tol, $"{what}: loss");
        dev.Backend.Fill(loss, float.NaN); // the second launch must write it again: the first one's last block reset the ticket
        dev.Backend.AmbientLoss(td, ty, tm, tw, loss, g with { InputMaskChannels = 0 });
        Assert.That(loss.ToArray()[0], Is.EqualTo(first), $"{what}: the loss is summed in a fixed order (bitwise reproducible)");

        using var gd = Gpu.Poisoned(image, dev);
        dev.Backend.AmbientLossBackward(td, ty, tm, tw, tgl, gd, g with { InputMaskChannels = 0 });
        Check.Close(gd.ToArray(), gd64, Tol, $"{what}: gD");
    }

    [TestCase(1)]
    [TestCase(3)]
    public void AmbientLoss_fused_on_gpu_matches_the_unfused_chain_on_cpu(int maskChannels)
    {
        var dev = Gpu.Device();
        var gpu = AmbientLossFusedTests.Step(dev, maskChannels, fused: true, seed: 5);
        var cpu = AmbientLossFusedTests.Step(Device.CpuReference, maskChannels, fused: false, seed: 5);
        AmbientLossFusedTests.AssertClose(gpu, cpu, Tol);
    }
}
