using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Ambient.Cli.Common;
using AmbientNative.Diffusion;
using AmbientNative.Evaluation;
using Spectre.Console;

namespace Ambient.Cli.Commands;

/// <summary>
/// <c>ambient demo</c>: the main job on a fresh machine. Two tiny U-Nets on the same few built-in shapes, one on the
/// clean images, one on the images with most pixels erased (Ambient Diffusion); then samples from both and the
/// memorization comparison. Sized to finish in minutes on two CPU cores.
/// <para>
/// Unlike <c>train</c> (whose default is the authors' equations), the demo's ambient model defaults to
/// <see cref="HiddenPixelPreconditioning.AsInfiniteNoise"/>: with the reference parametrization its hidden pixels stay
/// near grey after minutes of CPU training, and the comparison would show nothing. It says so when it runs.
/// </para>
/// </summary>
internal static class DemoCommand
{
    public static Command Create(CliContext cli)
    {
        var images = CliOptions.PositiveInt("--images", "Training images (built-in shapes). Few, so the clean model can copy them in minutes.", 16);
        var steps = CliOptions.PositiveInt("--steps", "Training steps per model.", 1200);
        var batch = CliOptions.PositiveInt("--batch", "Images per step.", 16);
        var lr = new Option<double>("--lr") { Description = "Learning rate (no warm-up: the run is short).", DefaultValueFactory = _ => 5e-3, HelpName = "LR" }
            .Validated(v => v > 0 && double.IsFinite(v) ? null : $"--lr {v.ToString(CultureInfo.InvariantCulture)} must be positive.");
        var p = CliOptions.Fraction("--p", "Fraction of pixels erased in the ambient model's training set.", 0.6);
        var samples = CliOptions.PositiveInt("--samples", "Samples drawn from each model.", 64);
        var sampleSteps = new Option<int>("--sample-steps") { Description = "Heun steps of the sampler.", DefaultValueFactory = _ => 18, HelpName = "N" }
            .Validated(v => v >= 2 ? null : $"--sample-steps {v} must be at least 2.");
        var hiddenPixels = CliOptions.HiddenPixels(HiddenPixelPreconditioning.AsInfiniteNoise);
        var seed = CliOptions.Seed("both models' weights, masks, batches and samples");
        var device = CliOptions.Device();
        var output = CliOptions.Out();
        var cmd = Help.Command("demo", """
            The main job: train a clean and an ambient model on built-in shapes and compare what they memorize.

            On built-in data: train a tiny clean and a tiny ambient model (60 % of pixels erased) on the same 16
            procedural 16×16 shapes, 1200 steps each, sample 64 from both, and compare how many samples copy a training
            image, beside a quality proxy (mean max similarity to 64 unseen shapes). About 3 minutes on 2 CPU cores.
            Writes comparison.png, similarity_comparison.png, comparison.json, and a full run folder per model
            (training data grid, samples, checkpoint, memorization report and nearest-neighbour grid).

            The ambient model uses --hidden-pixels infinite-noise by default, a documented deviation from the
            authors' preconditioning (README) that lets it learn to generate in minutes; --hidden-pixels reference
            gives the authors' exact equations (the default of train).

            Examples:
              ambient demo
              ambient demo --out runs/demo --device cuda --steps 2000
              ambient demo --hidden-pixels reference
            """).With(images, steps, batch, lr, p, samples, sampleSteps, hiddenPixels, seed, device, output);
        cmd.SetAction(parse =>
        {
            var dev = Devices.Resolve(cli, parse.GetValue(device)!);
            string dir = CliOptions.OutDir(parse, output, "demo");
            int n = parse.GetValue(images), nSteps = parse.GetValue(steps);
            var clock = Stopwatch.StartNew();
            var common = new TrainSettings
            {
                Data = $"builtin:shapes:{n}", Preset = "tiny", Resolution = 16, Batch = parse.GetValue(batch), Lr = parse.GetValue(lr),
                Steps = nSteps, Warmup = 0, EmaHalfLife = 1000, Dropout = 0, CheckpointEvery = 0, Seed = parse.GetValue(seed),
                SampleCount = parse.GetValue(samples), SampleSteps = parse.GetValue(sampleSteps),
            };
            var clean = common with { Method = Method.Clean };
            var ambient = common with { Method = Method.Ambient, P = parse.GetValue(p), HiddenPixels = CliOptions.ParseHiddenPixels(parse.GetValue(hiddenPixels)!)!.Value };
            cli.Console.MarkupLine($"[bold]ambient demo[/]: two tiny U-Nets on the same {n} built-in shapes (16×16): one on the clean images, " +
                                   $"one on the images with {ambient.P:P0} of their pixels erased. Then {common.SampleCount} samples from each, and how many copy a training image.");
            cli.Console.MarkupLine(Markup.Escape(HiddenPixelsLine(ambient.HiddenPixels)));
            var data = TrainingRun.LoadData(cli, new DataSpec(common.Data, null, null, 16, common.Seed));

            var cleanRun = TrainingRun.Start(cli, clean, Path.Combine(dir, "clean"), dev, data);
            if (cleanRun.Status != AmbientNative.Training.TrainStatus.Completed) return AmbientApp.Interrupted;
            // The ambient model costs about what the clean one did; evaluation is seconds.
            cli.Console.MarkupLine($"[grey]clean model done in {cleanRun.Seconds:0} s; the ambient model takes about as long: ETA ≈ {cleanRun.Seconds * 1.05 + 5:0} s[/]");
            var ambientRun = TrainingRun.Start(cli, ambient, Path.Combine(dir, "ambient"), dev, data);
            if (ambientRun.Status != AmbientNative.Training.TrainStatus.Completed) return AmbientApp.Interrupted;

            using var training = data.ToTensor();
            using var cleanSamples = NpyFile.Read(cleanRun.SamplesNpy!);
            using var ambientSamples = NpyFile.Read(ambientRun.SamplesNpy!);
            var fx = new PixelFeatures();
            var cleanReport = Memorization.Evaluate(cli, cleanSamples, training, fx, dev, Path.Combine(dir, "clean", "memorization"));
            var ambientReport = Memorization.Evaluate(cli, ambientSamples, training, fx, dev, Path.Combine(dir, "ambient", "memorization"));
            // A low copy rate means something only if the samples look like real images at all: the quality proxy is
            // their mean max similarity to shapes neither model was trained on (copying cannot raise it).
            using var heldOut = AmbientNative.Data.ProceduralShapes.Generate(64, 16, data.Channels, seed: 1).ToTensor();
            double cleanQuality = Quality(cleanSamples, heldOut, fx, dev), ambientQuality = Quality(ambientSamples, heldOut, fx, dev);
            string cleanName = "clean model", ambientName = $"ambient model (p = {ambient.P:0.##})";
            ComparisonFigures.SaveGrids(Path.Combine(dir, "comparison.png"),
                [("training images", training), ($"{cleanName}: samples", cleanSamples), ($"{ambientName}: samples", ambientSamples)]);
            ComparisonFigures.SaveHistograms(Path.Combine(dir, "similarity_comparison.png"), [(cleanName, cleanReport), (ambientName, ambientReport)]);
            WriteJson(Path.Combine(dir, "comparison.json"), (cleanRun, cleanReport, cleanQuality), (ambientRun, ambientReport, ambientQuality));

            var table = Memorization.Table((cleanName, cleanReport), (ambientName, ambientReport));
            table.AddRow("quality proxy: mean max similarity to 64 unseen shapes", $"{cleanQuality:0.000}", $"{ambientQuality:0.000}");
            cli.Console.Write(table);
            if (ambientQuality < 0.8 * cleanQuality)
                cli.Warn($"the ambient model's samples are much further from real shapes than the clean model's (quality proxy {ambientQuality:0.00} vs {cleanQuality:0.00}): " +
                         "learning from erased pixels is slower, and in this short run it has not learned to generate yet, so its low copy rate is not yet " +
                         "evidence of generalization. " +
                         (ambient.HiddenPixels == HiddenPixelPreconditioning.Reference
                             ? "With the reference parametrization, pixels the sampling mask hides come out near grey until the network has learned outputs of size 1/c_out(σmin); " +
                               "drop --hidden-pixels reference (the demo's default is infinite-noise: same optimum, O(1) targets there), or train much longer."
                             : "Train both longer (e.g. --steps 20000, faster with --device cuda) for a fair comparison."));
            cli.Console.MarkupLine($"Done in {clock.Elapsed.TotalSeconds:0} s. Open:");
            foreach (var (file, what) in new[]
            {
                ("comparison.png", "training images | clean samples | ambient samples"),
                ("similarity_comparison.png", "both max-similarity histograms"),
                ("clean/memorization/nearest_neighbours.png", "the clean model's most similar samples beside their nearest training images"),
                ("ambient/memorization/nearest_neighbours.png", "the same for the ambient model"),
                ("ambient/training_data.png", "what the ambient model was trained on (erased pixels grey)"),
                ("comparison.json", "the numbers"),
            })
                cli.Console.MarkupLine($"  [bold]{Markup.Escape(Path.Combine(dir, file))}[/]  [grey]{Markup.Escape(what)}[/]");
            return 0;
        });
        return cmd;
    }

    /// <summary>The one line saying which hidden-pixel parametrization the ambient model uses, and how to get the other.</summary>
    internal static string HiddenPixelsLine(HiddenPixelPreconditioning hidden) => hidden == HiddenPixelPreconditioning.AsInfiniteNoise
        ? "ambient model: infinite-noise hidden-pixel parametrization, a documented deviation from the authors' preconditioning (README); " +
          "--hidden-pixels reference for their exact one."
        : "ambient model: the authors' exact preconditioning (--hidden-pixels reference); its hidden pixels stay near grey after a short run (README).";

    private static double Quality(AmbientNative.Tensors.Tensor samples, AmbientNative.Tensors.Tensor heldOut, IFeatureExtractor fx, AmbientNative.Tensors.Device device) =>
        NearestNeighbours.Search(fx, samples, heldOut, new NeighbourSearchOptions { K = 1, Device = device }).MaxSimilarities().Average();

    private static void WriteJson(string path, (TrainOutcome Run, MemorizationReport Report, double Quality) clean, (TrainOutcome Run, MemorizationReport Report, double Quality) ambient)
    {
        Dictionary<string, object> Entry((TrainOutcome Run, MemorizationReport Report, double Quality) e) => new()
        {
            ["method"] = e.Run.Config.Method.ToString().ToLowerInvariant(),
            ["corruption"] = e.Run.Config.CorruptionText,
            ["run_folder"] = e.Run.RunDirectory,
            ["steps"] = e.Run.Step,
            ["train_seconds"] = Math.Round(e.Run.Seconds, 1),
            ["samples"] = e.Report.Samples,
            ["training_images"] = e.Report.TrainingImages,
            ["fraction_memorized_0.95"] = e.Report.MaxSimilarity.FractionAbove(0.95),
            ["fraction_above_0.90"] = e.Report.MaxSimilarity.FractionAbove(0.90),
            ["fraction_above_0.99"] = e.Report.MaxSimilarity.FractionAbove(0.99),
            ["mean_max_similarity"] = e.Report.MaxSimilarity.Mean,
            ["quality_proxy_held_out"] = e.Quality,
        };
        var doc = new Dictionary<string, object>
        {
            ["format"] = "ambient-demo/1",
            ["feature_space"] = clean.Report.FeatureSpace,
            ["clean"] = Entry(clean),
            // Which parametrization the ambient numbers belong to (the demo's default differs from train's).
            ["ambient"] = new Dictionary<string, object>(Entry(ambient)) { ["hidden_pixels"] = CliOptions.HiddenPixelsName(ambient.Run.Config.HiddenPixels) },
        };
        File.WriteAllText(path, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
    }
}
