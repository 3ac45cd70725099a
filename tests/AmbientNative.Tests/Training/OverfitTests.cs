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
/// The overfit check: the tiny U-Net learns 4 images on the CPU in a few hundred steps.
/// The training loss draws a fresh σ each step and at large σ even a perfect model keeps a loss near the spread of
/// the 4 images, so "before" and "after" are measured on fixed draws instead: σ ∈ {0.5, 1} for each image with fixed
/// noise — high enough that the untrained skip path (c_skip·x) is far from x0, low enough that the 4 images stay
/// distinguishable, so a memorizing model can drive the loss far below the untrained one.
/// Measured here (2 cores, 2026-11-25): clean EDM 16–17× lower after 400 steps; Ambient (p = 0.2, δ = 0.1) 4.2× lower
/// after 300 steps — it learns more slowly because a quarter of each image's pixels are hidden from its input.
/// </summary>
public class OverfitTests
{
    private const int Count = 4, Res = 16;
    private static readonly double[] FixedSigmas = [0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0];
    private static readonly int[] FixedIndices = [0, 1, 2, 3, 0, 1, 2, 3];

    [Test]
    public void Tiny_unet_learns_four_clean_images_loss_falls_tenfold()
    {
        var clean = ProceduralShapes.Generate(Count, Res, 3, seed: 7);
        using var net = new UNet(UNetConfig.Tiny with { Dropout = 0f, MaskChannels = 0 }, Device.Cpu, seed: 11);
        var objective = new EdmLoss(new EdmPreconditioner(net));
        var source = new CleanBatchSource(clean.Images.ToArray(), Count, 3, Res, Res);
        var (before, after) = TrainAndMeasure(net, objective, source, steps: 400, lr: 4e-3,
            (b, s, n) => objective.Compute(b, s, n));
        Assert.That(after, Is.LessThan(before / 10), $"clean loss fell only from {before:F2} to {after:F2}");
    }

    [Test]
    public void Tiny_unet_learns_four_pixel_erased_images_with_the_ambient_loss()
    {
        var clean = ProceduralShapes.Generate(Count, Res, 3, seed: 7);
        var data = new CorruptedDataset(clean.Images, Count, 3, Res, Res, CorruptionSpec.PixelErase(0.2, 0.1, seed: 3));
        using var net = new UNet(UNetConfig.Tiny with { Dropout = 0f }, Device.Cpu, seed: 11);
        var objective = new AmbientLoss(new EdmPreconditioner(net));
        var (before, after) = TrainAndMeasure(net, objective, new CorruptedBatchSource(data), steps: 300, lr: 2e-3,
            (b, s, n) => objective.Compute(b, s, n));
        Assert.That(after, Is.LessThan(before / 3), $"ambient loss fell only from {before:F2} to {after:F2}");
    }

    private static (double Before, double After) TrainAndMeasure(UNet net, ITrainingObjective objective, IBatchSource source,
        int steps, double lr, Func<TrainingBatch, double[], Tensor, ObjectiveResult> fixedLoss)
    {
        var dir = Path.Combine(Path.GetTempPath(), "ambient-overfit-" + Guid.NewGuid().ToString("N"));
        try
        {
            double before = FixedDrawLoss(source, fixedLoss);
            var options = new TrainerOptions
            {
                RunDirectory = dir, BatchSize = Count, TotalSteps = steps, LearningRate = lr, WarmupImages = 0,
                CheckpointEvery = steps, MetricsEvery = 50, Seed = 5,
            };
            using (var trainer = new Trainer(net, objective, source, options, "{}"))
                trainer.Run();
            double after = FixedDrawLoss(source, fixedLoss);
            TestContext.Out.WriteLine($"fixed-draw loss: before {before:F2}, after {after:F2} ({before / after:F1}× lower) after {steps} steps");
            return (before, after);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static double FixedDrawLoss(IBatchSource source, Func<TrainingBatch, double[], Tensor, ObjectiveResult> loss)
    {
        using var tape = new Tape();
        using var _ = NoGrad.Scope();
        var batch = source.Load(FixedIndices, new bool[FixedIndices.Length], Device.Cpu);
        try
        {
            using var noise = Tensor.Randn(batch.Observed.Shape, new Rng(1234), Device.Cpu);
            return loss(batch, FixedSigmas, noise).Terms["loss"];
        }
        finally
        {
            batch.Observed.Dispose(); batch.MaskA?.Dispose(); batch.MaskATilde?.Dispose(); batch.Clean?.Dispose();
        }
    }
}
