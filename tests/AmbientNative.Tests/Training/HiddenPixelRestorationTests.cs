using AmbientNative.Autograd;
using AmbientNative.Data;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Training;

namespace AmbientNative.Tests.Training;

/// <summary>
/// The grey-speckle check: the fixed-mask sampler's output is D at σmin = 0.002, where a pixel the sampling mask hides
/// gets only its output-scale·F. A tiny U-Net trained briefly on pixel-erased shapes (p = 0.6, δ = 0.1, the demo's
/// corruption) with <see cref="HiddenPixelPreconditioning.AsInfiniteNoise"/> must restore those pixels at σmin: their
/// error must be well below that of grey (0), which is what the reference parametrization returns until F has learned
/// outputs of size 1/c_out (~250). Measured here (2 cores, 2026-12-03): relative error of hidden pixels after 300 steps
/// 0.47 (AsInfiniteNoise) vs 0.99 (Reference); grey is 1; about 7 s each.
/// </summary>
public class HiddenPixelRestorationTests
{
    private const int Count = 4, Res = 16, C = 3;
    private const double Threshold = 0.7;

    [Test]
    public void Tiny_ambient_unet_restores_hidden_pixels_at_sigma_min_with_infinite_noise_preconditioning()
    {
        // Grey (D = 0 there, what the reference parametrization gives untrained) has relative error exactly 1.
        double error = TrainAndMeasure(HiddenPixelPreconditioning.AsInfiniteNoise);
        Assert.That(error, Is.LessThan(Threshold), $"hidden pixels at σmin: relative error {error:F3} (grey: 1)");
    }

    /// <summary>Relative error ‖D − x0‖/‖x0‖ over the pixels the sampling mask hides, of D at σmin on the training images.</summary>
    private static double TrainAndMeasure(HiddenPixelPreconditioning hidden, int steps = 300)
    {
        var clean = ProceduralShapes.Generate(Count, Res, C, seed: 7);
        var spec = CorruptionSpec.PixelErase(0.6, 0.1, seed: 3);
        var data = new CorruptedDataset(clean.Images, Count, C, Res, Res, spec);
        using var net = new UNet(UNetConfig.Tiny with { Dropout = 0f }, Device.Cpu, seed: 11);
        var pre = new EdmPreconditioner(net) { HiddenPixels = hidden };
        var dir = Path.Combine(Path.GetTempPath(), "ambient-hidden-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = new TrainerOptions
            {
                RunDirectory = dir, BatchSize = Count, TotalSteps = steps, LearningRate = 3e-3, WarmupImages = 0,
                CheckpointEvery = steps, MetricsEvery = 100, Seed = 5,
            };
            using (var trainer = new Trainer(net, new AmbientLoss(pre), new CorruptedBatchSource(data), options, "{}"))
                trainer.Run();
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }

        net.Eval();
        var x0 = clean.Images.ToArray();
        using var mask = FixedMaskDenoiser.DrawMasks(spec, Count, C, Res, Res, maskChannels: 1, new Rng(21));
        var m = mask.ToArray();
        using var tape = new Tape();
        using var _ = NoGrad.Scope();
        using var clean0 = Tensor.FromArray(x0, new Shape(Count, C, Res, Res));
        using var noise = Tensor.Randn(clean0.Shape, new Rng(22), Device.Cpu);
        using var sigma = Tensor.Full(new Shape(Count), (float)Edm.SigmaMin);
        var d = pre.Denoise(clean0 + noise * (float)Edm.SigmaMin, sigma, mask).ToArray();

        double err = 0, norm = 0;
        for (int i = 0; i < d.Length; i++)
        {
            int n = i / (C * Res * Res), p = i % (Res * Res);
            if (m[n * Res * Res + p] != 0) continue;
            err += (d[i] - x0[i]) * (d[i] - (double)x0[i]);
            norm += x0[i] * (double)x0[i];
        }
        double error = Math.Sqrt(err / norm);
        TestContext.Out.WriteLine($"{hidden}: hidden-pixel relative error at σmin after {steps} steps: {error:F3} (grey: 1)");
        return error;
    }
}
