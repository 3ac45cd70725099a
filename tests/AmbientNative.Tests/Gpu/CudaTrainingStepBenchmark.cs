using System.Diagnostics;
using AmbientNative.Autograd;
using AmbientNative.Benchmarks.Shared;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Training;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// The headline GPU figure: one Ambient training step (σ and noise draws, preconditioned U-Net forward, loss,
/// backward, Adam) of the `reference` U-Net at batch 256, 32×32, fp32 (and with the TF32 tensor-core convs, beside
/// PyTorch's tf32 figure), on the GPU. Host clock around whole steps after
/// a device sync (the step reads its loss back, as training does). benchmarks/anchors/train_step_gpu.py times the same
/// step of the PyTorch mirror in the same call. Runs only with AMBIENT_GPU_BENCH=1; prints, asserts nothing of speed.
/// </summary>
[Category("GpuBench")]
public class CudaTrainingStepBenchmark
{
    [TestCase(256, false)]
    [TestCase(64, false)]
    [TestCase(256, true)]
    public void Reference_unet_ambient_step(int batch, bool tf32)
    {
        if (Environment.GetEnvironmentVariable("AMBIENT_GPU_BENCH") != "1") Assert.Ignore("set AMBIENT_GPU_BENCH=1 to run the GPU benchmark");
        var dev = Gpu.Device();
        var backend = Gpu.Backend();
        if (tf32 && backend.Context.Info.Major < 8) Assert.Ignore($"TF32 needs sm_80; the device is {backend.Context.Info.Arch}");
        backend.ConvTf32 = tf32;
        try { Measure(dev, batch, tf32 ? "tf32 convs" : "fp32"); }
        finally { backend.ConvTf32 = false; }
    }

    private static void Measure(Device dev, int batch, string precision)
    {
        var config = UNetConfig.Reference;
        using var net = new UNet(config, dev, seed: 1);
        var loss = new AmbientLoss(new EdmPreconditioner(net));
        using var arena = ParameterArena.Adopt(net.Parameters()); // as the Trainer does: Adam is one launch
        using var adam = new Adam(net.Parameters(), lr: 1e-4);
        var batchData = SyntheticAmbientBatch.Make(config, batch, dev, new Rng(2));
        var rng = new Rng(3);
        double Step()
        {
            adam.ZeroGrad();
            double l;
            using (var tape = new Tape())
            {
                var r = loss.Compute(batchData, rng);
                l = r.Terms["loss"];
                tape.Backward(r.Loss);
            }
            adam.Step();
            dev.Backend.Synchronize();
            return l;
        }
        for (int i = 0; i < 3; i++) Step();
        var ms = new List<double>();
        double last = 0;
        for (int i = 0; i < 10; i++)
        {
            var sw = Stopwatch.StartNew();
            last = Step();
            ms.Add(sw.Elapsed.TotalMilliseconds);
        }
        ms.Sort();
        double median = (ms[4] + ms[5]) / 2;
        TestContext.Out.WriteLine($"ours: reference U-Net ({net.ParameterCount()} parameters) ambient step, batch {batch}, {precision}: " +
            $"median {median:F2} ms = {batch / median * 1000:F0} img/s (min {ms[0]:F2}, max {ms[^1]:F2}); last loss {last:F4}");
        Assert.That(double.IsFinite(last), "loss is finite");

        // Where the time goes: two more steps with every launch synced and timed by kernel name (host clock).
        var be = Gpu.Backend();
        be.KernelTimes = [];
        var whole = Stopwatch.StartNew();
        Step(); Step();
        double wall = whole.Elapsed.TotalMilliseconds / 2;
        var times = be.KernelTimes;
        be.KernelTimes = null;
        double kernels = times.Values.Sum(t => t.Ms) / 2;
        TestContext.Out.WriteLine($"profile (synced launches), per step: {wall:F1} ms wall, {kernels:F1} ms in {times.Values.Sum(t => t.Calls) / 2} launches");
        foreach (var (name, t) in times.OrderByDescending(kv => kv.Value.Ms).Take(25))
            TestContext.Out.WriteLine($"  {name,-36} {t.Ms / 2,8:F2} ms {t.Calls / 2,6} calls {100 * t.Ms / 2 / kernels,5:F1} %");
        foreach (var t in new[] { batchData.Observed, batchData.MaskA!, batchData.MaskATilde! }) t.Dispose();
    }
}
