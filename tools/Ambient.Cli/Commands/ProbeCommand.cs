using System.CommandLine;
using System.Globalization;
using Ambient.Cli.Common;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Evaluation;
using AmbientNative.Imaging;
using Spectre.Console;

namespace Ambient.Cli.Commands;

/// <summary><c>ambient probe</c>: erase or noise training images, let the model restore them, compare with the originals.</summary>
internal static class ProbeCommand
{
    public static Command Create(CliContext cli)
    {
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "A checkpoint, or a train run folder (its newest checkpoint; EMA weights).", Required = true, HelpName = "PATH" };
        var data = new Option<string?>("--data") { Description = "Training images [default: the data the checkpoint was trained on].", HelpName = "PATH|builtin:shapes[:N]" };
        var erase = new Option<double?>("--erase") { Description = "Erase this fraction of each image (see --pattern) [default: 0.8 when --noise is not given].", HelpName = "P" }
            .Validated(v => v is null or (>= 0 and < 1) ? null : $"--erase {v?.ToString(CultureInfo.InvariantCulture)} must be in [0, 1).");
        var pattern = new Option<string>("--pattern") { Description = "With --erase: pixel, box or fixed_box.", DefaultValueFactory = _ => "pixel", HelpName = "pixel|box|fixed_box" }
            .Validated(v => v is "pixel" or "box" or "fixed_box" ? null : $"--pattern {v}: expected pixel, box or fixed_box.");
        var noise = new Option<double?>("--noise") { Description = "Instead of erasing: add Gaussian noise of this σ (in the [−1, 1] scale).", HelpName = "σ" }
            .Validated(v => v is null or > 0 ? null : $"--noise {v?.ToString(CultureInfo.InvariantCulture)} must be positive.");
        var count = CliOptions.PositiveInt("--count", "Training images to probe (a fixed, seeded choice).", 32);
        var restorer = new Option<string>("--restorer") { Description = "sampler (the model's Heun sampler: inpainting with the observed pixels re-imposed, or the ODE from the noisy image at σ) or denoise (one call of D, the posterior mean).", DefaultValueFactory = _ => "sampler", HelpName = "sampler|denoise" }
            .Validated(v => v is "sampler" or "denoise" ? null : $"--restorer {v}: expected sampler or denoise.");
        var steps = new Option<int>("--steps") { Description = "Heun steps of the sampler restorer.", DefaultValueFactory = _ => 18, HelpName = "N" }
            .Validated(v => v >= 2 ? null : $"--steps {v} must be at least 2.");
        var maskSeed = new Option<ulong?>("--mask-seed") { Description = "Seed of the probe's masks/noise [default: the training corruption's, so --erase p with the training p erases exactly the pixels the model never saw]." };
        var seed = CliOptions.Seed("the choice of images and the sampler's noise");
        var features = new Option<string>("--features") { Description = "pixel or an ONNX image model (see memorization).", DefaultValueFactory = _ => "pixel", HelpName = "pixel|MODEL.onnx" };
        var device = CliOptions.Device();
        var output = CliOptions.Out();
        var cmd = Help.Command("probe", """
            Erase or noise training images, let the model restore them, and compare with the originals.

            Probe a trained model for memorization: erase most of some training images (or add strong noise), let the model
            restore them, and compare each restoration with its original. Near-exact restorations of pixels the model
            was never shown reveal memorized images. Writes probe.json, similarity_histogram.png and probe_grid.png
            (original | observed, erased grey | restored | nearest training image).

            Examples:
              ambient probe --checkpoint runs/demo/clean --erase 0.9
              ambient probe -c runs/fm-ambient --noise 1.0 --count 64
              ambient probe -c runs/fm-ambient --erase 0.5 --pattern box --restorer denoise
            """).With(checkpoint, data, erase, pattern, noise, count, restorer, steps, maskSeed, seed, features, device, output);
        cmd.SetAction(p =>
        {
            if (p.GetValue(erase) is not null && p.GetValue(noise) is not null) throw new UsageException("--erase and --noise exclude each other.");
            if (p.GetValue(noise) is not null && CliOptions.Given(p, pattern)) throw new UsageException("--pattern applies to --erase, not --noise.");
            var dev = Devices.Resolve(cli, p.GetValue(device)!);
            string dir = CliOptions.OutDir(p, output, "probe");
            using var file = ModelFile.Load(p.GetValue(checkpoint)!, dev, ema: true);
            var config = file.Config;
            ulong mSeed = p.GetValue(maskSeed) ?? config.Corruption.Seed;
            double? sigma = p.GetValue(noise);
            double fraction = p.GetValue(erase) ?? 0.8;
            var spec = sigma is { } s ? CorruptionSpec.GaussianNoise(s, mSeed) : p.GetValue(pattern) switch
            {
                "box" => CorruptionSpec.Box(fraction, 0, mSeed),
                "fixed_box" => CorruptionSpec.FixedBox(fraction, 0, mSeed),
                _ => CorruptionSpec.PixelErase(fraction, 0, perChannel: config.Corruption.PerChannel, mSeed),
            };
            var dataSpec = p.GetValue(data) is { } d ? config.Data with { Source = d, Limit = null } : config.Data;
            using var training = TrainingRun.LoadData(cli, dataSpec).ToTensor();
            int n = Math.Min(p.GetValue(count), training.Shape[0]);
            var indices = MemorizationProbe.PickImages(training.Shape[0], n, p.GetValue(seed));
            var denoiser = config.BuildDenoiser(file.Model);
            file.Model.Eval();
            var r = Restorers.Create(p.GetValue(restorer)!, config, denoiser, p.GetValue(steps), p.GetValue(seed));
            var fx = Memorization.Features(p.GetValue(features)!);
            try
            {
                cli.Note($"{file.Path}: {config.Method.ToString().ToLowerInvariant()} model ({config.CorruptionText}); probing {n} training images, {(sigma is { } sg ? $"noise σ = {sg:G3}" : $"{spec.Kind} p = {fraction:G3}")}, restorer: {r.Name}");
                using var result = ProgressView.Run(cli, $"probe {n}", n, report =>
                    MemorizationProbe.Run(r, training, indices, spec, new ProbeOptions { Features = fx, Device = dev, BatchSize = 32 },
                        new Reporter(report), cli.Cancellation));
                EvaluationFigures.WriteProbe(dir, result, training, rows: 8, scale: Grids.Scale(training.Shape[2]));
                var rs = result.Report.RestorationSimilarity;
                var t = new Table().Border(TableBorder.Rounded).AddColumn("restoration vs original").AddColumn(new TableColumn("").RightAligned());
                t.AddRow("images probed", $"{rs.Count}");
                foreach (var a in rs.Above) t.AddRow($"fraction ≥ {a.Threshold:0.00}", $"{a.Fraction:P1}");
                t.AddRow("mean / median similarity", $"{rs.Mean:0.000} / {rs.Median:0.000}");
                t.AddRow("nearest training image is the source", $"{result.Report.NearestIsSource:P1}");
                cli.Console.Write(t);
            }
            finally { (fx as IDisposable)?.Dispose(); }
            cli.Console.MarkupLine($"wrote [bold]{Markup.Escape(dir)}[/]: probe.json, similarity_histogram.png, probe_grid.png");
            return 0;
        });
        return cmd;
    }

    private sealed class Reporter(Action<double, string?> report) : IProgress<int>
    {
        public void Report(int done) => report(done, null);
    }
}
