using System.Diagnostics;
using System.Text.Json;
using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Training;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Nn;

/// <summary>
/// Our whole ambient training step's maths against benchmarks/anchors/unet_mirror.py (a PyTorch mirror of our U-Net,
/// preconditioning and loss that loads our safetensors by name): the same weights and inputs give the same denoiser
/// output, loss and every parameter gradient in float32. Explicit: it needs /usr/bin/python3 with torch (CI has none).
/// </summary>
public class UNetTorchMirrorTests
{
    private const double Tolerance = 1e-4;

    [TestCase("tiny", 3)]
    [TestCase("reference", 2)]
    [Explicit("needs /usr/bin/python3 with torch; writes the input file, runs benchmarks/anchors/unet_mirror.py parity")]
    public void Denoiser_loss_and_gradients_match_the_pytorch_mirror(string preset, int n) => Compare(preset, n, Device.Cpu);

    /// <summary>The same check with our GPU backend (issue 4): runs in the GPU session, where python3 has torch.</summary>
    [TestCase("tiny", 3)]
    [TestCase("reference", 4)]
    [Category("GpuMirror")]
    public void On_the_gpu_denoiser_loss_and_gradients_match_the_pytorch_mirror(string preset, int n)
    {
        if (Environment.GetEnvironmentVariable("AMBIENT_PYTHON") == null) Assert.Ignore("set AMBIENT_PYTHON (a python3 with torch) to run the mirror check");
        Compare(preset, n, Gpu.Gpu.Device());
    }

    private static void Compare(string preset, int n, Device dev)
    {
        var config = UNetConfig.Preset(preset) with { Dropout = 0f };
        var rng = Rand.For(preset, n);
        using var net = new UNet(config, dev, seed: 7);
        // Unit-gain random weights instead of the init: EDM's near-zero residual ends (conv1, proj, aux_conv) would
        // hide a wrong branch behind a 1e-5 factor.
        foreach (var p in net.Parameters())
        {
            var v = new float[p.Numel];
            rng.FillNormal(v);
            bool matrix = p.Shape.Rank >= 2, scale = p.Name.EndsWith(".weight") && !matrix;
            float s = matrix ? 1f / MathF.Sqrt(p.Numel / p.Shape[0]) : 0.3f;
            for (int i = 0; i < v.Length; i++) v[i] = scale ? 1f + s * v[i] : s * v[i];
            p.Storage.CopyFrom(v);
        }

        int r = config.Resolution, c = config.ImageChannels;
        var imageShape = new Shape(n, c, r, r);
        var maskShape = new Shape(n, 1, r, r);
        var y = Rand.Uniform(rng, imageShape.Numel, -1, 1).Select(v => (float)v).ToArray();
        var noise = Rand.Normal(rng, imageShape.Numel).Select(v => (float)v).ToArray();
        var maskA = Bernoulli(rng, maskShape.Numel, 0.7);
        var maskAt = maskA.Select(a => a * (rng.NextFloat() < 0.9 ? 1f : 0f)).ToArray(); // Ã ⊆ A
        for (int i = 0; i < y.Length; i++) y[i] *= maskA[(i / (c * r * r)) * r * r + i % (r * r)]; // y = A ⊙ x0
        double[] sigma = Enumerable.Range(0, n).Select(i => Math.Exp(-1.2 + 1.2 * rng.NextNormal())).ToArray();
        sigma[0] = 0.02; sigma[^1] = 20; // both ends of the preconditioning

        string dir = Path.Combine(Path.GetTempPath(), $"unet_mirror_{Environment.ProcessId}_{preset}");
        Directory.CreateDirectory(dir);
        string input = Path.Combine(dir, "in.safetensors"), output = Path.Combine(dir, "out.safetensors");
        var tensors = net.Parameters().Select(p => new SafetensorsTensor(p.Name, p.ToArray(), p.Shape.ToArray())).ToList();
        tensors.Add(new("input.y", y, Dims(imageShape)));
        tensors.Add(new("input.noise", noise, Dims(imageShape)));
        tensors.Add(new("input.mask_a", maskA, Dims(maskShape)));
        tensors.Add(new("input.mask_atilde", maskAt, Dims(maskShape)));
        tensors.Add(new("input.sigma", sigma.Select(s => (float)s).ToArray(), [n]));
        Safetensors.Write(input, tensors, new Dictionary<string, string> { ["config"] = JsonSerializer.Serialize(config) });

        RunMirror(input, output);
        var torch = Safetensors.Read(output).Tensors;

        // Ours: the production AmbientLoss on the fast CPU backend, then D alone with the same inputs.
        using var yT = Tensor.FromArray(y, imageShape, dev);
        using var noiseT = Tensor.FromArray(noise, imageShape, dev);
        using var aT = Tensor.FromArray(maskA, maskShape, dev);
        using var atT = Tensor.FromArray(maskAt, maskShape, dev);
        var denoiser = new EdmPreconditioner(net);
        var loss = new AmbientLoss(denoiser);
        float[] d;
        double ourLoss, ourLossAt;
        using (var tape = new Tape())
        {
            var res = loss.Compute(new TrainingBatch(yT, aT, atT), sigma, noiseT);
            ourLoss = res.Terms["loss"];
            ourLossAt = res.Terms["loss_atilde"];
            tape.Backward(res.Loss);
        }
        using (var tape = new Tape())
        using (NoGrad.Scope())
        {
            var sigmaT = Tape.Own(Tensor.FromArray(sigma.Select(s => (float)s).ToArray(), new Shape(n), dev));
            var xt = yT + Tape.Own(Tensor.FromArray(sigma.Select(s => (float)s).ToArray(), new Shape(n, 1, 1, 1), dev)) * noiseT;
            d = denoiser.Denoise(xt, sigmaT, atT).ToArray();
        }

        var errors = new List<(string Name, double Err)>
        {
            ("loss", Math.Abs(ourLoss - torch["out.loss"].Data[0]) / Math.Abs(torch["out.loss"].Data[0])),
            ("loss_atilde", Math.Abs(ourLossAt - torch["out.loss_atilde"].Data[0]) / Math.Abs(torch["out.loss_atilde"].Data[0])),
            ("d", RelErr(d, torch["out.d"].Data)),
        };
        foreach (var p in net.Parameters())
        {
            Assert.That(p.Grad, Is.Not.Null, $"no gradient for {p.Name}");
            errors.Add((p.Name, RelErr(p.Grad!.ToArray(), torch["grad." + p.Name].Data)));
        }
        var worst = errors.OrderByDescending(e => e.Err).First();
        TestContext.Progress.WriteLine($"{preset} on {dev}, N = {n}: loss {ourLoss:G7} (torch {torch["out.loss"].Data[0]:G7}); " +
            $"rel. err: loss {errors[0].Err:E2}, D {errors[2].Err:E2}, worst gradient {worst.Name} {worst.Err:E2}, " +
            $"median gradient {errors.Skip(3).Select(e => e.Err).Order().ElementAt((errors.Count - 3) / 2):E2}");
        Assert.That(errors.Where(e => !(e.Err < Tolerance)).Select(e => $"{e.Name}: {e.Err:E2}"), Is.Empty);
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>‖a − b‖ / ‖b‖ over a whole tensor.</summary>
    private static double RelErr(float[] a, float[] b)
    {
        Assert.That(a.Length, Is.EqualTo(b.Length));
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++) { num += (a[i] - (double)b[i]) * (a[i] - (double)b[i]); den += (double)b[i] * b[i]; }
        return Math.Sqrt(num / Math.Max(den, 1e-300));
    }

    private static float[] Bernoulli(Rng rng, int n, double p) =>
        Enumerable.Range(0, n).Select(_ => rng.NextFloat() < p ? 1f : 0f).ToArray();

    private static int[] Dims(Shape s) => s.ToArray();

    private static void RunMirror(string input, string output)
    {
        string python = Environment.GetEnvironmentVariable("AMBIENT_PYTHON") ?? "/usr/bin/python3";
        string script = Environment.GetEnvironmentVariable("AMBIENT_ANCHORS") is { } anchors
            ? Path.Combine(anchors, "unet_mirror.py")
            : Path.Combine(RepoRoot(), "benchmarks", "anchors", "unet_mirror.py");
        if (!File.Exists(python)) Assert.Ignore($"{python} is missing");
        var psi = new ProcessStartInfo(python) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { script, "parity", input, output }) psi.ArgumentList.Add(arg);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (err.Contains("No module named 'torch'")) Assert.Ignore("torch is not importable by " + python);
        Assert.That(p.ExitCode, Is.EqualTo(0), err);
        TestContext.Progress.WriteLine(stdout.Result.Trim());
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "AmbientNative.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("AmbientNative.sln not found above " + AppContext.BaseDirectory);
    }
}
