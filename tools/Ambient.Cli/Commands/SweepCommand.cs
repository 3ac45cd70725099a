using System.CommandLine;
using System.Globalization;
using Ambient.Cli.Common;
using AmbientNative.Data;
using AmbientNative.Evaluation;
using AmbientNative.Imaging;
using AmbientNative.Tensors;
using Spectre.Console;

namespace Ambient.Cli.Commands;

/// <summary><c>ambient sweep</c>: ambient models at several corruption levels on the same data; memorization and quality against p.</summary>
internal static class SweepCommand
{
    public static Command Create(CliContext cli)
    {
        var knobs = new TrainOptionSet();
        var levels = new Option<double[]>("--levels")
        {
            Description = "Erasure levels p to train at, comma-separated.",
            DefaultValueFactory = _ => [0, 0.4, 0.8],
            HelpName = "P,P,...",
            CustomParser = r =>
            {
                var parts = string.Join(',', r.Tokens.Select(t => t.Value)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var values = new List<double>();
                foreach (var s in parts)
                    if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= 0 && v < 1) values.Add(v);
                    else { r.AddError($"--levels: '{s}' is not a level in [0, 1) (e.g. --levels 0,0.4,0.8)."); return []; }
                if (values.Count == 0) r.AddError("--levels: give at least one level, e.g. --levels 0,0.4,0.8.");
                return values.ToArray();
            },
        };
        var heldOut = CliOptions.PositiveInt("--held-out", "Images of the same distribution not trained on: the baseline and the quality proxy.", 100);
        var threshold = new Option<double>("--threshold") { Description = "Max similarity at or above which a sample counts as memorized.", DefaultValueFactory = _ => 0.95, HelpName = "X" }
            .Validated(v => v > -1 && v <= 1 ? null : $"--threshold {v.ToString(CultureInfo.InvariantCulture)} must be in (−1, 1].");
        var features = new Option<string>("--features") { Description = "pixel or an ONNX image model (see memorization).", DefaultValueFactory = _ => "pixel", HelpName = "pixel|MODEL.onnx" };
        var output = CliOptions.Out();
        var cmd = Help.Command("sweep", """
            Train ambient models at several erasure levels and plot memorization and quality against p.

            Train ambient models at several erasure levels p on the same training set and plot how many samples are
            memorized (max similarity ≥ threshold) against p, beside the same rate against held-out images (the baseline)
            and a quality proxy (mean max similarity to held-out images). One run folder per level; sweep.csv,
            sweep.json and sweep.png at the top.

            Examples:
              ambient sweep --data builtin:shapes:64 --preset tiny --levels 0,0.4,0.8 --steps 300 --batch 16 --lr 4e-3 --warmup 0 --ema-halflife 1k --dropout 0
              ambient sweep --data /usr/share/datasets/fashion-mnist --limit 300 --resolution 32 --levels 0,0.2,0.4,0.6,0.8 --images 2M --device cuda
            """).With(levels, heldOut, threshold, features);
        knobs.AddTo(cmd, forSweep: true);
        cmd.Add(output);
        cmd.SetAction(p =>
        {
            var s = knobs.Read(p) with { Method = Method.Ambient };
            TrainOptionSet.RequireLength(s, "sweep");
            if (s.SampleCount < 1) throw new UsageException("sweep: --sample-count must be at least 1 (the samples are what is measured).");
            var dev = Devices.Resolve(cli, s.Device);
            Devices.UseTf32(cli, dev, p.GetValue(knobs.Tf32));
            string dir = CliOptions.OutDir(p, output, "sweep");
            var (training, held) = Split(cli, s, p.GetValue(heldOut));
            using var trainTensor = training.ToTensor();
            using var heldTensor = held.ToTensor();
            var fx = Memorization.Features(p.GetValue(features)!);
            try
            {
                var levelList = p.GetValue(levels)!;
                var result = MemorizationSweep.Run(levelList, (level, ct) =>
                {
                    cli.Console.Write(new Rule($"p = {level:0.###}").LeftJustified());
                    var run = TrainingRun.Start(cli, s with { P = level }, Path.Combine(dir, LevelFolder(level)), dev, training);
                    if (run.Status != AmbientNative.Training.TrainStatus.Completed) throw new OperationCanceledException();
                    return NpyFile.Read(run.SamplesNpy!);
                }, trainTensor, heldTensor, new SweepOptions { Threshold = p.GetValue(threshold), Features = fx, Search = new NeighbourSearchOptions { Device = dev } },
                cancellationToken: cli.Cancellation);
                for (int l = 0; l < levelList.Length; l++)
                {
                    string levelDir = Path.Combine(dir, LevelFolder(levelList[l]));
                    using var samples = NpyFile.Read(Path.Combine(levelDir, "samples.npy"));
                    EvaluationFigures.WriteMemorization(Path.Combine(levelDir, "memorization"), result.Reports[l], samples, trainTensor, scale: Grids.Scale(samples.Shape[2]));
                }
                EvaluationFigures.WriteSweep(dir, result, "erasure level p");
                var t = new Table().Border(TableBorder.Rounded).AddColumns("p", "samples", $"memorized (≥ {result.Threshold:0.00})", "same vs held-out", "mean max sim (train)", "quality proxy");
                foreach (var pt in result.Points)
                    t.AddRow($"{pt.Level:0.###}", $"{pt.Samples}", $"{pt.FractionMemorized:P1}", $"{pt.FractionAboveHeldOut:P1}", $"{pt.MeanMaxSimilarityTrain:0.000}", $"{pt.QualityProxy:0.000}");
                t.Caption($"{Markup.Escape(result.FeatureSpace)}; {result.TrainingImages} training, {result.HeldOutImages} held-out images");
                cli.Console.Write(t);
            }
            finally { (fx as IDisposable)?.Dispose(); }
            cli.Console.MarkupLine($"wrote [bold]{Markup.Escape(dir)}[/]: sweep.csv, sweep.json, sweep.png, and a run folder per level");
            return 0;
        });
        return cmd;
    }

    private static string LevelFolder(double level) => $"p{level.ToString("0.###", CultureInfo.InvariantCulture)}";

    /// <summary>
    /// The training set (exactly what <see cref="DataSpec.Load"/> gives for the run config, so checkpoints reload it) and
    /// a disjoint held-out set of the same distribution: for the built-in shapes, images of another seed; for files,
    /// images outside the --limit subset.
    /// </summary>
    private static (ImageDataset Training, ImageDataset HeldOut) Split(CliContext cli, TrainSettings s, int heldOut)
    {
        var spec = new DataSpec(s.Data, s.Limit, s.Channels, s.EffectiveResolution, s.Seed, s.SkipBad);
        if (spec.IsBuiltin)
        {
            var training = TrainingRun.LoadData(cli, spec);
            return (training, ProceduralShapes.Generate(heldOut, spec.Resolution, training.Channels, seed: 1));
        }
        var all = TrainingRun.LoadData(cli, spec with { Limit = null });
        int n = s.Limit ?? all.Count;
        if (n + heldOut > all.Count)
            throw new UsageException($"sweep: the data has {all.Count} images; {n} for training plus --held-out {heldOut} do not fit. Train on a subset with --limit (e.g. --limit {Math.Max(1, all.Count - heldOut)}).");
        // ImageDataset.Limit takes the first n of Rng(seed).Permutation, in dataset order; the next ones are held out.
        var perm = new Rng(s.Seed).Permutation(all.Count);
        var trainIdx = perm[..n];
        var heldIdx = perm[n..(n + heldOut)];
        Array.Sort(trainIdx);
        Array.Sort(heldIdx);
        var train = all.Subset(trainIdx);
        if (!train.Images.SequenceEqual(all.Limit(n, s.Seed).Images))
            throw new InvalidOperationException("sweep: the training subset differs from ImageDataset.Limit's; the held-out split would overlap it.");
        return (train, all.Subset(heldIdx));
    }
}
