using System.CommandLine;
using Ambient.Cli.Common;
using AmbientNative.Tensors;
using Spectre.Console;

namespace Ambient.Cli.Commands;

/// <summary><c>ambient memorization</c>: how close generated samples come to the training set.</summary>
internal static class MemorizationCommand
{
    public static Command Create(CliContext cli)
    {
        var samplesOpt = new Option<string?>("--samples", "-s") { Description = "Samples to test: a samples.npy (from sample or train), or the folder holding it.", HelpName = "PATH" };
        var checkpoint = new Option<string?>("--checkpoint", "-c") { Description = "Or: a checkpoint (or train run folder) to draw --count samples from first.", HelpName = "PATH" };
        var data = new Option<string?>("--data") { Description = "Training images to search [default: the data the checkpoint was trained on].", HelpName = "PATH|builtin:shapes[:N]" };
        var limit = new Option<int?>("--limit") { Description = "With --data: the --limit the model was trained with.", HelpName = "N" };
        var dataSeed = new Option<ulong>("--data-seed") { Description = "With --data and --limit: the --seed the model was trained with (it picks the subset).", DefaultValueFactory = _ => 0UL };
        var features = new Option<string>("--features") { Description = "Feature space for cosine similarity: pixel (centred pixels) or a path to an ONNX image model such as an exported DINOv2 (the papers' space).", DefaultValueFactory = _ => "pixel", HelpName = "pixel|MODEL.onnx" };
        var count = CliOptions.PositiveInt("--count", "With --checkpoint: samples to draw.", 64);
        var steps = new Option<int>("--steps") { Description = "With --checkpoint: Heun steps.", DefaultValueFactory = _ => 18, HelpName = "N" }
            .Validated(v => v >= 2 ? null : $"--steps {v} must be at least 2.");
        var seed = CliOptions.Seed("the samples drawn with --checkpoint");
        var device = CliOptions.Device();
        var output = CliOptions.Out();
        var cmd = Help.Command("memorization", """
            Measure how close samples come to the training set (report.json, histogram, neighbour grid).

            Measure memorization as the papers do: for each sample, the maximum cosine similarity to every training image
            (centred pixels, or the features of an ONNX model such as DINOv2), the fractions above 0.90 / 0.95 / 0.99,
            and each sample beside its nearest training images. Writes report.json, similarity_histogram.png and
            nearest_neighbours.png.

            Examples:
              ambient memorization --checkpoint runs/train-20250101-120000 --count 200
              ambient memorization --samples runs/sample-20250101-130000/samples.npy
              ambient memorization --samples samples.npy --data faces/ --limit 3000 --features dinov2.onnx
            """).With(samplesOpt, checkpoint, data, limit, dataSeed, features, count, steps, seed, device, output);
        cmd.SetAction(p =>
        {
            string? samplesPath = p.GetValue(samplesOpt), ckpt = p.GetValue(checkpoint);
            if ((samplesPath == null) == (ckpt == null)) throw new UsageException("give the samples with --samples PATH or a model to sample with --checkpoint PATH (one of them).");
            var dev = Devices.Resolve(cli, p.GetValue(device)!);
            string dir = CliOptions.OutDir(p, output, "memorization");
            Tensor samples;
            RunConfig? config;
            if (ckpt != null)
            {
                using var file = ModelFile.Load(ckpt, dev, ema: true);
                config = file.Config;
                int n = p.GetValue(count);
                cli.Note($"sampling {n} from {file.Path} ({file.Config.SamplerName})");
                samples = ProgressView.Run(cli, $"sample {n}", n, report => Sampling.Generate(file.Config, file.Model, n, p.GetValue(steps), p.GetValue(seed), report, cli.Cancellation));
                SampleCommand.Write(dir, samples, new SampleCommand.SampleInfo(Path.GetFullPath(file.Path), file.Step, "ema", n, p.GetValue(steps), p.GetValue(seed), file.Config.SamplerName));
            }
            else
            {
                string path = Directory.Exists(samplesPath) ? Path.Combine(samplesPath!, SampleCommand.NpyFileName) : samplesPath!;
                samples = NpyFile.Read(path);
                config = Memorization.ConfigBeside(path);
            }
            using (samples)
            {
                var (_, c, h, w) = samples.Shape.Nchw("samples");
                DataSpec spec = p.GetValue(data) is { } d
                    ? new DataSpec(d, p.GetValue(limit), c, h, p.GetValue(dataSeed))
                    : config?.Data ?? throw new UsageException("no run config beside the samples says what the training data was; give it with --data.");
                using var training = TrainingRun.LoadData(cli, spec).ToTensor();
                var fx = Memorization.Features(p.GetValue(features)!);
                try
                {
                    var report = Memorization.Evaluate(cli, samples, training, fx, dev, dir);
                    cli.Console.Write(Memorization.Table(("samples", report)));
                }
                finally { (fx as IDisposable)?.Dispose(); }
            }
            cli.Console.MarkupLine($"wrote [bold]{Markup.Escape(dir)}[/]: report.json, similarity_histogram.png, nearest_neighbours.png");
            return 0;
        });
        return cmd;
    }
}
