using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ambient.Cli.Common;
using Spectre.Console;

namespace Ambient.Cli.Commands;

/// <summary><c>ambient sample</c>: samples from a checkpoint with the sampler its method needs.</summary>
internal static class SampleCommand
{
    /// <summary>samples.json: where the samples came from, so <c>memorization --samples</c> finds the training data.</summary>
    internal sealed record SampleInfo(
        [property: JsonPropertyName("checkpoint")] string Checkpoint,
        [property: JsonPropertyName("step")] long Step,
        [property: JsonPropertyName("weights")] string Weights,
        [property: JsonPropertyName("count")] int Count,
        [property: JsonPropertyName("steps")] int Steps,
        [property: JsonPropertyName("seed")] ulong Seed,
        [property: JsonPropertyName("sampler")] string Sampler);

    public const string InfoFile = "samples.json", NpyFileName = "samples.npy";

    public static Command Create(CliContext cli)
    {
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "A checkpoint-<step>.safetensors, or a train run folder (its newest checkpoint).", Required = true, HelpName = "PATH" };
        var count = CliOptions.PositiveInt("--count", "How many samples.", 64);
        var steps = new Option<int>("--steps") { Description = "Heun steps N (2N − 1 network calls; EDM: 18 at 32 px, 40 at 64 px).", DefaultValueFactory = _ => 18, HelpName = "N" }
            .Validated(v => v >= 2 ? null : $"--steps {v} must be at least 2.");
        var sigmaMin = new Option<double>("--sigma-min") { Description = "Lowest noise level of the schedule (EDM: 0.002); the last step returns D there.", DefaultValueFactory = _ => AmbientNative.Diffusion.Edm.SigmaMin, HelpName = "σ" }
            .Validated(v => v > 0 && v < AmbientNative.Diffusion.Edm.SigmaMax ? null : $"--sigma-min {v} must be in (0, 80).");
        var raw = new Option<bool>("--raw") { Description = "Sample with the raw trained weights instead of the EMA weights." };
        var ema = new Option<bool>("--ema") { Description = "Sample with the EMA weights (the default)." };
        var seed = CliOptions.Seed("the initial noise and the ambient sampler's masks");
        var device = CliOptions.Device();
        var output = CliOptions.Out();
        var cmd = Help.Command("sample", """
            Draw samples from a checkpoint with the sampler its method needs.

            Draw samples from a trained model with the sampler its method needs (read from the checkpoint): EDM's Heun
            sampler for clean models, the fixed-mask ambient sampler (one mask per sample, kept for every step) for
            ambient models, Heun stopped at σn for Tweedie models. Writes samples.png, samples.npy (float32
            [N, C, H, W] in [−1, 1]) and samples.json.

            Examples:
              ambient sample --checkpoint runs/train-20250101-120000 --count 64
              ambient sample -c runs/fm-clean/checkpoint-002000.safetensors --steps 40 --raw --out runs/fm-samples
            """).With(checkpoint, count, steps, sigmaMin, ema, raw, seed, device, output);
        cmd.SetAction(p =>
        {
            if (p.GetValue(raw) && p.GetValue(ema)) throw new UsageException("--ema and --raw exclude each other.");
            var dev = Devices.Resolve(cli, p.GetValue(device)!);
            bool useEma = !p.GetValue(raw);
            string dir = CliOptions.OutDir(p, output, "sample");
            using var file = ModelFile.Load(p.GetValue(checkpoint)!, dev, useEma);
            int n = p.GetValue(count), nSteps = p.GetValue(steps);
            ulong s = p.GetValue(seed);
            cli.Note($"{file.Path} (step {file.Step}, {file.Config.Method.ToString().ToLowerInvariant()}, {file.Config.CorruptionText}); {file.Config.SamplerName}, {nSteps} steps, {(useEma ? "EMA" : "raw")} weights; {dev.Name}");
            using var samples = ProgressView.Run(cli, $"sample {n}", n, report => Sampling.Generate(file.Config, file.Model, n, nSteps, s, report, cli.Cancellation, p.GetValue(sigmaMin)));
            Write(dir, samples, new SampleInfo(Path.GetFullPath(file.Path), file.Step, useEma ? "ema" : "raw", n, nSteps, s, file.Config.SamplerName));
            cli.Console.MarkupLine($"wrote [bold]{Markup.Escape(Path.Combine(dir, Grids.Samples))}[/], {NpyFileName}, {InfoFile}");
            return 0;
        });
        return cmd;
    }

    public static void Write(string dir, AmbientNative.Tensors.Tensor samples, SampleInfo info)
    {
        Directory.CreateDirectory(dir);
        Grids.SaveSamples(Path.Combine(dir, Grids.Samples), samples);
        NpyFile.Write(Path.Combine(dir, NpyFileName), samples);
        File.WriteAllText(Path.Combine(dir, InfoFile), JsonSerializer.Serialize(info, new JsonSerializerOptions { WriteIndented = true }));
    }
}
