using AmbientNative.Tests.Data;
using AmbientNative.Training;
using static AmbientNative.Tests.Cli.CliRunner;

namespace AmbientNative.Tests.Cli;

/// <summary>
/// The CLI on a CUDA device (a GPU, or the CUDA emulator in CI's emulated GPU run): train, resume and sample with
/// --device cuda at toy size, and the same run on the CPU giving the same losses (both draw NormalRef's noise, so only
/// float32 rounding differs).
/// </summary>
[Category("Gpu")]
[NonParallelizable]
public class CliCudaTests
{
    private static readonly string[] Tiny = ["--data", "builtin:shapes:8", "--preset", "tiny", "--resolution", "8", "--batch", "4",
        "--warmup", "0", "--ema-halflife", "100", "--method", "ambient", "--p", "0.5"];

    [Test]
    public void Train_resume_and_sample_on_cuda_match_the_cpu()
    {
        var cudaBackend = AmbientNative.Backends.Cuda.CudaDevices.Backend(Gpu.Gpu.Device());
        using var dir = new TempDir();
        // The same split on both devices: metrics.csv's rows average the steps since the row before, so only runs
        // that log at the same steps compare row by row.
        foreach (var device in new[] { "cpu", "cuda" })
        {
            long launches = cudaBackend.Launches;
            Ok(["train", .. Tiny, "--device", device, "--steps", "2", "--sample-count", "0", "--out", dir[device]]);
            Ok("train", "--resume", dir[device], "--steps", "3", "--device", device, "--sample-count", "0");
            if (device == "cuda") Assert.That(cudaBackend.Launches, Is.GreaterThan(launches + 100), "the cuda runs ran on the device");
            else Assert.That(cudaBackend.Launches, Is.EqualTo(launches), "the cpu runs left the device alone");
            Assert.That(Checkpoint.FindLatest(dir[device]), Does.EndWith("checkpoint-000003.safetensors"));
        }

        // Step → loss, for the steps each run logged (the log interval decides which).
        Dictionary<int, double> Losses(string run) => File.ReadAllLines(Path.Combine(run, "metrics.csv")).Skip(1)
            .Select(l => l.Split(','))
            .ToDictionary(f => int.Parse(f[0]), f => double.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture));
        var onCpu = Losses(dir["cpu"]);
        var onCuda = Losses(dir["cuda"]);
        Assert.That(onCuda.Keys, Does.Contain(3), "the resumed run logged its last step");
        Assert.That(onCuda.Keys, Is.EquivalentTo(onCpu.Keys));
        foreach (var (step, loss) in onCpu)
            Assert.That(Math.Abs(onCuda[step] - loss) / Math.Abs(loss), Is.LessThan(1e-3), $"step {step}: cuda {onCuda[step]} cpu {loss}");

        Ok("sample", "--checkpoint", dir["cuda"], "--device", "cuda", "--count", "2", "--steps", "2", "--out", dir["samples"]);

        // --tf32: the conv kernels on the tensor cores for that command, and fp32 again for the next one.
        cudaBackend.KernelTimes = new(); // names every kernel launched
        try
        {
            var tf32 = Ok("bench", "--preset", "tiny", "--resolution", "8", "--batch", "2", "--steps", "2", "--warmup-steps", "0",
                "--device", "cuda", "--tf32", "--out", dir["bench"]);
            Assert.That(tf32.Output, Does.Contain("TF32 tensor cores"));
            Assert.That(cudaBackend.KernelTimes.Keys, Does.Contain("conv2d_fwd_tf32").And.Not.Contain("conv2d_fwd"));
            cudaBackend.KernelTimes.Clear();
            Ok("bench", "--preset", "tiny", "--resolution", "8", "--batch", "2", "--steps", "2", "--warmup-steps", "0",
                "--device", "cuda", "--out", dir["bench-fp32"]);
            Assert.That(cudaBackend.KernelTimes.Keys, Does.Contain("conv2d_fwd").And.Not.Contain("conv2d_fwd_tf32"));
        }
        finally { cudaBackend.KernelTimes = null; cudaBackend.ConvTf32 = false; }
        // Sampling on the device of the checkpoint's training is the CLI's whole GPU path end to end.
        var samples = AmbientNative.Data.NpyFormat.Load(dir["samples/samples.npy"], AmbientNative.Data.NpyLayout.Nchw,
            AmbientNative.Data.NpyValueRange.MinusOneToOne);
        Assert.That(samples.Count, Is.EqualTo(2));
        Assert.That(samples.Images.ToArray(), Is.All.InRange(-1f, 1f));
    }
}
