using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ambient.Cli.Common;
using AmbientNative.Data;
using AmbientNative.Diffusion;
using AmbientNative.Training;
using Spectre.Console;

namespace Ambient.Cli.Commands;

/// <summary><c>ambient bench</c>: training-step throughput of a preset at a batch size on a device.</summary>
internal static class BenchCommand
{
    internal sealed record BenchResult(
        [property: JsonPropertyName("preset")] string Preset,
        [property: JsonPropertyName("method")] string Method,
        [property: JsonPropertyName("resolution")] int Resolution,
        [property: JsonPropertyName("parameters")] long Parameters,
        [property: JsonPropertyName("batch")] int Batch,
        [property: JsonPropertyName("device")] string Device,
        [property: JsonPropertyName("warmup_steps")] int WarmupSteps,
        [property: JsonPropertyName("steps")] int Steps,
        [property: JsonPropertyName("ms_per_step_median")] double MsMedian,
        [property: JsonPropertyName("ms_per_step_min")] double MsMin,
        [property: JsonPropertyName("ms_per_step_mean")] double MsMean,
        [property: JsonPropertyName("images_per_s")] double ImagesPerSecond);

    public static Command Create(CliContext cli)
    {
        var knobs = new TrainOptionSet();
        var steps = CliOptions.PositiveInt("--steps", "Timed training steps.", 10);
        var warmup = new Option<int>("--warmup-steps") { Description = "Untimed steps first (JIT, allocator and kernel caches warm up).", DefaultValueFactory = _ => 2, HelpName = "N" }
            .Validated(v => v >= 0 ? null : $"--warmup-steps {v} must be ≥ 0.");
        var batch = CliOptions.PositiveInt("--batch", "Images per step.", 32);
        var output = CliOptions.Out();
        var cmd = Help.Command("bench", """
            Measure training throughput (ms/step, images/s) of a U-Net preset on a device.

            Measure training throughput: full optimizer steps (objective, backward, Adam, EMA) of a U-Net preset on
            procedural images, timed one by one after a warm-up. Prints ms/step and images/s; writes bench.json.

            Examples:
              ambient bench --preset reference --batch 32
              ambient bench --preset edm-cifar --batch 128 --device cuda --steps 20
              ambient bench --preset tiny --batch 64 --method clean
            """).With(knobs.Method, knobs.Preset, knobs.Resolution, batch, steps, warmup, knobs.Gated, knobs.Device, knobs.Tf32, knobs.Seed, output);
        cmd.SetAction(p =>
        {
            var device = Devices.Resolve(cli, p.GetValue(knobs.Device)!);
            Devices.UseTf32(cli, device, p.GetValue(knobs.Tf32));
            var s = new TrainSettings
            {
                Method = p.GetValue(knobs.Method) switch { "clean" => Method.Clean, "tweedie" => Method.Tweedie, _ => Method.Ambient },
                Preset = p.GetValue(knobs.Preset)!, Resolution = p.GetValue(knobs.Resolution), Gated = p.GetValue(knobs.Gated),
                Batch = p.GetValue(batch), Steps = 1, Warmup = 0, CheckpointEvery = 0, SampleCount = 0,
            };
            int n = p.GetValue(steps), w = p.GetValue(warmup);
            string dir = CliOptions.OutDir(p, output, "bench");
            var config = s.ToRunConfig(3);
            var data = ProceduralShapes.Generate(Math.Max(s.Batch, 64), config.UNet.Resolution, 3, seed: 1);
            using var model = config.BuildModel(device, 0);
            var corrupted = TrainingRun.Corrupt(data, config);
            using var trainer = new Trainer(model, config.BuildObjective(config.BuildDenoiser(model)), new CorruptedBatchSource(corrupted),
                s.ToTrainerOptions(dir) with { TotalSteps = n + w }, config.ToJson());
            var ms = ProgressView.Run(cli, $"bench {s.Preset} batch {s.Batch}", n + w, report =>
            {
                var times = new List<double>();
                for (int i = 0; i < n + w; i++)
                {
                    cli.Cancellation.ThrowIfCancellationRequested();
                    var clock = Stopwatch.StartNew();
                    trainer.TrainStep();
                    if (i >= w) times.Add(clock.Elapsed.TotalMilliseconds);
                    report(i + 1, i >= w ? $"bench · {times.Average():0.0} ms/step" : "bench · warm-up");
                }
                return times;
            });
            ms.Sort();
            double median = ms[ms.Count / 2], mean = ms.Average();
            var r = new BenchResult(s.Preset, p.GetValue(knobs.Method)!, config.UNet.Resolution, model.ParameterCount(), s.Batch, device.Name,
                w, n, median, ms[0], mean, s.Batch / (median / 1000));
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "bench.json"), JsonSerializer.Serialize(r, new JsonSerializerOptions { WriteIndented = true }));
            var t = new Table().Border(TableBorder.Rounded).AddColumns("preset", "method", "params", "batch", "device", "ms/step (median)", "min", "img/s");
            t.AddRow(r.Preset, r.Method, $"{r.Parameters / 1e6:0.###} M", $"{r.Batch}", Markup.Escape(r.Device), $"{r.MsMedian:0.0}", $"{r.MsMin:0.0}", $"{r.ImagesPerSecond:0.0}");
            cli.Console.Write(t);
            cli.Note($"wrote {Path.Combine(dir, "bench.json")}");
            return 0;
        });
        return cmd;
    }
}
